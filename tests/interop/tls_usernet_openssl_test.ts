/**
 * Interop: usernet's TLS 1.3 client over usernet's own TCP, on a TAP device, against
 * `openssl s_server` (OpenSSL 3.0) running inside the test's namespace and listening on the
 * namespace's tap0 address. Certificates are made by the openssl CLI. The full cipher suite ×
 * group × server key matrix and the 50 MiB downloads also run on loopback (the client over
 * Deno.connect), so both places see every combination.
 */

import { deepEqual, equal, ok } from "node:assert/strict";
import { freePort, interopTest, Peer, run, tempDir, waitFor } from "./_harness.ts";
import { hex, readToEnd, TAP_NEEDS, usernetOnTap, type UsernetTap } from "./_usernet_peers.ts";
import { connectTls, type ConnectTlsOptions } from "../../tls/connect_tls.ts";
import { connect as startTls, type TlsConnection } from "../../tls/tls_connection.ts";
import { TicketCache } from "../../tls/ticket_cache.ts";
import type { CipherSuiteName } from "../../tls/cipher_suite.ts";
import type { NamedGroupName } from "../../tls/key_exchange.ts";

const needs = { ...TAP_NEEDS, programs: [...TAP_NEEDS.programs, "openssl"] };
const BIG_BYTES = 50 * 1024 * 1024;

