/**
 * Starts OpenSSH's sshd on 127.0.0.1 for interop tests: temporary host keys (ed25519,
 * ecdsa-256, ecdsa-384, rsa), a temporary authorized_keys, a test user with a password,
 * and `Subsystem sftp internal-sftp`. Needs root.
 *
 * @module
 */

import { freePort, Peer, run, tempDir } from "./_harness.ts";

/** The local account the tests log in as. */
export const SSH_TEST_USER = "usernet-ssh";
/** Its password (set with chpasswd on every start). */
export const SSH_TEST_PASSWORD = "usernet-test-pw-1";

/** A running sshd and the files a client needs to trust it. */
export interface SshdServer {
  port: number;
  dir: string;
  peer: Peer;
  /** known_hosts text listing all host keys for `[127.0.0.1]:port`. */
  knownHosts: string;
  /** Host public key lines by type (`ssh-ed25519`, `ecdsa-sha2-nistp256`, ...). */
  hostKeys: Record<string, string>;
  authorizedKeysPath: string;
  stop(): Promise<void>;
}

async function ensureUser(): Promise<void> {
  const exists = await run("id", [SSH_TEST_USER], { allowFail: true });
  if (!/uid=/.test(exists)) {
    await run("useradd", ["-m", "-s", "/bin/bash", SSH_TEST_USER]);
  }
  const chpasswd = new Deno.Command("chpasswd", { stdin: "piped", stdout: "null", stderr: "piped" })
    .spawn();
  const w = chpasswd.stdin.getWriter();
  await w.write(new TextEncoder().encode(`${SSH_TEST_USER}:${SSH_TEST_PASSWORD}\n`));
  await w.close();
  const status = await chpasswd.output();
  if (!status.success) {
    throw new Error("chpasswd failed: " + new TextDecoder().decode(status.stderr));
  }
}

/**
 * Starts sshd with `extraConfig` lines (e.g. `RekeyLimit 1M`) and the given authorized keys.
 *
 * @example
 * ```ts ignore
 * const server = await startSshd({ authorizedKeys: [key.authorizedKey] });
 * // ... connect to 127.0.0.1:server.port
 * await server.stop();
 * ```
 */
export async function startSshd(
  options: { extraConfig?: string[]; authorizedKeys?: string[]; logLevel?: string } = {},
): Promise<SshdServer> {
  await Deno.mkdir("/run/sshd", { recursive: true });
  await ensureUser();
  const { path: dir, cleanup } = await tempDir("sshd");
  await Deno.chmod(dir, 0o755);
  const keys: Array<[string, string[]]> = [
    ["ed25519", ["-t", "ed25519"]],
    ["ecdsa256", ["-t", "ecdsa", "-b", "256"]],
    ["ecdsa384", ["-t", "ecdsa", "-b", "384"]],
    ["rsa", ["-t", "rsa", "-b", "2048"]],
  ];
  await Promise.all(
    keys.map(([name, args]) =>
      run("ssh-keygen", [
        "-q",
        ...args,
        "-N",
        "",
        "-C",
        `host-${name}`,
        "-f",
        `${dir}/host_${name}`,
      ])
    ),
  );
  const port = freePort();
  const hostKeys: Record<string, string> = {};
  let knownHosts = "";
  for (const [name] of keys) {
    const line = (await Deno.readTextFile(`${dir}/host_${name}.pub`)).trim();
    const [type, b64] = line.split(/\s+/);
    hostKeys[type === "ecdsa-sha2-nistp384" || type === "ecdsa-sha2-nistp256" ? type : type] = line;
    knownHosts += `[127.0.0.1]:${port} ${type} ${b64}\n`;
  }
  const authorizedKeysPath = `${dir}/authorized_keys`;
  await Deno.writeTextFile(authorizedKeysPath, (options.authorizedKeys ?? []).join("\n") + "\n");
  await Deno.chmod(authorizedKeysPath, 0o644);
  const config = [
    `Port ${port}`,
    "ListenAddress 127.0.0.1",
    ...keys.map(([name]) => `HostKey ${dir}/host_${name}`),
    "PidFile none",
    `AuthorizedKeysFile ${authorizedKeysPath}`,
    "StrictModes no",
    "PasswordAuthentication yes",
    "KbdInteractiveAuthentication yes",
    "UsePAM yes",
    "PermitRootLogin no",
    "AcceptEnv LANG LC_* USERNET_*",
    "Subsystem sftp internal-sftp",
    "MaxStartups 200",
    "MaxAuthTries 20",
    `LogLevel ${options.logLevel ?? "VERBOSE"}`,
    ...(options.extraConfig ?? []),
  ];
  await Deno.writeTextFile(`${dir}/sshd_config`, config.join("\n") + "\n");
  const peer = new Peer("sshd", "/usr/sbin/sshd", ["-D", "-e", "-f", `${dir}/sshd_config`]);
  try {
    await peer.waitForOutput(`Server listening on 127.0.0.1 port ${port}`, 15_000);
  } catch (e) {
    await peer.stop();
    await cleanup();
    throw e;
  }
  return {
    port,
    dir,
    peer,
    knownHosts,
    hostKeys,
    authorizedKeysPath,
    async stop() {
      await peer.stop();
      await cleanup();
    },
  };
}
