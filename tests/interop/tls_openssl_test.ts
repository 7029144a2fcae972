/**
 * Interop: usernet's TLS 1.3 client against `openssl s_server` (OpenSSL 3.0) on 127.0.0.1,
 * with certificate chains made by the openssl CLI (RSA-2048, ECDSA P-256, Ed25519).
 */

import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import { sha256 } from "@noble/hashes/sha2.js";
import { freePort, interopTest, Peer, run, tempDir, waitFor } from "./_harness.ts";
import { startTls, type StartTlsOptions, type TlsConnection } from "../../tls/tls_connection.ts";
import { TicketCache } from "../../tls/ticket_cache.ts";
import type { CipherSuiteName } from "../../tls/cipher_suite.ts";
import type { NamedGroupName } from "../../tls/key_exchange.ts";
import { UnknownIssuer } from "../../tls/x509/errors.ts";
import { TlsAlertReceived } from "../../tls/errors.ts";

const needs = { programs: ["openssl"] };
const BIG_FILE_BYTES = 12 * 1024 * 1024;

interface Chain {
  /** Leaf certificate file. */
  cert: string;
  /** Leaf key file. */
  key: string;
  /** Intermediates (and extras) the server sends after the leaf, or undefined. */
  chain?: string;
  /** PEM of the trusted root. */
  rootPem: string;
}

interface Fixtures {
  dir: string;
  ecdsa: Chain;
  rsa: Chain;
  ed25519: Chain;
  pss: Chain;
  bigFileSha256: Uint8Array;
}

let fixtures: Promise<Fixtures> | undefined;