type KeyType = "rsa" | "p256" | "p384" | "ed25519";
const KEY_TYPES: Array<[KeyType, string[], string]> = [
  ["rsa", ["-newkey", "rsa:2048"], "rsa_pss_rsae_sha256"],
  ["p256", ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"], "ecdsa_secp256r1_sha256"],
  ["p384", ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-384"], "ecdsa_secp384r1_sha384"],
  ["ed25519", ["-newkey", "ed25519"], "ed25519"],
];
const SUITES: CipherSuiteName[] = [
  "TLS_AES_128_GCM_SHA256",
  "TLS_AES_256_GCM_SHA384",
  "TLS_CHACHA20_POLY1305_SHA256",
];
const GROUPS: NamedGroupName[] = ["x25519", "secp256r1", "secp384r1"];

interface Fixtures {
  dir: string;
  /** Root certificate PEM by key type. */
  roots: Record<KeyType, string>;
  bigSha256: string;
}

let fixtures: Promise<Fixtures> | undefined;

/** Root and leaf (SAN DNS:server.test, IP of the namespace's Linux side) per key type. */
function getFixtures(): Promise<Fixtures> {
  fixtures ??= (async () => {
    const { path: dir } = await tempDir("tls-usernet-openssl");
    await Deno.chmod(dir, 0o755);
    const f = (name: string) => `${dir}/${name}`;
    await Deno.writeTextFile(
      f("leaf.ext"),
      "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n" +
        "extendedKeyUsage=serverAuth\nsubjectAltName=DNS:server.test,IP:10.91.0.1\n",
    );
    const roots = {} as Record<KeyType, string>;
    await Promise.all(KEY_TYPES.map(async ([kind, newkey]) => {
      await run("openssl", [
        "req",
        "-x509",
        "-new",
        ...newkey,
        "-nodes",
        "-keyout",
        f(`${kind}-root.key`),
        "-out",
        f(`${kind}-root.pem`),
        "-days",
        "30",
        "-subj",
        `/CN=usernet tap ${kind} root`,
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
      ]);
      await run("openssl", [
        "req",
        "-new",
        ...newkey,
        "-nodes",
        "-keyout",
        f(`${kind}.key`),
        "-out",
        f(`${kind}.csr`),
        "-subj",
        "/CN=server.test",
      ]);
      await run("openssl", [
        "x509",
        "-req",
        "-in",
        f(`${kind}.csr`),
        "-CA",
        f(`${kind}-root.pem`),
        "-CAkey",
        f(`${kind}-root.key`),
        "-CAcreateserial",
        "-out",
        f(`${kind}.pem`),
        "-days",
        "30",
        "-extfile",
        f("leaf.ext"),
      ]);
      roots[kind] = await Deno.readTextFile(f(`${kind}-root.pem`));
    }));
    const big = new Uint8Array(BIG_BYTES);
    for (let i = 0; i < big.length; i += 65536) crypto.getRandomValues(big.subarray(i, i + 65536));
    await Deno.writeFile(f("big.bin"), big);
    const bigSha256 = hex(new Uint8Array(await crypto.subtle.digest("SHA-256", big)));
    return { dir, roots, bigSha256 };
  })();
  return fixtures;
}

/** Starts `openssl s_server` inside the namespace on `linux:port`. */
async function sServer(
  net: UsernetTap,
  kind: KeyType,
  port: number,
  args: string[],
): Promise<Peer> {
  const { dir } = await getFixtures();
  const all = [
    "s_server",
    "-accept",
    `${net.linux}:${port}`,
    "-cert",
    `${kind}.pem`,
    "-key",
    `${kind}.key`,
    "-tls1_3",
    ...args,
  ];
  const quoted = all.map((a) => `'${a}'`).join(" ");
  const peer = net.ns.spawn("openssl s_server", "sh", [
    "-c",
    `cd '${dir}' && exec openssl ${quoted}`,
  ]);
  await peer.waitForOutput("ACCEPT", 15_000);
  return peer;
}

async function withTap(tag: string, fn: (net: UsernetTap) => Promise<void>): Promise<void> {
  await getFixtures();
  const net = await usernetOnTap(tag);
  try {
    await fn(net);
  } finally {
    await net.cleanup();
  }
}

function connect(
  net: UsernetTap,
  port: number,
  kind: KeyType,
  roots: Record<KeyType, string>,
  options: Partial<ConnectTlsOptions> = {},
): Promise<TlsConnection> {
  return connectTls(net.stack, {
    hostname: net.linux,
    port,
    serverName: "server.test",
    caCerts: roots[kind],
    ...options,
  });
}

/** HTTP/1.0 GET; the whole response until close_notify. */
async function httpGet(tls: TlsConnection, path: string): Promise<Uint8Array> {
  await tls.write(new TextEncoder().encode(`GET ${path} HTTP/1.0\r\n\r\n`));
  return await readToEnd(tls);
}

function onFailure(peers: Peer[], e: unknown): never {
  for (const p of peers) console.error(`${p.name} log:\n${p.log.slice(-3000)}`);
  throw e;
}

/** Where s_server runs and how the client reaches it: the namespace over TAP, or loopback. */
interface Place {
  name: string;
  /** Starts s_server with `kind`'s certificate; resolves with the port it listens on. */
  serve(kind: KeyType, args: string[]): Promise<{ peer: Peer; port: number }>;
  connect(
    port: number,
    kind: KeyType,
    options?: Partial<ConnectTlsOptions>,
  ): Promise<TlsConnection>;
  /** Checks left for the end (usernet's stack counters over TAP). */
  finish(): void;
}

/** Runs `fn` with s_server inside a fresh namespace reached over TAP, or on 127.0.0.1. */
async function withPlace(
  where: "TAP" | "loopback",
  tag: string,
  fn: (place: Place) => Promise<void>,
): Promise<void> {
  const { roots, dir } = await getFixtures();
  if (where === "TAP") {
    let nextPort = 4431;
    await withTap(tag, (net) =>
      fn({
        name: "over usernet TAP",
        async serve(kind, args) {
          const port = nextPort++;
          return { peer: await sServer(net, kind, port, args), port };
        },
        connect: (port, kind, options) => connect(net, port, kind, roots, options),
        finish: () => equal(net.stack.stats().drops["stack/internal-error"], undefined),
      }));
    return;
  }
  await fn({
    name: "on loopback",
    async serve(kind, args) {
      const port = freePort();
      const all = ["s_server", "-accept", `127.0.0.1:${port}`, "-cert", `${kind}.pem`, "-key"];
      const quoted = [...all, `${kind}.key`, "-tls1_3", ...args].map((a) => `'${a}'`).join(" ");
      const peer = new Peer("openssl s_server", "sh", [
        "-c",
        `cd '${dir}' && exec openssl ${quoted}`,
      ]);
      await peer.waitForOutput("ACCEPT", 15_000);
      return { peer, port };
    },
    async connect(port, kind, options = {}) {
      const tcp = await Deno.connect({ hostname: "127.0.0.1", port });
      return await startTls(tcp, { serverName: "server.test", caCerts: roots[kind], ...options });
    },
    finish() {},
  });
}

for (const where of ["TAP", "loopback"] as const) {
  interopTest(
    `openssl_s_server ${
      where === "TAP" ? "over usernet TAP" : "on loopback"
    }: every cipher suite × group × server key (RSA, P-256, P-384, Ed25519)`,
    needs,
    async () => {
      await withPlace(where, "tls-matrix", async (place) => {
        const peers: Peer[] = [];
        try {
          const ports: number[] = [];
          for (const [kind] of KEY_TYPES) {
            const { peer, port } = await place.serve(kind, [
              "-www",
              "-groups",
              "X25519:P-256:P-384",
            ]);
            peers.push(peer);
            ports.push(port);
          }
          let combos = 0;
          for (const [i, [kind, , scheme]] of KEY_TYPES.entries()) {
            for (const suite of SUITES) {
              for (const group of GROUPS) {
                const what = `${place.name} ${kind} ${suite} ${group}`;
                const tls = await place.connect(ports[i], kind, {
                  cipherSuites: [suite],
                  groups: [group],
                  keyShareGroups: [group],
                });
                equal(tls.handshake.cipherSuite, suite, what);
                equal(tls.handshake.group, group, what);
                equal(tls.handshake.signatureScheme, scheme, what);
                equal(tls.handshake.helloRetryRequest, false, what);
                const page = new TextDecoder().decode(await httpGet(tls, "/"));
                ok(page.includes(`TLSv1.3, Cipher is ${suite}`), `${what}: ${page.slice(0, 500)}`);
                tls.close();
                combos++;
              }
            }
          }
          equal(combos, 36);
          place.finish();
        } catch (e) {
          onFailure(peers, e);
        } finally {
          for (const p of peers) await p.stop();
        }
      });
    },
    { timeoutMs: 90_000 },
  );
}

interopTest(
  "openssl_s_server over usernet TAP: HelloRetryRequest to P-384, ALPN, ticket resumption with HRR",
  needs,
  async () => {
    const { roots } = await getFixtures();
    await withTap("tls-hrr", async (net) => {
      const peer = await sServer(net, "p256", 4433, [
        "-www",
        "-groups",
        "P-384",
        "-alpn",
        "http/1.1",
        "-num_tickets",
        "2",
      ]);
      try {
        const cache = new TicketCache();
        const first = await connect(net, 4433, "p256", roots, {
          ticketCache: cache,
          alpnProtocols: ["h2", "http/1.1"],
        });
        equal(first.handshake.helloRetryRequest, true);
        equal(first.handshake.group, "secp384r1");
        equal(first.handshake.alpnProtocol, "http/1.1");
        equal(first.handshake.resumed, false);
        ok(new TextDecoder().decode(await httpGet(first, "/")).includes("TLSv1.3"));
        first.close();
        equal(cache.size, 2);
        const second = await connect(net, 4433, "p256", roots, {
          ticketCache: cache,
          alpnProtocols: ["http/1.1"],
        });
        equal(second.handshake.resumed, true);
        equal(second.handshake.helloRetryRequest, true);
        equal(second.handshake.alpnProtocol, "http/1.1");
        const page = new TextDecoder().decode(await httpGet(second, "/"));
        ok(page.includes("Reused, TLSv1.3"), page.slice(0, 800));
        second.close();
      } catch (e) {
        onFailure([peer], e);
      } finally {
        await peer.stop();
      }
    });
  },
);

for (const where of ["TAP", "loopback"] as const) {
  interopTest(
    `openssl_s_server ${
      where === "TAP" ? "over usernet TAP" : "on loopback"
    }: 50 MiB download per cipher suite keeps its SHA-256`,
    needs,
    async () => {
      const { bigSha256 } = await getFixtures();
      await withPlace(where, "tls-big", async (place) => {
        const { peer, port } = await place.serve("p256", ["-WWW"]);
        try {
          for (const suite of SUITES) {
            const tls = await place.connect(port, "p256", { cipherSuites: [suite] });
            const start = performance.now();
            const all = await httpGet(tls, "/big.bin");
            const seconds = (performance.now() - start) / 1000;
            const text = new TextDecoder().decode(all.subarray(0, 200));
            const headerEnd = text.indexOf("\r\n\r\n");
            ok(headerEnd > 0, text);
            const body = all.subarray(headerEnd + 4);
            equal(body.length, BIG_BYTES, suite);
            equal(
              hex(
                new Uint8Array(
                  await crypto.subtle.digest("SHA-256", body as Uint8Array<ArrayBuffer>),
                ),
              ),
              bigSha256,
            );
            console.log(
              `  50 MiB from s_server ${place.name}, ${suite}: ${
                (all.length / 1e6 / seconds).toFixed(0)
              } MB/s`,
            );
            tls.close();
          }
          place.finish();
        } catch (e) {
          onFailure([peer], e);
        } finally {
          await peer.stop();
        }
      });
    },
    { timeoutMs: 90_000 },
  );
}

interopTest(
  "openssl_s_server over usernet TAP: server KeyUpdate mid-stream, ours, then close_notify both ways",
  needs,
  async () => {
    const { dir, roots } = await getFixtures();
    await withTap("tls-keyupdate", async (net) => {
      const child = new Deno.Command("ip", {
        args: [
          ...net.ns.prefix.slice(1),
          "openssl",
          "s_server",
          "-accept",
          `${net.linux}:4433`,
          "-cert",
          `${dir}/ed25519.pem`,
          "-key",
          `${dir}/ed25519.key`,
          "-tls1_3",
        ],
        stdin: "piped",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      let log = "";
      const pump = async (s: ReadableStream<Uint8Array>) => {
        for await (const c of s.pipeThrough(new TextDecoderStream())) log += c;
      };
      const pumps = Promise.all([pump(child.stdout), pump(child.stderr)]);
      const stdin = child.stdin.getWriter();
      const until = (what: string) =>
        waitFor(`s_server to print "${what}"`, () => log.includes(what), 15_000, 10);
      const say = (line: string) => stdin.write(new TextEncoder().encode(line + "\n"));
      try {
        await until("ACCEPT");
        const tls = await connect(net, 4433, "ed25519", roots);
        equal(tls.handshake.signatureScheme, "ed25519");
        const readLine = async () => {
          let s = "";
          const buf = new Uint8Array(1024);
          while (!s.endsWith("\n")) {
            const n = await tls.read(buf);
            if (n === null) throw new Error("EOF");
            s += new TextDecoder().decode(buf.subarray(0, n));
          }
          return s;
        };
        await tls.write(new TextEncoder().encode("hello over usernet tcp\n"));
        await until("hello over usernet tcp");
        // s_server drops what follows "K" in the same stdin read: wait for the update first.
        const pending = readLine();
        await say("K");
        await waitFor("server KeyUpdate", () => tls.stats.keyUpdatesReceived === 1, 15_000);
        equal(tls.stats.keyUpdatesSent, 1); // our answer
        await say("after server update");
        equal(await pending, "after server update\n");
        await tls.keyUpdate(true);
        await tls.write(new TextEncoder().encode("after client update\n"));
        await until("after client update");
        const pending2 = readLine();
        await say("server data after both updates");
        equal(await pending2, "server data after both updates\n");
        equal(tls.stats.keyUpdatesReceived, 2);
        await tls.closeWrite();
        await until("DONE");
        equal(await tls.read(new Uint8Array(16)), null);
        tls.close();
      } catch (e) {
        console.error(`openssl s_server log:\n${log}`);
        throw e;
      } finally {
        try {
          child.kill("SIGTERM");
        } catch { /* gone */ }
        await stdin.close().catch(() => {});
        await child.status;
        await pumps.catch(() => {});
      }
    });
  },
);

interopTest(
  "openssl_s_server over usernet TAP: many handshakes in a row leave no TCP connection behind",
  needs,
  async () => {
    const { roots } = await getFixtures();
    await withTap("tls-many", async (net) => {
      const peer = await sServer(net, "p256", 4433, ["-www", "-num_tickets", "1"]);
      try {
        const cache = new TicketCache();
        for (let i = 0; i < 20; i++) {
          const tls = await connect(net, 4433, "p256", roots, { ticketCache: cache });
          equal(tls.handshake.resumed, i > 0, `round ${i}`);
          deepEqual((await httpGet(tls, "/")).subarray(0, 8), new TextEncoder().encode("HTTP/1.0"));
          tls.close();
        }
        await waitFor(
          "TCP connections to finish closing",
          () => net.stack.tcpConnections().every((c) => c.state === "TIME-WAIT"),
          10_000,
        );
      } catch (e) {
        onFailure([peer], e);
      } finally {
        await peer.stop();
      }
    });
  },
);
