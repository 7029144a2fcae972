/**
 * Interop: usernet's SSH client over usernet's own TCP, on a TAP device, against OpenSSH's
 * sshd (Debian 12, OpenSSH 9.2p1) running inside the test's namespace and listening on the
 * namespace's tap0 address: every kex × host key × cipher combination (as ssh_openssh_test.ts
 * does on loopback), each auth method, exec, shell, direct-tcpip and a 100 MB upload with
 * rekeying mid-way.
 */

import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import { interopTest, waitFor } from "./_harness.ts";
import { algorithmMatrix } from "./_ssh_algorithms.ts";
import {
  hex,
  SSHD_NEEDS,
  startSshdInNamespace,
  usernetOnTap,
  type UsernetTap,
  waitForListener,
} from "./_usernet_peers.ts";
import { SSH_TEST_PASSWORD, SSH_TEST_USER, type SshdServer } from "./ssh_sshd_server.ts";
import {
  AuthenticationFailed,
  ChannelOpenFailed,
  connectSsh,
  type ConnectSshOptions,
  KnownHosts,
  type SshClient,
  SshPrivateKey,
} from "../../ssh/mod.ts";

const needs = { ...SSHD_NEEDS, programs: [...SSHD_NEEDS.programs, "socat"] };
const fixtures = new URL("../fixtures/ssh/", import.meta.url);
const key = (name: string, passphrase?: string) =>
  SshPrivateKey.parse(Deno.readTextFileSync(new URL(name, fixtures)), { passphrase });
const text = (b: Uint8Array) => new TextDecoder().decode(b);

interface Setup {
  net: UsernetTap;
  server: SshdServer;
  login(options?: Partial<ConnectSshOptions>): Promise<SshClient>;
}

async function withSshd(
  tag: string,
  fn: (s: Setup) => Promise<void>,
  extraConfig: string[] = [],
): Promise<void> {
  const net = await usernetOnTap(tag, { subnet: 93 });
  let server: SshdServer | undefined;
  try {
    server = await startSshdInNamespace(net.ns, net.linux, {
      extraConfig,
      authorizedKeys: ["id_ed25519", "id_ecdsa256", "id_ecdsa384", "id_rsa", "id_ed25519_pw"].map(
        (f) => Deno.readTextFileSync(new URL(f + ".pub", fixtures)).trim(),
      ),
    });
    const s = server;
    await fn({
      net,
      server: s,
      login: (options = {}) =>
        connectSsh(net.stack, {
          hostname: net.linux,
          port: s.port,
          username: SSH_TEST_USER,
          knownHosts: KnownHosts.parse(s.knownHosts),
          auth: { privateKey: key("id_ed25519") },
          ...options,
        }),
    });
  } catch (e) {
    if (server) console.error("sshd log:\n" + server.peer.log.slice(-4000));
    throw e;
  } finally {
    await server?.stop();
    await net.cleanup();
  }
}

interopTest(
  "openssh over usernet TAP: every kex × host key × cipher combination (MACs in turn), strict KEX, 64 kB through cat",
  needs,
  async () => {
    await withSshd("ssh-matrix", async ({ login }) => {
      const combos = algorithmMatrix();
      const data = crypto.getRandomValues(new Uint8Array(65536));
      // Four logins at a time: sshd forks per connection, so this hides its latency.
      const worker = async () => {
        for (let combo = combos.shift(); combo; combo = combos.shift()) {
          const [kex, hostKey, cipher, mac] = combo;
          const what = `${kex} ${hostKey} ${cipher} ${mac}`;
          const client = await login({
            algorithms: { kex: [kex], hostKey: [hostKey], cipher: [cipher], mac: [mac] },
          });
          const a = client.info.algorithms;
          deepEqual(
            [a.kex, a.hostKey, a.cipherClientToServer, a.cipherServerToClient],
            [kex, hostKey, cipher, cipher],
            what,
          );
          if (cipher.endsWith("-ctr")) equal(a.macServerToClient, mac, what);
          ok(client.info.strictKex, what);
          const out = await client.run("cat", { stdin: data });
          deepEqual(out.stdout, data, what);
          await client.close();
        }
      };
      await Promise.all([worker(), worker(), worker(), worker()]);
    });
  },
  { timeoutMs: 240_000 },
);

