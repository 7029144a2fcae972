/**
 * SFTP throughput: usernet's client next to OpenSSH's `sftp` (batch mode, key login) and
 * npm's ssh2 `fastGet`/`fastPut` (run with node from a temporary folder), all against the
 * same sshd (internal-sftp) on 127.0.0.1 in the same run, with the same cipher
 * (aes128-gcm@openssh.com). Needs root (starts sshd), node and npm for the ssh2 rows.
 *
 * Fairness: the rounds are interleaved (usernet, OpenSSH, ssh2, then again), and the file
 * system is synced before every timed transfer, so no contender pays for the write-back of
 * the file another one (or the set-up) just wrote. On a small machine the three processes of
 * a transfer (client, sshd, its sftp child) share few cores and single rounds vary by ±30%,
 * so the median of 5 rounds counts and each row's note gives the range.
 *
 *   deno run -A bench/sftp.ts [bytes=200000000]
 *
 * @module
 */

import { SSH_TEST_USER, startSshd } from "../tests/interop/ssh_sshd_server.ts";
import { connect, KnownHosts, SshPrivateKey } from "../ssh/mod.ts";
import { nativeCryptoAvailable } from "../ssh/_libcrypto.ts";
import { type BenchRow, formatTable, median } from "./row.ts";

export type { BenchRow } from "./row.ts";

const CIPHER = "aes128-gcm@openssh.com";
const NODE_DIR = "/tmp/usernet-bench-ssh2";
/** Each contender copies both ways this many times; the median counts. */
const ROUNDS = 5;

/**
 * One connection kept for all rounds (warm, as usernet's); each line on stdin starts a round:
 * sync, fastPut, sync, fastGet, then the two times in seconds as a JSON line.
 */
const NODE_SCRIPT = `
const { Client } = require("ssh2");
const fs = require("fs");
const readline = require("readline");
const { execFileSync } = require("child_process");
const [port, user, keyFile, local, remote, back] = process.argv.slice(2);
const conn = new Client();
conn.on("ready", () => {
  conn.sftp((err, sftp) => {
    if (err) throw err;
    const round = () => {
      execFileSync("sync");
      let t = process.hrtime.bigint();
      sftp.fastPut(local, remote, (err) => {
        if (err) throw err;
        const put = Number(process.hrtime.bigint() - t) / 1e9;
        execFileSync("sync");
        t = process.hrtime.bigint();
        sftp.fastGet(remote, back, (err) => {
          if (err) throw err;
          const get = Number(process.hrtime.bigint() - t) / 1e9;
          console.log(JSON.stringify({ put, get }));
        });
      });
    };
    console.log("ready");
    const lines = readline.createInterface({ input: process.stdin });
    lines.on("line", round);
    lines.on("close", () => conn.end());
  });
}).connect({
  host: "127.0.0.1", port: Number(port), username: user,
  privateKey: fs.readFileSync(keyFile),
  algorithms: { cipher: ["${CIPHER}"] },
});
`;

