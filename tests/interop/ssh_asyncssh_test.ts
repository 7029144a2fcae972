/**
 * Interop tests of the SSH client against a second implementation: python3-asyncssh
 * (Debian 12, asyncssh 2.10 with strict KEX backported).
 */

import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import { freePort, interopTest, Peer, run, tempDir } from "./_harness.ts";
import { AuthenticationFailed, connect, type ConnectOptions, KnownHosts } from "../../ssh/mod.ts";

const needs = {
  programs: ["/usr/bin/python3", "ssh-keygen"],
  files: ["/usr/lib/python3/dist-packages/asyncssh"],
};
const PASSWORD = "asyncssh-test-pw";
const text = (b: Uint8Array) => new TextDecoder().decode(b);

async function withAsyncssh(fn: (port: number, knownHosts: KnownHosts) => Promise<void>) {
  const { path, cleanup } = await tempDir("asyncssh");
  await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", `${path}/host`]);
  const port = freePort();
  const script = new URL("./ssh_asyncssh_server.py", import.meta.url).pathname;
  const peer = new Peer("asyncssh", "/usr/bin/python3", [
    script,
    String(port),
    `${path}/host`,
    PASSWORD,
  ]);
  try {
    await peer.waitForOutput(`LISTENING ${port}`, 20_000);
    const pub = (await Deno.readTextFile(`${path}/host.pub`)).trim().split(/\s+/);
    await fn(port, KnownHosts.parse(`[127.0.0.1]:${port} ${pub[0]} ${pub[1]}\n`));
  } catch (e) {
    console.error("asyncssh log:\n" + peer.log.slice(-3000));
    throw e;
  } finally {
    await peer.stop();
    await cleanup();
  }
}

async function login(port: number, knownHosts: KnownHosts, extra: Partial<ConnectOptions> = {}) {
  return await connect(await Deno.connect({ hostname: "127.0.0.1", port }), {
    username: "tester",
    host: "127.0.0.1",
    port,
    knownHosts,
    auth: { password: PASSWORD },
    ...extra,
  });
}

interopTest(
  "asyncssh: password login, exec, stderr, exit codes, wrong password",
  needs,
  async () => {
    await withAsyncssh(async (port, knownHosts) => {
      const client = await login(port, knownHosts);
      ok(client.info.serverVersion.includes("AsyncSSH"));
      const out = await client.run("hello");
      equal(text(out.stdout), "ran: hello\n");
      equal(text(out.stderr), "on stderr\n");
      equal(out.code, 0);
      equal((await client.run("exit 9")).code, 9);
      await client.close();
      await rejects(login(port, knownHosts, { auth: { password: "wrong" } }), AuthenticationFailed);
    });
  },
);

interopTest("asyncssh: each cipher and kex carries 1 MB through cat", needs, async () => {
  await withAsyncssh(async (port, knownHosts) => {
    const data = new Uint8Array(1_000_000).map((_, i) => (i * 31) & 0xff);
    for (
      const [kex, cipher, mac] of [
        ["curve25519-sha256", "chacha20-poly1305@openssh.com", undefined],
        ["ecdh-sha2-nistp256", "aes256-gcm@openssh.com", undefined],
        ["ecdh-sha2-nistp384", "aes128-ctr", "hmac-sha2-256-etm@openssh.com"],
        ["diffie-hellman-group14-sha256", "aes192-ctr", "hmac-sha2-512"],
        ["diffie-hellman-group16-sha512", "aes256-ctr", "hmac-sha2-256"],
        ["diffie-hellman-group-exchange-sha256", "aes128-gcm@openssh.com", undefined],
      ] as Array<[string, string, string | undefined]>
    ) {
      const client = await login(port, knownHosts, {
        algorithms: { kex: [kex], cipher: [cipher], mac: mac ? [mac] : undefined },
      });
      equal(client.info.algorithms.kex, kex);
      const out = await client.run("cat", { stdin: data });
      deepEqual(out.stdout, data, `${kex} ${cipher}`);
      await client.close();
    }
  });
});

interopTest("asyncssh: client-initiated rekey mid-transfer", needs, async () => {
  await withAsyncssh(async (port, knownHosts) => {
    const client = await login(port, knownHosts, { rekey: { bytes: 256 * 1024 } });
    const data = new Uint8Array(2_000_000).map((_, i) => (i * 7) & 0xff);
    const out = await client.run("cat", { stdin: data });
    deepEqual(out.stdout, data);
    // How many rekeys fit depends on how long each exchange takes on a loaded machine; what
    // matters is that rekeying happened mid-transfer and no byte was lost.
    ok(client.info.rekeyCount >= 1, `rekeys: ${client.info.rekeyCount}`);
    await client.close();
  });
});