interopTest(
  "openssh over usernet TAP: publickey with each key type, keyboard-interactive, password; refusals typed",
  needs,
  async () => {
    await withSshd("ssh-auth", async ({ login }) => {
      for (
        const [file, passphrase] of [
          ["id_ed25519"],
          ["id_ed25519_pw", "correct horse"],
          ["id_ecdsa256"],
          ["id_ecdsa384"],
          ["id_rsa"],
        ] as Array<[string, string?]>
      ) {
        const client = await login({ auth: { privateKey: key(file, passphrase) } });
        equal(text((await client.run("whoami")).stdout), `${SSH_TEST_USER}\n`, file);
        await client.close();
      }
      const prompts: string[] = [];
      const kbd = await login({
        auth: {
          keyboardInteractive: (c) => {
            prompts.push(...c.prompts.map((p) => p.prompt));
            return c.prompts.map(() => SSH_TEST_PASSWORD);
          },
        },
      });
      ok(prompts.some((p) => /password/i.test(p)), `prompts: ${prompts}`);
      await kbd.close();
      // Password: the client answers PAM's single prompt with it, or uses the password method.
      const pw = await login({ auth: { password: SSH_TEST_PASSWORD } });
      equal(text((await pw.run("id -un")).stdout), `${SSH_TEST_USER}\n`);
      await pw.close();
      await rejects(login({ auth: { password: "wrong" } }), (e: unknown) => {
        ok(e instanceof AuthenticationFailed, String(e));
        ok(e.methodsLeft.includes("publickey"), e.message);
        return true;
      });
      await rejects(
        login({ auth: { privateKey: key("ed25519_pkcs8.pem") } }),
        AuthenticationFailed,
      );
    });
  },
  { timeoutMs: 90_000 },
);

interopTest(
  "openssh over usernet TAP: password method alone (keyboard-interactive off)",
  needs,
  async () => {
    await withSshd("ssh-pw", async ({ login }) => {
      const client = await login({ auth: { password: SSH_TEST_PASSWORD } });
      equal(text((await client.run("whoami")).stdout), `${SSH_TEST_USER}\n`);
      await client.close();
      await rejects(
        login({ auth: { password: "wrong" } }),
        (e: unknown) => e instanceof AuthenticationFailed && e.methodsLeft.includes("password"),
      );
    }, ["KbdInteractiveAuthentication no"]);
  },
);