/** Makes the certificate chains with the openssl CLI (once per test run). */
function getFixtures(): Promise<Fixtures> {
  fixtures ??= (async () => {
    const { path: dir } = await tempDir("tls-openssl");
    const f = (name: string) => `${dir}/${name}`;
    await Deno.writeTextFile(
      f("ca.ext"),
      "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n",
    );
    await Deno.writeTextFile(
      f("leaf.ext"),
      "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n",
    );
    const newkey = (kind: string) =>
      kind === "rsa"
        ? ["-newkey", "rsa:2048"]
        : kind === "ec"
        ? ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]
        : ["-newkey", "ed25519"];
    const root = async (kind: string) => {
      await run("openssl", [
        "req",
        "-x509",
        "-new",
        ...newkey(kind),
        "-nodes",
        "-keyout",
        f(`${kind}-root.key`),
        "-out",
        f(`${kind}-root.pem`),
        "-days",
        "30",
        "-subj",
        `/CN=usernet interop ${kind} root`,
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
      ]);
    };
    const issue = async (kind: string, name: string, issuer: string, ext: string, cn: string) => {
      await run("openssl", [
        "req",
        "-new",
        ...newkey(kind),
        "-nodes",
        "-keyout",
        f(`${name}.key`),
        "-out",
        f(`${name}.csr`),
        "-subj",
        `/CN=${cn}`,
      ]);
      await run("openssl", [
        "x509",
        "-req",
        "-in",
        f(`${name}.csr`),
        "-CA",
        f(`${issuer}.pem`),
        "-CAkey",
        f(`${issuer}.key`),
        "-CAcreateserial",
        "-out",
        f(`${name}.pem`),
        "-days",
        "30",
        "-extfile",
        f(ext),
      ]);
    };
    for (const kind of ["ec", "rsa"]) {
      await root(kind);
      await issue(
        kind,
        `${kind}-int`,
        `${kind}-root`,
        "ca.ext",
        `usernet interop ${kind} intermediate`,
      );
      await issue(kind, `${kind}-leaf`, `${kind}-int`, "leaf.ext", "localhost");
    }
    // RSA-PSS keys (id-RSASSA-PSS) signing with RSASSA-PSS: root and leaf.
    for (const name of ["pss-root", "pss-leaf"]) {
      await run("openssl", [
        "genpkey",
        "-algorithm",
        "RSA-PSS",
        "-pkeyopt",
        "rsa_keygen_bits:2048",
        "-out",
        f(`${name}.key`),
      ]);
    }
    await run("openssl", [
      "req",
      "-x509",
      "-new",
      "-key",
      f("pss-root.key"),
      "-out",
      f("pss-root.pem"),
      "-days",
      "30",
      "-subj",
      "/CN=usernet interop pss root",
      "-addext",
      "basicConstraints=critical,CA:TRUE",
      "-addext",
      "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    await run("openssl", [
      "req",
      "-new",
      "-key",
      f("pss-leaf.key"),
      "-out",
      f("pss-leaf.csr"),
      "-subj",
      "/CN=localhost",
    ]);
    await run("openssl", [
      "x509",
      "-req",
      "-in",
      f("pss-leaf.csr"),
      "-CA",
      f("pss-root.pem"),
      "-CAkey",
      f("pss-root.key"),
      "-CAcreateserial",
      "-out",
      f("pss-leaf.pem"),
      "-days",
      "30",
      "-extfile",
      f("leaf.ext"),
    ]);
    await root("ed25519");
    await issue("ed25519", "ed25519-leaf", "ed25519-root", "leaf.ext", "localhost");
    // The RSA chain file holds an unrelated certificate first, then the intermediate:
    // order and extras must not matter.
    await Deno.writeTextFile(
      f("rsa-chain.pem"),
      (await Deno.readTextFile(f("ec-root.pem"))) + (await Deno.readTextFile(f("rsa-int.pem"))),
    );
    const big = new Uint8Array(BIG_FILE_BYTES);
    for (let i = 0; i < big.length; i += 65536) crypto.getRandomValues(big.subarray(i, i + 65536));
    await Deno.writeFile(f("big.bin"), big);
    return {
      dir,
      ecdsa: {
        cert: f("ec-leaf.pem"),
        key: f("ec-leaf.key"),
        chain: f("ec-int.pem"),
        rootPem: await Deno.readTextFile(f("ec-root.pem")),
      },
      rsa: {
        cert: f("rsa-leaf.pem"),
        key: f("rsa-leaf.key"),
        chain: f("rsa-chain.pem"),
        rootPem: await Deno.readTextFile(f("rsa-root.pem")),
      },
      pss: {
        cert: f("pss-leaf.pem"),
        key: f("pss-leaf.key"),
        rootPem: await Deno.readTextFile(f("pss-root.pem")),
      },
      ed25519: {
        cert: f("ed25519-leaf.pem"),
        key: f("ed25519-leaf.key"),
        rootPem: await Deno.readTextFile(f("ed25519-root.pem")),
      },
      bigFileSha256: sha256(big),
    };
  })();
  return fixtures;
}

/** Starts `openssl s_server` on a free port in the fixtures directory. */
async function sServer(chain: Chain, args: string[]): Promise<{ peer: Peer; port: number }> {
  const { dir } = await getFixtures();
  const port = freePort();
  const all = [
    "s_server",
    "-accept",
    `127.0.0.1:${port}`,
    "-cert",
    chain.cert,
    "-key",
    chain.key,
    ...(chain.chain ? ["-cert_chain", chain.chain] : []),
    "-tls1_3",
    ...args,
  ];
  const quoted = all.map((a) => `'${a}'`).join(" ");
  const peer = new Peer("openssl s_server", "sh", ["-c", `cd '${dir}' && exec openssl ${quoted}`]);
  await peer.waitForOutput("ACCEPT", 15_000);
  return { peer, port };
}

async function connect(
  port: number,
  options: Partial<StartTlsOptions> & { rootPem: string },
): Promise<TlsConnection> {
  const tcp = await Deno.connect({ hostname: "127.0.0.1", port });
  return await startTls(tcp, { serverName: "localhost", caCerts: options.rootPem, ...options });
}

