/**
 * Interop tests of the SSH client against OpenSSH's sshd (Debian 12, OpenSSH 9.2p1) on
 * 127.0.0.1.
 */

import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import { sha256 } from "@noble/hashes/sha2.js";
import { interopTest, run, waitFor } from "./_harness.ts";
import { algorithmMatrix, CIPHERS, MACS } from "./_ssh_algorithms.ts";
import { SSH_TEST_PASSWORD, SSH_TEST_USER, type SshdServer, startSshd } from "./ssh_sshd_server.ts";
import {
  AuthenticationFailed,
  ChannelOpenFailed,
  connect,
  type ConnectOptions,
  HostKeyMismatch,
  HostKeyRejected,
  HostKeyUnknown,
  KnownHosts,
  type SshClient,
  SshPrivateKey,
} from "../../ssh/mod.ts";

const needs = { programs: ["/usr/sbin/sshd", "ssh-keygen", "useradd", "chpasswd"], root: true };
const fixtures = new URL("../fixtures/ssh/", import.meta.url);
const key = (name: string, passphrase?: string) =>
  SshPrivateKey.parse(Deno.readTextFileSync(new URL(name, fixtures)), { passphrase });
const text = (b: Uint8Array) => new TextDecoder().decode(b);
const hex = (b: Uint8Array) => Array.from(b).map((x) => x.toString(16).padStart(2, "0")).join("");
function random(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(out.subarray(i, i + 65536));
  return out;
}

async function login(
  server: SshdServer,
  options: Partial<ConnectOptions> = {},
): Promise<SshClient> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  return await connect(conn, {
    username: SSH_TEST_USER,
    host: "127.0.0.1",
    port: server.port,
    knownHosts: KnownHosts.parse(server.knownHosts),
    auth: { password: SSH_TEST_PASSWORD },
    ...options,
  });
}

async function withServer(
  fn: (server: SshdServer) => Promise<void>,
  options: Parameters<typeof startSshd>[0] = {},
): Promise<void> {
  const server = await startSshd({
    authorizedKeys: ["id_ed25519", "id_ecdsa256", "id_ecdsa384", "id_rsa", "id_ed25519_pw"].map(
      (f) => Deno.readTextFileSync(new URL(f + ".pub", fixtures)).trim(),
    ),
    ...options,
  });
  try {
    await fn(server);
  } catch (e) {
    console.error("sshd log:\n" + server.peer.log.slice(-4000));
    throw e;
  } finally {
    await server.stop();
  }
}