interopTest(
  "openssh over usernet TAP: exec exit codes, signals, stderr, env; a pty shell with window-change",
  needs,
  async () => {
    await withSshd("ssh-exec", async ({ login }) => {
      const client = await login();
      let out = await client.run("echo out; echo err >&2; exit 7");
      equal(out.code, 7);
      equal(text(out.stdout), "out\n");
      equal(text(out.stderr), "err\n");
      out = await client.run("exit 0");
      equal(out.code, 0);
      out = await client.run("kill -TERM $$");
      equal(out.code, null);
      equal(out.signal, "TERM");
      out = await client.run("head -c 300000 /dev/zero >&2; exit 3");
      equal(out.code, 3);
      equal(out.stderr.length, 300000);
      out = await client.run('echo "$USERNET_X"', { env: { USERNET_X: "over usernet" } });
      equal(text(out.stdout), "over usernet\n");
      // Several sessions at once on one connection.
      const many = await Promise.all(
        [1, 2, 3, 4, 5].map((i) => client.run(`echo ${i}; exit ${i}`)),
      );
      deepEqual(many.map((r) => r.code), [1, 2, 3, 4, 5]);

      const shell = await client.shell({ pty: { cols: 100, rows: 30, term: "xterm" } });
      const writer = shell.stdin.getWriter();
      const reader = shell.stdout.getReader();
      let seen = "";
      const until = async (pattern: RegExp) => {
        while (!pattern.test(seen)) {
          const r = await reader.read();
          if (r.done) throw new Error(`shell ended before ${pattern}; saw ${JSON.stringify(seen)}`);
          seen += text(r.value);
        }
      };
      await writer.write(new TextEncoder().encode("stty size; tty\n"));
      await until(/30 100\r?\n/);
      await until(/\/dev\/pts\//);
      await shell.resize(120, 40);
      await writer.write(new TextEncoder().encode("stty size\n"));
      await until(/40 120\r?\n/);
      await writer.write(new TextEncoder().encode("exit 3\n"));
      equal((await shell.exit).code, 3);
      reader.releaseLock();
      await shell.close();
      await client.close();
    });
  },
);

interopTest(
  "openssh over usernet TAP: direct-tcpip to an echo server in the namespace, 2 MB both ways",
  needs,
  async () => {
    await withSshd("ssh-fwd", async ({ net, login }) => {
      const echo = net.ns.spawn("socat echo", "socat", [
        "TCP-LISTEN:7007,bind=127.0.0.1,reuseaddr,fork",
        "EXEC:cat",
      ]);
      try {
        await waitForListener(net.ns, 7007);
        const client = await login();
        const tunnels = await Promise.all(
          [0, 1, 2].map(() => client.forwardOut("127.0.0.1", 50000, "127.0.0.1", 7007)),
        );
        await Promise.all(tunnels.map(async (tunnel) => {
          const data = crypto.getRandomValues(new Uint8Array(65536));
          const size = 2_000_000;
          const writing = (async () => {
            for (let i = 0; i < size; i += 50_000) {
              await tunnel.write(data.subarray(0, Math.min(50_000, size - i)));
            }
            await tunnel.closeWrite();
          })();
          const got = new Uint8Array(size);
          let n = 0;
          while (n < size) {
            const r = await tunnel.read(got.subarray(n));
            if (r === null) break;
            n += r;
          }
          await writing;
          equal(n, size);
          for (let i = 0; i < size; i += 50_000) {
            deepEqual(
              got.subarray(i, i + Math.min(50_000, size - i)),
              data.subarray(0, Math.min(50_000, size - i)),
            );
          }
          tunnel.close();
        }));
        await rejects(client.forwardOut("127.0.0.1", 1, "127.0.0.1", 7008), ChannelOpenFailed);
        await client.close();
      } finally {
        await echo.stop();
      }
    });
  },
);

interopTest(
  "openssh over usernet TAP: 100 MB through exec('cat > file') with rekeys mid-way (server RekeyLimit and client), equal SHA-256",
  needs,
  async () => {
    await withSshd("ssh-100mb", async ({ login }) => {
      const client = await login({ rekey: { bytes: 24_000_000 } });
      const size = 100_000_000;
      const file = `/tmp/usernet-ssh-100mb-${crypto.randomUUID().slice(0, 8)}`;
      const proc = await client.exec(`cat > ${file}`);
      const hash = await import("@noble/hashes/sha2.js").then((m) => m.sha256.create());
      const block = new Uint8Array(256 * 1024);
      const start = performance.now();
      const w = proc.stdin.getWriter();
      for (let sent = 0; sent < size;) {
        const n = Math.min(block.length, size - sent);
        crypto.getRandomValues(block.subarray(0, Math.min(n, 65536)));
        const chunk = block.slice(0, n);
        hash.update(chunk);
        await w.write(chunk);
        sent += n;
      }
      await w.close();
      const status = await proc.exit;
      const seconds = (performance.now() - start) / 1000;
      equal(status.code, 0);
      await proc.close();
      const rekeys = client.info.rekeyCount;
      ok(rekeys >= 4, `rekeys during the transfer: ${rekeys}`);
      const remote = await client.run(`sha256sum ${file}; stat -c %s ${file}; rm -f ${file}`);
      const [sumLine, sizeLine] = text(remote.stdout).trim().split("\n");
      equal(Number(sizeLine), size);
      equal(sumLine.split(" ")[0], hex(hash.digest()));
      console.log(
        `  100 MB up through sshd over usernet TAP: ${(size / 1e6 / seconds).toFixed(0)} MB/s, ` +
          `${rekeys} rekeys`,
      );
      await client.close();
    }, ["RekeyLimit 16M"]);
  },
  { timeoutMs: 90_000 },
);

interopTest(
  "openssh over usernet TAP: 50 MB download (head -c | cat) while idle connections keep alive",
  needs,
  async () => {
    await withSshd("ssh-down", async ({ login }) => {
      const idle = await login({ keepalive: { intervalMs: 100 } });
      const client = await login();
      const start = performance.now();
      const proc = await client.exec("head -c 50000000 /dev/urandom | tee >(sha256sum >&2)");
      const hash = await import("@noble/hashes/sha2.js").then((m) => m.sha256.create());
      let n = 0;
      const stderr = new Response(proc.stderr).text();
      for await (const chunk of proc.stdout) {
        hash.update(chunk);
        n += chunk.length;
      }
      const seconds = (performance.now() - start) / 1000;
      equal(n, 50_000_000);
      equal((await stderr).split(" ")[0], hex(hash.digest()));
      equal((await proc.exit).code, 0);
      console.log(
        `  50 MB down from sshd over usernet TAP: ${(n / 1e6 / seconds).toFixed(0)} MB/s`,
      );
      await waitFor("idle connection still answers", async () => {
        return text((await idle.run("echo ok")).stdout) === "ok\n";
      });
      await idle.close();
      await client.close();
    });
  },
);
