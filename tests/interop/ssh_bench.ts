/**
 * Throughput of `exec` of `head -c N /dev/zero` per cipher: usernet's SSH client vs OpenSSH's
 * `ssh` against the same sshd in the same run. Needs root (starts sshd).
 *
 *   deno run -A tests/interop/ssh_bench.ts [bytes=100000000]
 *
 * @module
 */

import { SSH_TEST_USER, startSshd } from "./ssh_sshd_server.ts";
import { connect, KnownHosts, SshPrivateKey } from "../../ssh/mod.ts";

const N = Number(Deno.args[0] ?? 100_000_000);
const keyFile = new URL("../fixtures/ssh/id_ed25519", import.meta.url);
const key = SshPrivateKey.parse(await Deno.readTextFile(keyFile));
const server = await startSshd({ authorizedKeys: [key.authorizedKey] });
await Deno.writeTextFile(`${server.dir}/known_hosts`, server.knownHosts);
await Deno.copyFile(keyFile, `${server.dir}/id`);
await Deno.chmod(`${server.dir}/id`, 0o600);

const suites: Array<[string, string | undefined]> = [
  ["aes128-gcm@openssh.com", undefined],
  ["aes256-gcm@openssh.com", undefined],
  ["chacha20-poly1305@openssh.com", undefined],
  ["aes128-ctr", "hmac-sha2-256-etm@openssh.com"],
  ["aes256-ctr", "hmac-sha2-512-etm@openssh.com"],
  ["aes128-ctr", "hmac-sha2-256"],
];

async function ours(cipher: string, mac?: string): Promise<number> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  const client = await connect(conn, {
    username: SSH_TEST_USER,
    host: "127.0.0.1",
    port: server.port,
    knownHosts: KnownHosts.parse(server.knownHosts),
    auth: { privateKey: key },
    algorithms: { cipher: [cipher], mac: mac ? [mac] : undefined },
  });
  const t0 = performance.now();
  const proc = await client.exec(`head -c ${N} /dev/zero`);
  let n = 0;
  for await (const chunk of proc.stdout) n += chunk.length;
  const seconds = (performance.now() - t0) / 1000;
  await client.close();
  if (n !== N) throw new Error(`got ${n} bytes`);
  return N / 1e6 / seconds;
}

async function oursUpload(cipher: string, mac?: string): Promise<number> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
  const client = await connect(conn, {
    username: SSH_TEST_USER,
    host: "127.0.0.1",
    port: server.port,
    knownHosts: KnownHosts.parse(server.knownHosts),
    auth: { privateKey: key },
    algorithms: { cipher: [cipher], mac: mac ? [mac] : undefined },
  });
  const t0 = performance.now();
  const proc = await client.exec("cat > /dev/null");
  const w = proc.stdin.getWriter();
  const chunk = new Uint8Array(256 * 1024);
  for (let n = 0; n < N; n += chunk.length) {
    await w.write(chunk.subarray(0, Math.min(chunk.length, N - n)));
  }
  await w.close();
  await proc.exit;
  const seconds = (performance.now() - t0) / 1000;
  await client.close();
  return N / 1e6 / seconds;
}

async function opensshUpload(cipher: string, mac?: string): Promise<number> {
  const args = [
    "-q",
    "-i",
    `${server.dir}/id`,
    "-o",
    `UserKnownHostsFile=${server.dir}/known_hosts`,
    "-o",
    "BatchMode=yes",
    "-c",
    cipher,
    ...(mac ? ["-m", mac] : []),
    "-p",
    String(server.port),
    `${SSH_TEST_USER}@127.0.0.1`,
    "cat > /dev/null",
  ];
  const t0 = performance.now();
  const child = new Deno.Command("ssh", { args, stdin: "piped", stdout: "null", stderr: "null" })
    .spawn();
  const w = child.stdin.getWriter();
  const chunk = new Uint8Array(256 * 1024);
  for (let n = 0; n < N; n += chunk.length) {
    await w.write(chunk.subarray(0, Math.min(chunk.length, N - n)));
  }
  await w.close();
  await child.status;
  return N / 1e6 / ((performance.now() - t0) / 1000);
}

async function openssh(cipher: string, mac?: string): Promise<number> {
  const args = [
    "-q",
    "-i",
    `${server.dir}/id`,
    "-o",
    `UserKnownHostsFile=${server.dir}/known_hosts`,
    "-o",
    "BatchMode=yes",
    "-c",
    cipher,
    ...(mac ? ["-m", mac] : []),
    "-p",
    String(server.port),
    `${SSH_TEST_USER}@127.0.0.1`,
  ];
  // Time only the transfer: subtract a no-op login measured the same way.
  const time = async (cmd: string) => {
    const t0 = performance.now();
    const out = await new Deno.Command("ssh", {
      args: [...args, cmd],
      stdout: "null",
      stderr: "piped",
    })
      .output();
    if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
    return (performance.now() - t0) / 1000;
  };
  const login = await time("true");
  const total = await time(`head -c ${N} /dev/zero`);
  return N / 1e6 / Math.max(0.001, total - login);
}

console.log(`MB/s of ${N} bytes; download: exec head -c N /dev/zero; upload: exec cat > /dev/null`);
console.log(`${"".padEnd(46)} download usernet | ssh   upload usernet | ssh`);
try {
  for (const [cipher, mac] of suites) {
    const a = await ours(cipher, mac);
    const b = await openssh(cipher, mac);
    const c = await oursUpload(cipher, mac);
    const d = await opensshUpload(cipher, mac);
    const f = (x: number) => x.toFixed(0).padStart(5);
    const name = (cipher + " " + (mac ?? "")).padEnd(46);
    console.log(`${name}    ${f(a)} | ${f(b)}          ${f(c)} | ${f(d)}`);
  }
} finally {
  await server.stop();
}
