/**
 * SSH: usernet's client next to OpenSSH's `ssh`, both against the same sshd on 127.0.0.1 in
 * the same run, over the kernel's TCP (`Deno.connect`), key login (Ed25519).
 *
 * - exec throughput: MB/s (10^6 bytes/s) of `cat <file>` of a large file per cipher, best of 3;
 *   for `ssh` the time of a no-op login is subtracted, so both count only the transfer.
 * - upload: MB/s through `cat > /dev/null` (ssh's stdin fed by this process).
 * - connection set-up: ms from TCP connect to the exit status of `true` (key exchange, host key
 *   check, publickey auth, one session); for `ssh` the whole process run, mean of a batch.
 *
 * Needs root (starts sshd with a test user).
 *
 *   deno run -A bench/ssh.ts [bytes=200000000]
 *
 * @module
 */

import { SSH_TEST_USER, startSshd } from "../tests/interop/ssh_sshd_server.ts";
import { connect, KnownHosts, SshPrivateKey } from "../ssh/mod.ts";
import { nativeCryptoAvailable } from "../ssh/_libcrypto.ts";
import { type BenchRow, formatTable } from "./row.ts";

export type { BenchRow } from "./row.ts";

const CIPHERS: Array<[string, string | undefined]> = [
  ["aes128-gcm@openssh.com", undefined],
  ["chacha20-poly1305@openssh.com", undefined],
  ["aes128-ctr", "hmac-sha2-256-etm@openssh.com"],
];
const SETUPS = 20;