/** node running NODE_SCRIPT: `round()` runs one round and returns its times. */
class Ssh2Runner {
  readonly #child: Deno.ChildProcess;
  readonly #lines: ReadableStreamDefaultReader<string>;
  readonly #stdin: WritableStreamDefaultWriter<Uint8Array>;
  private constructor(child: Deno.ChildProcess) {
    this.#child = child;
    this.#lines = child.stdout.pipeThrough(new TextDecoderStream()).pipeThrough(lineSplitter())
      .getReader();
    this.#stdin = child.stdin.getWriter();
  }
  static async start(args: string[]): Promise<Ssh2Runner> {
    const child = new Deno.Command("node", {
      args: ["bench.js", ...args],
      cwd: NODE_DIR,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const runner = new Ssh2Runner(child);
    await runner.#line(); // "ready"
    return runner;
  }
  async #line(): Promise<string> {
    const { value, done } = await this.#lines.read();
    if (done) {
      const err = await new Response(this.#child.stderr).text().catch(() => "");
      throw new Error(`node ssh2 exited: ${err.trim().split("\n").slice(-3).join(" ")}`);
    }
    return value;
  }
  async round(): Promise<{ put: number; get: number }> {
    await this.#stdin.write(new TextEncoder().encode("go\n"));
    return JSON.parse(await this.#line());
  }
  async close(): Promise<void> {
    await this.#stdin.close().catch(() => {});
    await this.#child.status;
  }
}

function lineSplitter(): TransformStream<string, string> {
  let rest = "";
  return new TransformStream({
    transform(chunk, controller) {
      const parts = (rest + chunk).split("\n");
      rest = parts.pop()!;
      for (const p of parts) if (p.trim()) controller.enqueue(p.trim());
    },
  });
}

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

/** Flushes dirty pages, so the next timed transfer does not pay for earlier write-back. */
async function sync(): Promise<void> {
  await run("sync", []);
}

/** Runs the SFTP benchmark and returns its rows (MB/s, 10^6 bytes per second). */
export async function sftpBench(bytes = 200_000_000): Promise<BenchRow[]> {
  const keyFile = new URL("../tests/fixtures/ssh/id_ed25519", import.meta.url);
  const key = SshPrivateKey.parse(await Deno.readTextFile(keyFile));
  const server = await startSshd({ authorizedKeys: [key.authorizedKey] });
  const dir = server.dir;
  const remoteHome = `/home/${SSH_TEST_USER}`;
  const mbps = (seconds: number) => bytes / 1e6 / seconds;
  const engine = nativeCryptoAvailable() ? "libcrypto AES-GCM" : "WebCrypto AES-GCM";
  const note = `sshd internal-sftp on 127.0.0.1, ${CIPHER}, usernet with ${engine}, ` +
    `median of ${ROUNDS} interleaved rounds, synced before each transfer`;
  type Rates = { put: number[]; get: number[] };
  const rounds: Record<"usernet" | "openssh" | "ssh2", Rates> = {
    usernet: { put: [], get: [] },
    openssh: { put: [], get: [] },
    ssh2: { put: [], get: [] },
  };
  let ssh2Error: string | undefined;
  try {
    await Deno.writeTextFile(`${dir}/known_hosts`, server.knownHosts);
    await Deno.copyFile(keyFile, `${dir}/id`);
    await Deno.chmod(`${dir}/id`, 0o600);
    const data = new Uint8Array(bytes);
    for (let i = 0; i < bytes; i += 65536) {
      crypto.getRandomValues(data.subarray(i, Math.min(bytes, i + 65536)));
    }
    await Deno.writeFile(`${dir}/src.bin`, data);

    // usernet: one connection for all rounds.
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
    const sftp = await client.sftp();

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

    // npm's ssh2 under node (installed into a temporary folder, not the repository).
    let ssh2: Ssh2Runner | undefined;
    try {
      await Deno.mkdir(NODE_DIR, { recursive: true });
      try {
        await Deno.stat(`${NODE_DIR}/node_modules/ssh2`);
      } catch {
        await run("npm", ["install", "--silent", "--no-audit", "--no-fund", "ssh2"], NODE_DIR);
      }
      await Deno.writeTextFile(`${NODE_DIR}/bench.js`, NODE_SCRIPT);
      ssh2 = await Ssh2Runner.start([
        String(server.port),
        SSH_TEST_USER,
        `${dir}/id`,
        `${dir}/src.bin`,
        `${remoteHome}/bench-ssh2.bin`,
        `${dir}/back-ssh2.bin`,
      ]);
    } catch (e) {
      ssh2Error = (e as Error).message.split("\n")[0];
    }

    for (let round = 0; round < ROUNDS; round++) {
      await sync();
      let t = performance.now();
      await sftp.put(`${dir}/src.bin`, `${remoteHome}/bench-usernet.bin`);
      rounds.usernet.put.push(mbps((performance.now() - t) / 1000));
      await sync();
      t = performance.now();
      await sftp.get(`${remoteHome}/bench-usernet.bin`, `${dir}/back-usernet.bin`);
      rounds.usernet.get.push(mbps((performance.now() - t) / 1000));

      await sync();
      const put = await sftpRun(`put ${dir}/src.bin ${remoteHome}/bench-openssh.bin\n`);
      rounds.openssh.put.push(mbps(put - login));
      await sync();
      const get = await sftpRun(`get ${remoteHome}/bench-openssh.bin ${dir}/back-openssh.bin\n`);
      rounds.openssh.get.push(mbps(get - login));

      if (!ssh2 || ssh2Error) continue;
      try {
        const times = await ssh2.round();
        rounds.ssh2.put.push(mbps(times.put));
        rounds.ssh2.get.push(mbps(times.get));
      } catch (e) {
        ssh2Error = (e as Error).message.split("\n")[0];
      }
    }
    await ssh2?.close().catch(() => {});

    await sftp.remove(`${remoteHome}/bench-usernet.bin`);
    await sftp.close();
    await client.close();
    for (const who of ["usernet", "openssh", ...(ssh2Error ? [] : ["ssh2"])]) {
      if (!await sameFile(`${dir}/src.bin`, `${dir}/back-${who}.bin`)) {
        throw new Error(`${who}'s copy differs`);
      }
      await Deno.remove(`${dir}/back-${who}.bin`);
    }
    await sftpRun(`rm ${remoteHome}/bench-openssh.bin\n`);
    await sftpRun(`-rm ${remoteHome}/bench-ssh2.bin\n`).catch(() => {});

    const range = (rates: number[]) =>
      `${Math.round(Math.min(...rates))}–${Math.round(Math.max(...rates))}`;
    const row = (op: "get" | "put", who: "openssh" | "ssh2", referenceLabel: string): BenchRow => {
      const measured = who === "openssh" || !ssh2Error;
      return {
        name: `sftp ${op} ${bytes / 1e6} MB`,
        usernet: median(rounds.usernet[op]),
        reference: measured ? median(rounds[who][op]) : undefined,
        referenceLabel,
        unit: "MB/s",
        note: measured
          ? `${note}; ranges ${range(rounds.usernet[op])} vs ${range(rounds[who][op])}`
          : `ssh2 not measured: ${ssh2Error}`,
      };
    };
    return [
      row("get", "openssh", "OpenSSH sftp"),
      row("put", "openssh", "OpenSSH sftp"),
      row("get", "ssh2", "node ssh2 fastGet"),
      row("put", "ssh2", "node ssh2 fastPut"),
    ];
  } finally {
    await server.stop();
  }
}

if (import.meta.main) {
  console.log(formatTable(await sftpBench(Number(Deno.args[0] ?? 200_000_000))));
}
