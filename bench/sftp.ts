/**
 * SFTP throughput: usernet's client next to OpenSSH's `sftp` (batch mode, key login) and
 * npm's ssh2 `fastGet`/`fastPut` (run with node from a temporary folder), all against the
 * same sshd (internal-sftp) on 127.0.0.1 in the same run, with the same cipher
 * (aes128-gcm@openssh.com). Needs root (starts sshd), node and npm for the ssh2 rows.
 *
 *   deno run -A bench/sftp.ts [bytes=200000000]
 *
 * @module
 */

import { SSH_TEST_USER, startSshd } from "../tests/interop/ssh_sshd_server.ts";
import { connect, KnownHosts, SshPrivateKey } from "../ssh/mod.ts";
import { openSftp } from "../ssh/sftp/mod.ts";
import { type BenchRow, formatTable } from "./row.ts";

export type { BenchRow } from "./row.ts";

const CIPHER = "aes128-gcm@openssh.com";
const NOTE = `sshd internal-sftp on 127.0.0.1, ${CIPHER}, best of 3`;
const NODE_DIR = "/tmp/usernet-bench-ssh2";
/** Each contender copies both ways this many times; the best time counts (warm caches, JIT). */
const ROUNDS = 3;

const NODE_SCRIPT = `
const ROUNDS = ${ROUNDS};
const { Client } = require("ssh2");
const fs = require("fs");
const [port, user, keyFile, local, remote, back] = process.argv.slice(2);
const conn = new Client();
conn.on("ready", () => {
  conn.sftp((err, sftp) => {
    if (err) throw err;
    let best = { put: Infinity, get: Infinity };
    const round = (n) => {
      if (n === 0) {
        console.log(JSON.stringify(best));
        conn.end();
        return;
      }
      let t = process.hrtime.bigint();
      sftp.fastPut(local, remote, (err) => {
        if (err) throw err;
        best.put = Math.min(best.put, Number(process.hrtime.bigint() - t) / 1e9);
        t = process.hrtime.bigint();
        sftp.fastGet(remote, back, (err) => {
          if (err) throw err;
          best.get = Math.min(best.get, Number(process.hrtime.bigint() - t) / 1e9);
          round(n - 1);
        });
      });
    };
    round(ROUNDS);
  });
}).connect({
  host: "127.0.0.1", port: Number(port), username: user,
  privateKey: fs.readFileSync(keyFile),
  algorithms: { cipher: ["${CIPHER}"] },
});
`;