/** Sends an HTTP/1.0 GET and reads the reply until close_notify. */
async function httpGet(tls: TlsConnection, path: string): Promise<Uint8Array> {
  await tls.write(new TextEncoder().encode(`GET ${path} HTTP/1.0\r\n\r\n`));
  const parts: Uint8Array[] = [];
  let total = 0;
  const buf = new Uint8Array(256 * 1024);
  while (true) {
    const n = await tls.read(buf);
    if (n === null) break;
    parts.push(buf.slice(0, n));
    total += n;
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function body(response: Uint8Array): Uint8Array {
  for (let i = 0; i + 3 < response.length; i++) {
    if (
      response[i] === 13 && response[i + 1] === 10 && response[i + 2] === 13 &&
      response[i + 3] === 10
    ) {
      return response.subarray(i + 4);
    }
  }
  throw new Error("no HTTP header end");
}

async function withServer(
  chain: keyof Omit<Fixtures, "dir" | "bigFileSha256">,
  args: string[],
  fn: (port: number, root: string, peer: Peer) => Promise<void>,
): Promise<void> {
  const fx = await getFixtures();
  const { peer, port } = await sServer(fx[chain], args);
  try {
    await fn(port, fx[chain].rootPem, peer);
  } catch (e) {
    console.error(`openssl s_server log:\n${peer.log}`);
    throw e;
  } finally {
    await peer.stop();
  }
}

const SUITES: CipherSuiteName[] = [
  "TLS_AES_128_GCM_SHA256",
  "TLS_AES_256_GCM_SHA384",
  "TLS_CHACHA20_POLY1305_SHA256",
];
const GROUPS: Array<[NamedGroupName, string]> = [["x25519", "X25519"], ["secp256r1", "P-256"], [
  "secp384r1",
  "P-384",
]];

for (const suite of SUITES) {
  for (const [group] of GROUPS) {
    interopTest(`openssl_s_server: ${suite} with ${group} (ECDSA P-256 chain)`, needs, async () => {
      await withServer(
        "ecdsa",
        ["-www", "-groups", "X25519:P-256:P-384"],
        async (port, rootPem) => {
          const tls = await connect(port, {
            rootPem,
            cipherSuites: [suite],
            groups: [group],
            keyShareGroups: [group],
          });
          equal(tls.handshake.cipherSuite, suite);
          equal(tls.handshake.group, group);
          equal(tls.handshake.signatureScheme, "ecdsa_secp256r1_sha256");
          equal(tls.handshake.peerCertificate?.pathLength, 3);
          const page = new TextDecoder().decode(await httpGet(tls, "/"));
          ok(page.includes(`TLSv1.3, Cipher is ${suite}`), page.slice(0, 2000));
          tls.close();
        },
      );
    });
  }
}

interopTest(
  "openssl_s_server: RSA-2048 chain sent out of order with an extra certificate (rsa_pss_rsae_sha256)",
  needs,
  async () => {
    await withServer("rsa", ["-www"], async (port, rootPem) => {
      const tls = await connect(port, { rootPem });
      equal(tls.handshake.signatureScheme, "rsa_pss_rsae_sha256");
      equal(tls.handshake.peerCertificate?.publicKey, "RSA 2048");
      equal(tls.handshake.peerCertificate?.pathLength, 3);
      ok(new TextDecoder().decode(await httpGet(tls, "/")).includes("TLSv1.3"));
      tls.close();
    });
  },
);

interopTest(
  "openssl_s_server: RSA-PSS keys, RSASSA-PSS certificate signatures (rsa_pss_pss_sha256)",
  needs,
  async () => {
    await withServer("pss", ["-www"], async (port, rootPem) => {
      const tls = await connect(port, { rootPem });
      equal(tls.handshake.signatureScheme, "rsa_pss_pss_sha256");
      equal(tls.handshake.peerCertificate?.publicKey, "RSA-PSS 2048");
      equal(tls.handshake.peerCertificate?.pathLength, 2);
      tls.close();
    });
  },
);

interopTest("openssl_s_server: Ed25519 certificate", needs, async () => {
  await withServer("ed25519", ["-www"], async (port, rootPem) => {
    const tls = await connect(port, { rootPem });
    equal(tls.handshake.signatureScheme, "ed25519");
    equal(tls.handshake.peerCertificate?.publicKey, "Ed25519");
    tls.close();
  });
});

interopTest(
  "openssl_s_server: HelloRetryRequest when the server insists on P-384",
  needs,
  async () => {
    await withServer("ecdsa", ["-www", "-groups", "P-384"], async (port, rootPem) => {
      const tls = await connect(port, { rootPem });
      equal(tls.handshake.helloRetryRequest, true);
      equal(tls.handshake.group, "secp384r1");
      ok(new TextDecoder().decode(await httpGet(tls, "/")).includes("TLSv1.3"));
      tls.close();
    });
  },
);

interopTest(
  "openssl_s_server: X25519MLKEM768-only key share falls back to x25519 via HRR",
  needs,
  async () => {
    await withServer("ecdsa", ["-www"], async (port, rootPem) => {
      const tls = await connect(port, { rootPem, keyShareGroups: ["X25519MLKEM768"] });
      equal(tls.handshake.helloRetryRequest, true);
      equal(tls.handshake.group, "x25519");
      tls.close();
    });
  },
);

interopTest(
  "openssl_s_server: default ClientHello (X25519MLKEM768 + x25519 shares) gets x25519 without HRR",
  needs,
  async () => {
    await withServer("ecdsa", ["-www"], async (port, rootPem) => {
      const tls = await connect(port, { rootPem });
      equal(tls.handshake.helloRetryRequest, false);
      equal(tls.handshake.group, "x25519");
      tls.close();
    });
  },
);

interopTest("openssl_s_server: session ticket resumption (-num_tickets 2)", needs, async () => {
  await withServer("ecdsa", ["-www", "-num_tickets", "2"], async (port, rootPem) => {
    const cache = new TicketCache();
    const first = await connect(port, { rootPem, ticketCache: cache });
    equal(first.handshake.resumed, false);
    await httpGet(first, "/"); // tickets arrive with the response
    first.close();
    equal(cache.size, 2);
    const second = await connect(port, { rootPem, ticketCache: cache });
    equal(second.handshake.resumed, true);
    equal(second.handshake.signatureScheme, undefined);
    equal(second.handshake.peerCertificate?.subject, "CN=localhost");
    const page = new TextDecoder().decode(await httpGet(second, "/"));
    ok(page.includes("Reused, TLSv1.3"), page.slice(0, 1500));
    second.close();
  });
});

interopTest(
  "openssl_s_server: resumption combined with a HelloRetryRequest to P-384",
  needs,
  async () => {
    await withServer(
      "ecdsa",
      ["-www", "-num_tickets", "1", "-groups", "P-384"],
      async (port, rootPem) => {
        const cache = new TicketCache();
        const first = await connect(port, { rootPem, ticketCache: cache });
        await httpGet(first, "/");
        first.close();
        const second = await connect(port, { rootPem, ticketCache: cache });
        equal(second.handshake.helloRetryRequest, true);
        equal(second.handshake.resumed, true);
        equal(second.handshake.group, "secp384r1");
        ok(new TextDecoder().decode(await httpGet(second, "/")).includes("Reused, TLSv1.3"));
        second.close();
      },
    );
  },
);

interopTest(
  "openssl_s_server: stateless mode (-stateless -groups P-384) with a HelloRetryRequest",
  needs,
  async () => {
    await withServer("ecdsa", ["-www", "-stateless", "-groups", "P-384"], async (port, rootPem) => {
      const tls = await connect(port, { rootPem });
      equal(tls.handshake.helloRetryRequest, true);
      equal(tls.handshake.group, "secp384r1");
      ok(new TextDecoder().decode(await httpGet(tls, "/")).includes("TLSv1.3"));
      tls.close();
    });
  },
);

interopTest(
  "openssl_s_server: no common cipher suite is reported as the server's handshake_failure alert",
  needs,
  async () => {
    await withServer(
      "ecdsa",
      ["-www", "-ciphersuites", "TLS_AES_256_GCM_SHA384"],
      async (port, rootPem) => {
        const error = await connect(port, { rootPem, cipherSuites: ["TLS_AES_128_GCM_SHA256"] })
          .catch((e) => e);
        ok(error instanceof TlsAlertReceived, String(error));
        equal(error.alertName, "handshake_failure");
      },
    );
  },
);

interopTest("openssl_s_server: 12 MB download over -WWW keeps its SHA-256", needs, async () => {
  const fx = await getFixtures();
  await withServer("ecdsa", ["-WWW"], async (port, rootPem) => {
    const tls = await connect(port, { rootPem });
    const start = performance.now();
    const response = await httpGet(tls, "/big.bin");
    const seconds = (performance.now() - start) / 1000;
    const data = body(response);
    equal(data.length, BIG_FILE_BYTES);
    deepEqual(sha256(data), fx.bigFileSha256);
    console.log(`  12 MB from s_server: ${(BIG_FILE_BYTES / 1e6 / seconds).toFixed(0)} MB/s`);
    tls.close();
  });
});

interopTest(
  "openssl_s_server: certificate request without requirement (-verify 1) is declined",
  needs,
  async () => {
    await withServer("ecdsa", ["-www", "-verify", "1"], async (port, rootPem) => {
      const tls = await connect(port, { rootPem });
      ok(new TextDecoder().decode(await httpGet(tls, "/")).includes("TLSv1.3"));
      tls.close();
    });
  },
);

interopTest(
  "openssl_s_server: unknown CA is refused and the server sees alert unknown_ca",
  needs,
  async () => {
    const fx = await getFixtures();
    await withServer("ecdsa", ["-www"], async (port, _root, peer) => {
      await rejects(connect(port, { rootPem: fx.rsa.rootPem }), UnknownIssuer);
      await peer.waitForOutput(/unknown ca/i, 10_000);
    });
  },
);

interopTest("openssl_s_server: KeyUpdate both ways and close_notify both ways", needs, async () => {
  const fx = await getFixtures();
  const port = freePort();
  const child = new Deno.Command("openssl", {
    args: [
      "s_server",
      "-accept",
      `127.0.0.1:${port}`,
      "-cert",
      fx.ecdsa.cert,
      "-key",
      fx.ecdsa.key,
      "-cert_chain",
      fx.ecdsa.chain!,
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
  const until = async (what: string) => {
    const end = Date.now() + 15_000;
    while (!log.includes(what)) {
      if (Date.now() > end) throw new Error(`s_server did not print "${what}"; log:\n${log}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  const say = (line: string) => stdin.write(new TextEncoder().encode(line + "\n"));
  try {
    await until("ACCEPT");
    const tls = await connect(port, { rootPem: fx.ecdsa.rootPem });
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
    await tls.write(new TextEncoder().encode("hello from usernet\n"));
    await until("hello from usernet");
    // Server KeyUpdate requesting ours ("K"), then data under its new key. s_server drops
    // whatever follows "K" in the same stdin read, so wait for the update to arrive first.
    const pending = readLine();
    await say("K");
    await waitFor("server KeyUpdate", () => tls.stats.keyUpdatesReceived === 1, 15_000);
    equal(tls.stats.keyUpdatesSent, 1); // our answer (update_not_requested)
    await say("after server update");
    equal(await pending, "after server update\n");
    await tls.write(new TextEncoder().encode("after our answering update\n"));
    await until("after our answering update");
    // Our own KeyUpdate, requesting the server's.
    await tls.keyUpdate(true);
    equal(tls.stats.keyUpdatesSent, 2);
    await tls.write(new TextEncoder().encode("after client update\n"));
    await until("after client update");
    const pending2 = readLine();
    await say("server data after both updates");
    equal(await pending2, "server data after both updates\n");
    equal(tls.stats.keyUpdatesReceived, 2); // the server's answer to our request
    // close_notify from us: s_server prints DONE, answers with its own close_notify.
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
