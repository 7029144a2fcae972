/**
 * The `ssh` and `sftp` CLIs and examples/sftp_demo.ts as a user runs them (`deno run ...`
 * through Deno.Command) against OpenSSH's sshd on 127.0.0.1: sftp batch mode with its error
 * rules, ssh's exit status propagation, stdin forwarding and host key policies, and the demo's
 * round trip through the embedded gateway with SHA-256 checked on both ends.
 */

import { equal, ok } from "node:assert/strict";
import { interopTest, tempDir } from "./_harness.ts";
import { SSH_TEST_USER, type SshdServer, startSshd } from "./ssh_sshd_server.ts";
import { randomBytes, sha256Hex, suiteKey } from "./sftp_suite_test.ts";

const root = new URL("../../", import.meta.url).pathname;
const needs = { programs: ["/usr/sbin/sshd", "ssh-keygen", "useradd", "chpasswd"], root: true };

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function cli(
  script: string,
  args: string[],
  options: { cwd?: string; stdin?: string } = {},
): Promise<Run> {
  const child = new Deno.Command(Deno.execPath(), {
    // A bare name is a CLI under cli/; a path is relative to the repository (examples/...).
    args: [
      "run",
      "-A",
      "--config",
      `${root}deno.json`,
      `${root}${script.includes("/") ? script : `cli/${script}`}`,
      ...args,
    ],
    cwd: options.cwd,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const w = child.stdin.getWriter();
  if (options.stdin) await w.write(new TextEncoder().encode(options.stdin));
  await w.close();
  const out = await child.output();
  const d = new TextDecoder();
  return { code: out.code, stdout: d.decode(out.stdout), stderr: d.decode(out.stderr) };
}

async function withSetup(
  fn: (s: { server: SshdServer; dir: string; common: string[] }) => Promise<void>,
): Promise<void> {
  const server = await startSshd({ authorizedKeys: [suiteKey().authorizedKey] });
  const { path: dir, cleanup } = await tempDir("sftp-cli");
  try {
    await Deno.writeTextFile(`${dir}/known_hosts`, server.knownHosts);
    await Deno.copyFile(new URL("../fixtures/ssh/id_ed25519", import.meta.url), `${dir}/id`);
    await Deno.chmod(`${dir}/id`, 0o600);
    await fn({ server, dir, common: ["-i", `${dir}/id`, "--known-hosts", `${dir}/known_hosts`] });
  } catch (e) {
    console.error("sshd log:\n" + server.peer.log.slice(-3000));
    throw e;
  } finally {
    await server.stop();
    await cleanup();
  }
}

interopTest(
  "openssh: cli/sftp.ts batch mode copies both ways and stops at the first error",
  needs,
  async () => {
    await withSetup(async ({ server, dir, common }) => {
      const data = randomBytes(3_000_000);
      await Deno.writeFile(`${dir}/up.bin`, data);
      const remoteDir = `cli-${crypto.randomUUID().slice(0, 8)}`;
      await Deno.writeTextFile(
        `${dir}/batch`,
        [
          `mkdir ${remoteDir}`,
          `cd ${remoteDir}`,
          "put up.bin",
          "ls -l",
          "-rm does-not-exist",
          "get up.bin down.bin",
          "ln -s up.bin link",
          "chmod 640 up.bin",
          "ls",
          "df",
          "rename up.bin up2.bin",
          "rm up2.bin",
          "rm link",
          "cd ..",
          `rmdir ${remoteDir}`,
          "pwd",
          "",
        ].join("\n"),
      );
      const target = `${SSH_TEST_USER}@127.0.0.1:${server.port}`;
      const ok1 = await cli("sftp.ts", [...common, "-b", `${dir}/batch`, target], { cwd: dir });
      equal(ok1.code, 0, ok1.stderr);
      ok(ok1.stdout.includes(`sftp> put up.bin`), ok1.stdout);
      ok(/-rw-r--r--.* 3000000 .*up\.bin/.test(ok1.stdout), ok1.stdout);
      ok(ok1.stdout.includes("link\nup.bin\n"), ok1.stdout);
      ok(ok1.stderr.includes("no such file"), ok1.stderr); // the tolerated "-rm"
      ok(/Remote working directory: \/home\/usernet-ssh\n/.test(ok1.stdout), ok1.stdout);
      equal(await sha256Hex(await Deno.readFile(`${dir}/down.bin`)), await sha256Hex(data));

      // Without "-", the first failure ends the batch with status 1.
      await Deno.writeTextFile(`${dir}/batch2`, `get no-such-file\nmkdir ${remoteDir}-never\n`);
      const bad = await cli("sftp.ts", [...common, "-b", `${dir}/batch2`, target], { cwd: dir });
      equal(bad.code, 1);
      ok(bad.stderr.includes("open /home/usernet-ssh/no-such-file: no such file"), bad.stderr);
      ok(!bad.stdout.includes("-never"), bad.stdout);

      // Recursive put and get; -P for the port.
      await Deno.mkdir(`${dir}/tree/sub`, { recursive: true });
      await Deno.writeFile(`${dir}/tree/sub/x`, data.subarray(0, 12345));
      await Deno.writeTextFile(
        `${dir}/batch3`,
        `put -r tree ${remoteDir}t\nget -r ${remoteDir}t back\n-rm ${remoteDir}t/sub/x\n-rmdir ${remoteDir}t/sub\n-rmdir ${remoteDir}t\n`,
      );
      const rec = await cli("sftp.ts", [
        ...common,
        "-P",
        String(server.port),
        "-b",
        `${dir}/batch3`,
        `${SSH_TEST_USER}@127.0.0.1`,
      ], { cwd: dir });
      equal(rec.code, 0, rec.stderr);
      equal(
        await sha256Hex(await Deno.readFile(`${dir}/back/sub/x`)),
        await sha256Hex(data.subarray(0, 12345)),
      );
    });
  },
  { timeoutMs: 180_000 },
);

interopTest(
  "openssh: cli/ssh.ts propagates exit status, forwards stdin, enforces known_hosts",
  needs,
  async () => {
    await withSetup(async ({ server, dir, common }) => {
      const target = `${SSH_TEST_USER}@127.0.0.1`;
      const port = ["-p", String(server.port)];
      const seven = await cli("ssh.ts", [
        ...common,
        ...port,
        target,
        "echo out; echo err >&2; exit 7",
      ]);
      equal(seven.code, 7);
      equal(seven.stdout, "out\n");
      equal(seven.stderr, "err\n");
      const cat = await cli("ssh.ts", [...common, ...port, target, "wc", "-c"], {
        stdin: "x".repeat(100_000),
      });
      equal(cat.code, 0);
      equal(cat.stdout.trim(), "100000");
      // Flags after the host are ssh's, flags after the command are the command's.
      const ls = await cli("ssh.ts", [target, ...common, ...port, "ls", "-d", "/"]);
      equal(ls.stdout, "/\n");
      // An unknown host key is refused (255); --accept-new records it, then it is known.
      const kh = `${dir}/empty_known_hosts`;
      const refused = await cli("ssh.ts", [
        "-i",
        `${dir}/id`,
        "--known-hosts",
        kh,
        ...port,
        target,
        "true",
      ]);
      equal(refused.code, 255);
      ok(/host key/i.test(refused.stderr), refused.stderr);
      const accepted = await cli("ssh.ts", [
        "-i",
        `${dir}/id`,
        "--known-hosts",
        kh,
        "--accept-new",
        ...port,
        target,
        "exit 3",
      ]);
      equal(accepted.code, 3, accepted.stderr);
      ok((await Deno.readTextFile(kh)).includes(`[127.0.0.1]:${server.port}`));
      const known = await cli("ssh.ts", [
        "-i",
        `${dir}/id`,
        "--known-hosts",
        kh,
        ...port,
        target,
        "true",
      ]);
      equal(known.code, 0, known.stderr);
      // No key the server accepts and no terminal to ask for a password: 255.
      const noAuth = await cli("ssh.ts", [
        "--known-hosts",
        `${dir}/known_hosts`,
        "-i",
        `${root}tests/fixtures/ssh/id_ecdsa256`,
        ...port,
        target,
        "true",
      ]);
      equal(noAuth.code, 255);
    });
  },
  { timeoutMs: 180_000 },
);

interopTest(
  "openssh: examples/sftp_demo.ts uploads and downloads 10 MB through usernet, hashes equal",
  needs,
  async () => {
    await withSetup(async ({ server, dir, common }) => {
      // No NIC flag: usernet's stack behind the embedded gateway, where 10.0.2.2 is the host.
      const knownHosts = server.knownHosts.replaceAll("127.0.0.1", "10.0.2.2");
      await Deno.writeTextFile(`${dir}/known_hosts`, knownHosts);
      const run = await cli("examples/sftp_demo.ts", [
        ...common,
        `${SSH_TEST_USER}@10.0.2.2:${server.port}`,
      ]);
      equal(run.code, 0, run.stdout + run.stderr);
      ok(/^upload +[\d.]+ MB\/s +sha256 ok$/m.test(run.stdout), run.stdout);
      ok(/^download +[\d.]+ MB\/s +sha256 ok$/m.test(run.stdout), run.stdout);
    });
  },
  { timeoutMs: 120_000 },
);