async function run(cmd: string, args: string[], cwd?: string): Promise<string> {
  const out = await new Deno.Command(cmd, { args, cwd, stdout: "piped", stderr: "piped" })
    .output();
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) {
    throw new Error(`${cmd} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
  return text;
}

async function sameFile(a: string, b: string): Promise<boolean> {
  const [x, y] = await Promise.all([Deno.readFile(a), Deno.readFile(b)]);
  const h = async (d: Uint8Array) =>
    new Uint8Array(await crypto.subtle.digest("SHA-256", d as Uint8Array<ArrayBuffer>)).join();
  return x.length === y.length && await h(x) === await h(y);
}

/** Runs the SFTP benchmark and returns its rows (MB/s, 10^6 bytes per second). */
export async function sftpBench(bytes = 200_000_000): Promise<BenchRow[]> {
  const keyFile = new URL("../tests/fixtures/ssh/id_ed25519", import.meta.url);
  const key = SshPrivateKey.parse(await Deno.readTextFile(keyFile));
  const server = await startSshd({ authorizedKeys: [key.authorizedKey] });
  const dir = server.dir;
  const remoteHome = `/home/${SSH_TEST_USER}`;
  const mbps = (seconds: number) => bytes / 1e6 / seconds;
  try {
    await Deno.writeTextFile(`${dir}/known_hosts`, server.knownHosts);
    await Deno.copyFile(keyFile, `${dir}/id`);
    await Deno.chmod(`${dir}/id`, 0o600);
    const data = new Uint8Array(bytes);
    for (let i = 0; i < bytes; i += 65536) {
      crypto.getRandomValues(data.subarray(i, Math.min(bytes, i + 65536)));
    }
    await Deno.writeFile(`${dir}/src.bin`, data);

    // usernet
    const tcp = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
    // SFTP's small READ requests must not wait for Nagle's algorithm (OpenSSH and node's
    // ssh2 set TCP_NODELAY too): with it on, get runs at about half speed.
    tcp.setNoDelay(true);
    const client = await connect(tcp, {
      username: SSH_TEST_USER,
      host: "127.0.0.1",
      port: server.port,
      knownHosts: KnownHosts.parse(server.knownHosts),
      auth: { privateKey: key },
      algorithms: { cipher: [CIPHER] },
    });
    const sftp = await openSftp(client);
    let usernetPut = 0;
    let usernetGet = 0;
    for (let round = 0; round < ROUNDS; round++) {
      let t = performance.now();
      await sftp.put(`${dir}/src.bin`, `${remoteHome}/bench-usernet.bin`);
      usernetPut = Math.max(usernetPut, mbps((performance.now() - t) / 1000));
      t = performance.now();
      await sftp.get(`${remoteHome}/bench-usernet.bin`, `${dir}/back-usernet.bin`);
      usernetGet = Math.max(usernetGet, mbps((performance.now() - t) / 1000));
    }
    await sftp.remove(`${remoteHome}/bench-usernet.bin`);
    await sftp.close();
    await client.close();
    if (!await sameFile(`${dir}/src.bin`, `${dir}/back-usernet.bin`)) {
      throw new Error("usernet's copy differs");
    }
    await Deno.remove(`${dir}/back-usernet.bin`);

    // OpenSSH's sftp: time a batch, minus the same login with a batch doing nothing.
    const sftpRun = async (commands: string) => {
      await Deno.writeTextFile(`${dir}/batch`, commands);
      const t0 = performance.now();
      await run("sftp", [
        "-q",
        "-b",
        `${dir}/batch`,
        "-i",
        `${dir}/id`,
        "-o",
        `UserKnownHostsFile=${dir}/known_hosts`,
        "-o",
        `Ciphers=${CIPHER}`,
        "-P",
        String(server.port),
        `${SSH_TEST_USER}@127.0.0.1`,
      ]);
      return (performance.now() - t0) / 1000;
    };
    const login = Math.min(await sftpRun("pwd\n"), await sftpRun("pwd\n"));
    let opensshPut = 0;
    let opensshGet = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const put = await sftpRun(`put ${dir}/src.bin ${remoteHome}/bench-openssh.bin\n`);
      opensshPut = Math.max(opensshPut, mbps(put - login));
      const get = await sftpRun(`get ${remoteHome}/bench-openssh.bin ${dir}/back-openssh.bin\n`);
      opensshGet = Math.max(opensshGet, mbps(get - login));
    }
    await sftpRun(`rm ${remoteHome}/bench-openssh.bin\n`);
    await Deno.remove(`${dir}/back-openssh.bin`);

    const rows: BenchRow[] = [
      {
        name: `sftp get ${bytes / 1e6} MB`,
        usernet: usernetGet,
        reference: opensshGet,
        referenceLabel: "OpenSSH sftp",
        unit: "MB/s",
        note: NOTE,
      },
      {
        name: `sftp put ${bytes / 1e6} MB`,
        usernet: usernetPut,
        reference: opensshPut,
        referenceLabel: "OpenSSH sftp",
        unit: "MB/s",
        note: NOTE,
      },
    ];

    // npm's ssh2 under node (installed into a temporary folder, not the repository).
    try {
      await Deno.mkdir(NODE_DIR, { recursive: true });
      try {
        await Deno.stat(`${NODE_DIR}/node_modules/ssh2`);
      } catch {
        await run("npm", ["install", "--silent", "--no-audit", "--no-fund", "ssh2"], NODE_DIR);
      }
      await Deno.writeTextFile(`${NODE_DIR}/bench.js`, NODE_SCRIPT);
      const out = await run("node", [
        "bench.js",
        String(server.port),
        SSH_TEST_USER,
        `${dir}/id`,
        `${dir}/src.bin`,
        `${remoteHome}/bench-ssh2.bin`,
        `${dir}/back-ssh2.bin`,
      ], NODE_DIR);
      const { put, get } = JSON.parse(out.trim().split("\n").pop()!);
      if (!await sameFile(`${dir}/src.bin`, `${dir}/back-ssh2.bin`)) {
        throw new Error("ssh2's copy differs");
      }
      rows.push(
        {
          name: `sftp get ${bytes / 1e6} MB`,
          usernet: usernetGet,
          reference: mbps(get),
          referenceLabel: "node ssh2 fastGet",
          unit: "MB/s",
          note: NOTE,
        },
        {
          name: `sftp put ${bytes / 1e6} MB`,
          usernet: usernetPut,
          reference: mbps(put),
          referenceLabel: "node ssh2 fastPut",
          unit: "MB/s",
          note: NOTE,
        },
      );
    } catch (e) {
      const note = `ssh2 not measured: ${(e as Error).message.split("\n")[0]}`;
      rows.push(
        { ...rows[0], reference: undefined, referenceLabel: "node ssh2 fastGet", note },
        { ...rows[1], reference: undefined, referenceLabel: "node ssh2 fastPut", note },
      );
    } finally {
      await sftpRun(`-rm ${remoteHome}/bench-ssh2.bin\n`).catch(() => {});
    }
    return rows;
  } finally {
    await server.stop();
  }
}

if (import.meta.main) {
  console.log(formatTable(await sftpBench(Number(Deno.args[0] ?? 200_000_000))));
}