interopTest("openssh: every kex × host key × cipher combination", needs, async () => {
  await withServer(async (server) => {
    const ed = key("id_ed25519");
    const combos = algorithmMatrix();
    // Four connections at a time: sshd forks per connection, so this hides its latency.
    const worker = async () => {
      for (let combo = combos.shift(); combo; combo = combos.shift()) {
        const [kex, hostKey, cipher, mac] = combo;
        {
          const client = await login(server, {
            auth: { privateKey: ed },
            algorithms: { kex: [kex], hostKey: [hostKey], cipher: [cipher], mac: [mac] },
          });
          const a = client.info.algorithms;
          const what = `${kex} ${hostKey} ${cipher} ${mac}`;
          deepEqual([a.kex, a.hostKey, a.cipherClientToServer, a.cipherServerToClient], [
            kex,
            hostKey,
            cipher,
            cipher,
          ], what);
          if (cipher.endsWith("-ctr")) equal(a.macServerToClient, mac, what);
          ok(client.info.strictKex, what);
          const out = await client.run("echo $((6*7))");
          equal(text(out.stdout), "42\n", what);
          await client.close();
        }
      }
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
  });
}, { timeoutMs: 240_000 });

interopTest("openssh: each MAC with each CTR cipher, 1 MB both ways", needs, async () => {
  await withServer(async (server) => {
    for (const cipher of CIPHERS.filter((c) => c.endsWith("-ctr"))) {
      for (const mac of MACS) {
        const client = await login(server, { algorithms: { cipher: [cipher], mac: [mac] } });
        const data = crypto.getRandomValues(new Uint8Array(60_000));
        const out = await client.run("cat", { stdin: data });
        deepEqual(out.stdout, data, `${cipher} ${mac}`);
        await client.close();
      }
    }
  });
});

interopTest(
  "openssh: password, keyboard-interactive and publickey with each key type",
  needs,
  async () => {
    await withServer(async (server) => {
      // keyboard-interactive (PAM) answered by a handler
      const prompts: string[] = [];
      let client = await login(server, {
        auth: {
          keyboardInteractive: (c) => {
            prompts.push(...c.prompts.map((p) => p.prompt));
            return c.prompts.map(() => SSH_TEST_PASSWORD);
          },
        },
      });
      ok(prompts.some((p) => /password/i.test(p)), `prompts: ${prompts}`);
      equal(text((await client.run("whoami")).stdout), `${SSH_TEST_USER}\n`);
      await client.close();

      for (
        const [file, passphrase] of [
          ["id_ed25519"],
          ["id_ed25519_pw", "correct horse"],
          ["id_ecdsa256"],
          ["id_ecdsa384"],
          ["id_rsa"],
        ] as Array<[string, string?]>
      ) {
        client = await login(server, { auth: { privateKey: key(file, passphrase) } });
        equal(text((await client.run("whoami")).stdout), `${SSH_TEST_USER}\n`, file);
        await client.close();
      }
    });
  },
);

interopTest(
  "openssh: password method alone (PAM keyboard-interactive disabled)",
  needs,
  async () => {
    await withServer(async (server) => {
      const client = await login(server, { auth: { password: SSH_TEST_PASSWORD } });
      equal(text((await client.run("whoami")).stdout), `${SSH_TEST_USER}\n`);
      await client.close();
      const err = await rejects(
        login(server, { auth: { password: "wrong" } }),
        (e: unknown) => e instanceof AuthenticationFailed && e.methodsLeft.includes("password"),
      );
      void err;
    }, { extraConfig: ["KbdInteractiveAuthentication no"] });
  },
);

interopTest("openssh: refusals are typed and list the methods left", needs, async () => {
  await withServer(async (server) => {
    await rejects(login(server, { auth: { password: "wrong" } }), (e: unknown) => {
      ok(e instanceof AuthenticationFailed);
      ok(e.methodsLeft.includes("publickey"), e.message);
      ok(e.attempts.some((a) => a.method === "keyboard-interactive" && a.result === "refused"));
      return true;
    });
    // A key the server does not list.
    await rejects(
      login(server, { auth: { privateKey: key("ed25519_pkcs8.pem") } }),
      (e: unknown) =>
        e instanceof AuthenticationFailed && e.attempts.some((a) => a.method === "publickey"),
    );
  });
});

interopTest("openssh: exec exit codes, signals, stderr and env", needs, async () => {
  await withServer(async (server) => {
    const client = await login(server);
    let out = await client.run("echo out; echo err >&2; exit 7");
    equal(out.code, 7);
    equal(out.signal, null);
    equal(text(out.stdout), "out\n");
    equal(text(out.stderr), "err\n");
    out = await client.run("kill -TERM $$");
    equal(out.code, null);
    equal(out.signal, "TERM");
    out = await client.run('echo "$USERNET_GREETING"', { env: { USERNET_GREETING: "hello env" } });
    equal(text(out.stdout), "hello env\n");
    // A signal sent by the client to a running command.
    const proc = await client.exec("sleep 30");
    await proc.signal("KILL");
    const status = await proc.exit;
    equal(status.signal, "KILL");
    await proc.close();
    await client.close();
  });
});

interopTest("openssh: 20 MB through cat both ways with SHA-256", needs, async () => {
  await withServer(async (server) => {
    const client = await login(server);
    const size = 20_000_000;
    const block = crypto.getRandomValues(new Uint8Array(1 << 16));
    const proc = await client.exec("cat");
    const sent = sha256.create();
    const writing = (async () => {
      const w = proc.stdin.getWriter();
      for (let n = 0; n < size; n += block.length) {
        const chunk = block.subarray(0, Math.min(block.length, size - n));
        block[0] = n & 0xff; // vary the data
        sent.update(chunk);
        await w.write(chunk.slice());
      }
      await w.close();
    })();
    const received = sha256.create();
    let n = 0;
    for await (const chunk of proc.stdout) {
      received.update(chunk);
      n += chunk.length;
    }
    await writing;
    equal(n, size);
    deepEqual(received.digest(), sent.digest());
    equal((await proc.exit).code, 0);
    await proc.close();
    // And a remote checksum of data generated remotely.
    const remote = await client.run(`head -c ${size} /dev/zero | sha256sum`);
    equal(text(remote.stdout).split(" ")[0], hex(sha256(new Uint8Array(size))));
    await client.close();
  });
});

interopTest("openssh: shell with a pty, window-change", needs, async () => {
  await withServer(async (server) => {
    const client = await login(server);
    const shell = await client.shell({ pty: { cols: 100, rows: 30, term: "xterm" } });
    const writer = shell.stdin.getWriter();
    const reader = shell.stdout.getReader();
    let seen = "";
    const waitFor = async (pattern: RegExp) => {
      while (!pattern.test(seen)) {
        const r = await reader.read();
        if (r.done) throw new Error(`shell ended before ${pattern}; saw ${JSON.stringify(seen)}`);
        seen += text(r.value);
      }
    };
    await writer.write(new TextEncoder().encode("stty size; tty\n"));
    await waitFor(/30 100\r?\n/);
    await waitFor(/\/dev\/pts\//);
    await shell.resize(120, 40);
    await writer.write(new TextEncoder().encode("stty size\n"));
    await waitFor(/40 120\r?\n/);
    await writer.write(new TextEncoder().encode("exit 3\n"));
    const status = await shell.exit;
    equal(status.code, 3);
    reader.releaseLock();
    await shell.close();
    await client.close();
  });
});

interopTest("openssh: direct-tcpip to a local Deno echo server", needs, async () => {
  await withServer(async (server) => {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const echoPort = (listener.addr as Deno.NetAddr).port;
    const serving = (async () => {
      for await (const c of listener) {
        (async () => {
          const buf = new Uint8Array(65536);
          for (;;) {
            const n = await c.read(buf).catch(() => null);
            if (n === null) break;
            await c.write(buf.subarray(0, n));
          }
          c.close();
        })();
      }
    })().catch(() => {});
    try {
      const client = await login(server);
      const tunnel = await client.forwardOut("127.0.0.1", 50000, "127.0.0.1", echoPort);
      const data = random(300_000);
      const writing = (async () => {
        for (let i = 0; i < data.length; i += 10_000) {
          await tunnel.write(data.subarray(i, i + 10_000));
        }
        await tunnel.closeWrite();
      })();
      const got = new Uint8Array(data.length);
      let n = 0;
      while (n < data.length) {
        const r = await tunnel.read(got.subarray(n));
        if (r === null) break;
        n += r;
      }
      await writing;
      equal(n, data.length);
      deepEqual(got, data);
      tunnel.close();
      // A refused destination is a typed error.
      const closedPort = (() => {
        const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
        const p = (l.addr as Deno.NetAddr).port;
        l.close();
        return p;
      })();
      await rejects(client.forwardOut("127.0.0.1", 1, "127.0.0.1", closedPort), ChannelOpenFailed);
      await client.close();
    } finally {
      listener.close();
      await serving;
    }
  });
});

interopTest("openssh: sftp subsystem answers SSH_FXP_INIT", needs, async () => {
  await withServer(async (server) => {
    const client = await login(server);
    const channel = await client.subsystem("sftp");
    const w = channel.writable.getWriter();
    await w.write(new Uint8Array([0, 0, 0, 5, 1, 0, 0, 0, 3])); // length 5, SSH_FXP_INIT, version 3
    const r = channel.readable.getReader();
    const { value } = await r.read();
    ok(value && value.length >= 9);
    equal(value![4], 2); // SSH_FXP_VERSION
    equal(new DataView(value!.buffer, value!.byteOffset).getUint32(5), 3);
    r.releaseLock();
    await channel.close();
    await client.close();
  });
});

interopTest("openssh: rekey by bytes, started by the server and by the client", needs, async () => {
  await withServer(async (server) => {
    // Server-initiated (RekeyLimit 1M in sshd_config).
    let client = await login(server);
    const out = await client.run("head -c 6000000 /dev/zero");
    ok(client.info.rekeyCount >= 3, `server rekeys: ${client.info.rekeyCount}`);
    equal(hex(sha256(out.stdout)), hex(sha256(new Uint8Array(6_000_000))));
    await client.close();
    // Client-initiated.
    client = await login(server, { rekey: { bytes: 512 * 1024 } });
    const data = random(3_000_000);
    const echoed = await client.run("cat", { stdin: data });
    deepEqual(echoed.stdout, data);
    ok(client.info.rekeyCount >= 5, `client rekeys: ${client.info.rekeyCount}`);
    // Explicit rekey while idle.
    const before = client.info.rekeyCount;
    await client.transport.rekey();
    equal(client.info.rekeyCount, before + 1);
    equal(text((await client.run("echo after")).stdout), "after\n");
    await client.close();
    // Client-initiated by time.
    client = await login(server, { rekey: { seconds: 0.2 } });
    await waitFor("a time-based rekey", () => client.info.rekeyCount >= 2, 10_000);
    equal(text((await client.run("echo timed")).stdout), "timed\n");
    await client.close();
  }, { extraConfig: ["RekeyLimit 1M"] });
});

interopTest(
  "openssh: 100 MB through exec('cat > file') with rekeys mid-way (server RekeyLimit and client), equal SHA-256",
  needs,
  async () => {
    await withServer(async (server) => {
      const client = await login(server, { rekey: { bytes: 24_000_000 } });
      const size = 100_000_000;
      const file = `/tmp/usernet-ssh-100mb-${crypto.randomUUID().slice(0, 8)}`;
      const proc = await client.exec(`cat > ${file}`);
      const hash = sha256.create();
      const w = proc.stdin.getWriter();
      for (let sent = 0; sent < size;) {
        const chunk = random(Math.min(256 * 1024, size - sent));
        hash.update(chunk);
        await w.write(chunk);
        sent += chunk.length;
      }
      await w.close();
      equal((await proc.exit).code, 0);
      await proc.close();
      const rekeys = client.info.rekeyCount;
      ok(rekeys >= 4, `rekeys during the transfer: ${rekeys}`);
      const remote = await client.run(`sha256sum ${file}; stat -c %s ${file}; rm -f ${file}`);
      const [sumLine, sizeLine] = text(remote.stdout).trim().split("\n");
      equal(Number(sizeLine), size);
      equal(sumLine.split(" ")[0], hex(hash.digest()));
      await client.close();
    }, { extraConfig: ["RekeyLimit 16M"] });
  },
  { timeoutMs: 90_000 },
);

interopTest(
  "openssh: unknown host key refused by default; changed key refused; hashed entry and accept-new work",
  needs,
  async () => {
    await withServer(async (server) => {
      await rejects(login(server, { knownHosts: undefined }), HostKeyUnknown);
      await rejects(login(server, { knownHosts: KnownHosts.parse("") }), HostKeyUnknown);
      // A different ed25519 key listed for this host: HOST KEY HAS CHANGED.
      const other = Deno.readTextFileSync(new URL("host_ed25519.pub", fixtures)).trim().split(
        /\s+/,
      );
      await rejects(
        login(server, {
          knownHosts: KnownHosts.parse(`[127.0.0.1]:${server.port} ${other[0]} ${other[1]}\n`),
          algorithms: { hostKey: ["ssh-ed25519"] },
        }),
        HostKeyMismatch,
      );
      // Hashed known_hosts written by ssh-keygen -H.
      const file = `${server.dir}/known_hosts`;
      await Deno.writeTextFile(file, server.knownHosts);
      await run("ssh-keygen", ["-H", "-f", file]);
      const hashed = await Deno.readTextFile(file);
      ok(hashed.startsWith("|1|"));
      let client = await login(server, { knownHosts: file });
      await client.close();
      // accept-new records the key and then matches it.
      const fresh = `${server.dir}/known_hosts_new`;
      client = await login(server, { knownHosts: fresh, hostKeyPolicy: "accept-new" });
      const fp = client.info.hostKey.fingerprint;
      await client.close();
      ok((await Deno.readTextFile(fresh)).includes(`[127.0.0.1]:${server.port}`));
      client = await login(server, { knownHosts: fresh });
      equal(client.info.hostKey.fingerprint, fp);
      // A callback policy sees the fingerprint and decides.
      const seen: string[] = [];
      await rejects(
        login(server, { hostKeyPolicy: (k) => (seen.push(k.fingerprint), false) }),
        HostKeyRejected,
      );
      equal(seen.length, 1);
      const viaCallback = await login(server, {
        knownHosts: undefined,
        hostKeyPolicy: (k) => k.fingerprint === seen[0],
      });
      await viaCallback.close();
      // The fingerprint matches what ssh-keygen prints.
      const printed = await run("ssh-keygen", [
        "-l",
        "-f",
        `${server.dir}/host_${client.info.hostKey.type === "ssh-ed25519" ? "ed25519" : "x"}.pub`,
      ], { allowFail: true });
      if (client.info.hostKey.type === "ssh-ed25519") ok(printed.includes(fp), printed);
      await client.close();
    });
  },
);

interopTest("openssh: keepalive requests are answered", needs, async () => {
  await withServer(async (server) => {
    const client = await login(server, { keepalive: { intervalMs: 50, countMax: 3 } });
    // OpenSSH answers keepalive@openssh.com with REQUEST_FAILURE: an answer all the same.
    equal(await client.globalRequest("keepalive@openssh.com"), false);
    await new Promise((r) => setTimeout(r, 300));
    equal(text((await client.run("echo alive")).stdout), "alive\n");
    await client.close();
  });
});
