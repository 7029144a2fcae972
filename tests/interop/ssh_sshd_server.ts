/**
 * Starts OpenSSH's sshd on 127.0.0.1 for interop tests: temporary host keys (ed25519,
 * ecdsa-256, ecdsa-384, rsa), a temporary authorized_keys, a test user with a password,
 * and `Subsystem sftp internal-sftp`. Needs root.
 *
 * @module
 */

import { freePort, Peer, run, tempDir } from "./_harness.ts";
import type { TestNamespace } from "./_netns.ts";

/** The local account the tests log in as. */
export const SSH_TEST_USER = "usernet-ssh";
/** Its password (set with chpasswd on every start). */
export const SSH_TEST_PASSWORD = "usernet-test-pw-1";

/** A running sshd and the files a client needs to trust it. */
export interface SshdServer {
  port: number;
  dir: string;
  peer: Peer;
  /** known_hosts text listing all host keys for the address and port. */
  knownHosts: string;
  /** Host public key lines by type (`ssh-ed25519`, `ecdsa-sha2-nistp256`, ...). */
  hostKeys: Record<string, string>;
  authorizedKeysPath: string;
  stop(): Promise<void>;
}

/** Creates the test user if needed and (re)sets its password. */
export async function ensureSshUser(): Promise<void> {
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
 * Starts sshd with `extraConfig` lines (e.g. `RekeyLimit 1M`) and the given authorized keys, on
 * 127.0.0.1 and a free port, or inside `namespace` on `address:port` (default port 22).
 *
 * @example
 * ```ts ignore
 * const server = await startSshd({ authorizedKeys: [key.authorizedKey] });
 * // ... connect to 127.0.0.1:server.port
 * await server.stop();
 * ```
 */
export async function startSshd(
  options: {
    extraConfig?: string[];
    authorizedKeys?: string[];
    logLevel?: string;
    namespace?: TestNamespace;
    address?: string;
    port?: number;
  } = {},
): Promise<SshdServer> {
  await Deno.mkdir("/run/sshd", { recursive: true });
  await ensureSshUser();
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
  const address = options.address ?? "127.0.0.1";
  const port = options.port ?? (options.namespace ? 22 : freePort());
  const hostName = port === 22 ? address : `[${address}]:${port}`;
  const hostKeys: Record<string, string> = {};
  let knownHosts = "";
  for (const [name] of keys) {
    const line = (await Deno.readTextFile(`${dir}/host_${name}.pub`)).trim();
    const [type, b64] = line.split(/\s+/);
    hostKeys[type] = line;
    knownHosts += `${hostName} ${type} ${b64}\n`;
  }
  const authorizedKeysPath = `${dir}/authorized_keys`;
  await Deno.writeTextFile(authorizedKeysPath, (options.authorizedKeys ?? []).join("\n") + "\n");
  await Deno.chmod(authorizedKeysPath, 0o644);
  const config = [
    `Port ${port}`,
    `ListenAddress ${address}`,
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
  const sshd = ["/usr/sbin/sshd", "-D", "-e", "-f", `${dir}/sshd_config`];
  const peer = options.namespace
    ? options.namespace.spawn("sshd", sshd[0], sshd.slice(1))
    : new Peer("sshd", sshd[0], sshd.slice(1));
  try {
    await peer.waitForOutput(`Server listening on ${address} port ${port}`, 15_000);
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