/** Runs the SSH benchmark and returns its rows. */
export async function sshBench(bytes = 200_000_000): Promise<BenchRow[]> {
  const keyFile = new URL("../tests/fixtures/ssh/id_ed25519", import.meta.url);
  const key = SshPrivateKey.parse(await Deno.readTextFile(keyFile));
  const server = await startSshd({ authorizedKeys: [key.authorizedKey] });
  const dir = server.dir;
  const bigFile = `${dir}/big.bin`;
  try {
    await Deno.writeTextFile(`${dir}/known_hosts`, server.knownHosts);
    await Deno.copyFile(keyFile, `${dir}/id`);
    await Deno.chmod(`${dir}/id`, 0o600);
    const data = new Uint8Array(bytes);
    for (let i = 0; i < bytes; i += 65536) {
      crypto.getRandomValues(data.subarray(i, Math.min(bytes, i + 65536)));
    }
    await Deno.writeFile(bigFile, data);
    await Deno.chmod(bigFile, 0o644);
    // Warm the page cache for both contenders.
    await Deno.readFile(bigFile);

    const login = async (cipher?: string, mac?: string) => {
      const tcp = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
      tcp.setNoDelay(true);
      return await connect(tcp, {
        username: SSH_TEST_USER,
        host: "127.0.0.1",
        port: server.port,
        knownHosts: KnownHosts.parse(server.knownHosts),
        auth: { privateKey: key },
        algorithms: cipher ? { cipher: [cipher], mac: mac ? [mac] : undefined } : undefined,
      });
    };
    const sshArgs = (cipher?: string, mac?: string) => [
      "-q",
      "-i",
      `${dir}/id`,
      "-o",
      `UserKnownHostsFile=${dir}/known_hosts`,
      "-o",
      "BatchMode=yes",
      ...(cipher ? ["-c", cipher] : []),
      ...(mac ? ["-m", mac] : []),
      "-p",
      String(server.port),
      `${SSH_TEST_USER}@127.0.0.1`,
    ];
    const sshRun = async (args: string[], command: string) => {
      const t0 = performance.now();
      const out = await new Deno.Command("ssh", {
        args: [...args, command],
        stdin: "null",
        stdout: "null",
        stderr: "piped",
      }).output();
      if (!out.success) throw new Error(`ssh: ${new TextDecoder().decode(out.stderr)}`);
      return (performance.now() - t0) / 1000;
    };
    const mbps = (seconds: number) => bytes / 1e6 / seconds;
    const rows: BenchRow[] = [];
    const note = `sshd on 127.0.0.1, ${bytes / 1e6} MB, best of 3`;

    for (const [cipher, mac] of CIPHERS) {
      const label = `${cipher}${mac ? ` ${mac}` : ""}`;
      let ours = 0;
      let oursUp = 0;
      for (let round = 0; round < 3; round++) {
        const client = await login(cipher, mac);
        let t0 = performance.now();
        const proc = await client.exec(`cat ${bigFile}`);
        let n = 0;
        for await (const chunk of proc.stdout) n += chunk.length;
        if (n !== bytes) throw new Error(`usernet read ${n} of ${bytes}`);
        ours = Math.max(ours, mbps((performance.now() - t0) / 1000));
        await proc.close().catch(() => {});
        t0 = performance.now();
        const up = await client.exec("cat > /dev/null");
        const w = up.stdin.getWriter();
        for (let i = 0; i < bytes; i += 1 << 20) await w.write(data.subarray(i, i + (1 << 20)));
        await w.close();
        await up.exit;
        oursUp = Math.max(oursUp, mbps((performance.now() - t0) / 1000));
        await up.close().catch(() => {});
        await client.close();
      }
      const args = sshArgs(cipher, mac);
      const noop = Math.min(await sshRun(args, "true"), await sshRun(args, "true"));
      let theirs = 0;
      let theirsUp = 0;
      for (let round = 0; round < 3; round++) {
        theirs = Math.max(
          theirs,
          mbps(Math.max(0.001, (await sshRun(args, `cat ${bigFile}`)) - noop)),
        );
        const t0 = performance.now();
        const child = new Deno.Command("ssh", {
          args: [...args, "cat > /dev/null"],
          stdin: "piped",
          stdout: "null",
          stderr: "null",
        }).spawn();
        const w = child.stdin.getWriter();
        for (let i = 0; i < bytes; i += 1 << 20) await w.write(data.subarray(i, i + (1 << 20)));
        await w.close();
        await child.status;
        theirsUp = Math.max(
          theirsUp,
          mbps(Math.max(0.001, (performance.now() - t0) / 1000 - noop)),
        );
      }
      // AES-GCM runs on libcrypto when usernet may use FFI, else on WebCrypto and noble.
      const rowNote = cipher.includes("gcm")
        ? `${note}, usernet with ${nativeCryptoAvailable() ? "libcrypto" : "WebCrypto"} AES-GCM`
        : note;
      rows.push({
        name: `ssh exec cat <file> (download), ${label}`,
        usernet: ours,
        reference: theirs,
        referenceLabel: "OpenSSH ssh",
        unit: "MB/s",
        note: rowNote,
      }, {
        name: `ssh exec cat > /dev/null (upload), ${label}`,
        usernet: oursUp,
        reference: theirsUp,
        referenceLabel: "OpenSSH ssh",
        unit: "MB/s",
        note: rowNote,
      });
    }

    // Connection set-up with the default algorithms of each side.
    const oursSetup = async () => {
      const t0 = performance.now();
      const client = await login();
      const out = await client.run("true");
      if (out.code !== 0) throw new Error("true failed");
      await client.close();
      return performance.now() - t0;
    };
    for (let i = 0; i < 3; i++) await oursSetup();
    let oursTotal = 0;
    for (let i = 0; i < SETUPS; i++) oursTotal += await oursSetup();
    const args = sshArgs();
    await sshRun(args, "true");
    let theirsTotal = 0;
    for (let i = 0; i < SETUPS; i++) theirsTotal += (await sshRun(args, "true")) * 1000;
    const firstClient = await login();
    const kex = firstClient.info.algorithms.kex;
    await firstClient.close();
    rows.push({
      name: "ssh connection set-up (connect, kex, publickey, exec true)",
      usernet: oursTotal / SETUPS,
      reference: theirsTotal / SETUPS,
      referenceLabel: "OpenSSH ssh (whole process)",
      unit: "ms",
      note: `mean of ${SETUPS}; usernet kex ${kex}; lower is better`,
    });
    return rows;
  } finally {
    await server.stop();
  }
}

if (import.meta.main) {
  console.log(formatTable(await sshBench(Number(Deno.args[0] ?? 200_000_000))));
}
