/**
 * `deno task ssh [user@]host [command...] [-p PORT] [-i KEY] [--known-hosts FILE]
 * [--accept-new] [-t] [-v] [NIC flags]`: runs a command and exits with its status, or opens
 * an interactive shell with a pty, like ssh(1). Connects through a usernet stack: on the NIC
 * the flags name, or with no NIC flag behind an embedded gateway to the host's network.
 *
 * Also exports the login steps `deno task sftp` shares (`parseTarget`, `sshLogin`).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { NIC_FLAG_OPTIONS, NIC_FLAGS_HELP, runMain, UsageError } from "./_nic_flags.ts";
import { openConnector } from "./_connect.ts";
import {
  AuthenticationFailed,
  connect,
  type KeyboardInteractiveChallenge,
  KnownHosts,
  type SshClient,
  SshError,
  SshPrivateKey,
  WrongPassphrase,
} from "../ssh/mod.ts";

const HELP = `usage: deno task ssh [user@]host [command ...] [options] [NIC flags]
  -p, --port PORT        port (default 22)
  -i, --identity KEY     private key file (repeatable; default ~/.ssh/id_ed25519, id_ecdsa, id_rsa)
  -l, --login USER       user name (default: $USER)
  --known-hosts FILE     known_hosts file (default ~/.ssh/known_hosts)
  --accept-new           accept and record unknown host keys (changed keys are still refused)
  -t                     force a pty for a command
  -T                     no pty, even for a shell
  -v                     print connection details to stderr
Exits with the remote command's status, or 255 if the connection fails.
${NIC_FLAGS_HELP}`;

/** Where to log in: user, host, port. */
export interface SshTarget {
  /** User name. */
  user: string;
  /** Host name or address. */
  host: string;
  /** TCP port. */
  port: number;
}

/**
 * Parses `[user@]host[:port]` (the port part only when `allowPort`); `[v6]:port` works too.
 *
 * @example
 * ```ts
 * import { parseTarget } from "./ssh.ts";
 * console.log(parseTarget("me@example.org:2222", { allowPort: true }));
 * ```
 */
export function parseTarget(
  text: string,
  options: { allowPort?: boolean; user?: string; port?: number } = {},
): SshTarget {
  let rest = text;
  let user = options.user ?? Deno.env.get("USER") ?? Deno.env.get("LOGNAME") ?? "root";
  const at = rest.lastIndexOf("@");
  if (at >= 0) {
    user = rest.slice(0, at);
    rest = rest.slice(at + 1);
  }
  let port = options.port ?? 22;
  let host = rest;
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(rest);
  if (v6) {
    host = v6[1];
    if (v6[2]) port = Number(v6[2]);
  } else if (options.allowPort && /^[^:]+:\d+$/.test(rest)) {
    const i = rest.lastIndexOf(":");
    host = rest.slice(0, i);
    port = Number(rest.slice(i + 1));
  }
  if (!host || !user) throw new UsageError(`"${text}" is not [user@]host`);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new UsageError(`port must be 1–65535, got ${port}`);
  }
  return { user, host, port };
}

const encoder = new TextEncoder();

/**
 * Reads a line from the terminal without echo (stdin in raw mode when it is a TTY, else
 * /dev/tty with `stty -echo`). Throws when there is no terminal to ask.
 */
export async function readSecret(prompt: string): Promise<string> {
  Deno.stderr.writeSync(encoder.encode(prompt));
  if (Deno.stdin.isTerminal()) {
    Deno.stdin.setRaw(true);
    try {
      const bytes: number[] = [];
      const buf = new Uint8Array(1);
      for (;;) {
        const n = await Deno.stdin.read(buf);
        if (n === null) break;
        const c = buf[0];
        if (c === 3) throw new SshError("interrupted");
        if (c === 13 || c === 10 || c === 4) break;
        if (c === 127 || c === 8) bytes.pop();
        else bytes.push(c);
      }
      return new TextDecoder().decode(new Uint8Array(bytes));
    } finally {
      Deno.stdin.setRaw(false);
      Deno.stderr.writeSync(encoder.encode("\n"));
    }
  }
  let tty: Deno.FsFile;
  try {
    tty = await Deno.open("/dev/tty", { read: true });
  } catch {
    throw new SshError(`cannot ask "${prompt.trim()}": no terminal`);
  }
  const stty = (arg: string) =>
    new Deno.Command("stty", { args: [arg], stdin: "inherit", stdout: "null", stderr: "null" })
      .output().catch(() => {});
  try {
    await stty("-echo");
    const bytes: number[] = [];
    const buf = new Uint8Array(1);
    for (;;) {
      const n = await tty.read(buf);
      if (n === null || buf[0] === 10 || buf[0] === 13) break;
      bytes.push(buf[0]);
    }
    return new TextDecoder().decode(new Uint8Array(bytes));
  } finally {
    await stty("echo");
    tty.close();
    Deno.stderr.writeSync(encoder.encode("\n"));
  }
}

/** Options of `sshLogin`. */
export interface LoginOptions {
  /** Private key files; default: ~/.ssh/id_ed25519, id_ecdsa, id_rsa that exist. */
  identities?: string[];
  /** known_hosts file (default ~/.ssh/known_hosts). */
  knownHosts?: string;
  /** Accept and record unknown host keys. */
  acceptNew?: boolean;
  /** Print connection details. */
  log?: (line: string) => void;
  /** Asks for passwords and passphrases (default: `readSecret`). */
  ask?: (prompt: string) => Promise<string>;
}

async function loadKeys(
  files: string[],
  explicit: boolean,
  ask: (p: string) => Promise<string>,
  log?: (l: string) => void,
): Promise<SshPrivateKey[]> {
  const keys: SshPrivateKey[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = await Deno.readTextFile(file);
    } catch (e) {
      if (explicit) throw new UsageError(`cannot read key ${file}: ${(e as Error).message}`);
      continue;
    }
    try {
      keys.push(SshPrivateKey.parse(text));
    } catch (e) {
      if (!(e instanceof WrongPassphrase)) throw e;
      const passphrase = await ask(`Enter passphrase for key '${file}': `);
      keys.push(SshPrivateKey.parse(text, { passphrase }));
    }
    log?.(`debug1: will offer key ${file} (${keys.at(-1)!.type})`);
  }
  return keys;
}

/**
 * Connects and authenticates like ssh(1): keys first, then keyboard-interactive prompts,
 * then a password prompt if the server wants one.
 */
export async function sshLogin(
  conn: () => Promise<import("../net/conn.ts").Conn>,
  target: SshTarget,
  options: LoginOptions = {},
): Promise<SshClient> {
  const home = Deno.env.get("HOME") ?? "";
  const ask = options.ask ?? readSecret;
  const explicit = options.identities !== undefined && options.identities.length > 0;
  const files = explicit
    ? options.identities!
    : ["id_ed25519", "id_ecdsa", "id_rsa"].map((f) => `${home}/.ssh/${f}`);
  const keys = await loadKeys(files, explicit, ask, options.log);
  const knownHosts = await KnownHosts.load(options.knownHosts ?? `${home}/.ssh/known_hosts`);
  const base = {
    username: target.user,
    host: target.host,
    port: target.port,
    knownHosts,
    hostKeyPolicy: options.acceptNew ? "accept-new" as const : "strict" as const,
    onBanner: (m: string) => Deno.stderr.writeSync(encoder.encode(m)),
  };
  const keyboardInteractive = async (c: KeyboardInteractiveChallenge) => {
    if (c.name) Deno.stderr.writeSync(encoder.encode(c.name + "\n"));
    if (c.instruction) Deno.stderr.writeSync(encoder.encode(c.instruction + "\n"));
    const answers: string[] = [];
    for (const p of c.prompts) answers.push(await ask(p.prompt));
    return answers;
  };
  // Keystrokes and SFTP's small requests must not wait for Nagle's algorithm (ssh(1) sets
  // TCP_NODELAY too): with it on, SFTP downloads run at about half speed.
  const open = async () => {
    const c = await conn();
    const tcp = c as { setNoDelay?: (on: boolean) => void };
    if (typeof tcp.setNoDelay === "function") tcp.setNoDelay(true);
    return c;
  };
  try {
    return await connect(await open(), {
      ...base,
      auth: { privateKey: keys, keyboardInteractive },
    });
  } catch (e) {
    // The password method needs the password up front: ask only once the server wants it.
    if (!(e instanceof AuthenticationFailed) || !e.methodsLeft.includes("password")) throw e;
    const password = await ask(`${target.user}@${target.host}'s password: `);
    return await connect(await open(), { ...base, auth: { password } });
  }
}

/** Prints the negotiated algorithms and host key (the gist of `ssh -v`). */
export function describeConnection(client: SshClient, log: (line: string) => void): void {
  const i = client.info;
  log(`debug1: remote software version ${i.serverVersion}`);
  log(`debug1: kex: ${i.algorithms.kex}, host key ${i.hostKey.type} ${i.hostKey.fingerprint}`);
  log(`debug1: cipher: ${i.algorithms.cipherClientToServer}, strict kex: ${i.strictKex}`);
}

const OPTIONS = {
  ...NIC_FLAG_OPTIONS,
  port: { type: "string", short: "p" },
  identity: { type: "string", short: "i", multiple: true },
  login: { type: "string", short: "l" },
  "known-hosts": { type: "string" },
  "accept-new": { type: "boolean" },
  t: { type: "boolean", short: "t" },
  T: { type: "boolean", short: "T" },
  v: { type: "boolean", short: "v" },
  help: { type: "boolean", short: "h" },
} as const;

/** Where the remote command starts: the second positional, skipping flags and their values. */
function commandStart(args: string[]): number {
  const takesValue = new Set(
    Object.entries(OPTIONS).filter(([, o]) => o.type === "string").flatMap(([k, o]) =>
      "short" in o ? [`--${k}`, `-${o.short}`] : [`--${k}`]
    ),
  );
  let positionals = 0;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (takesValue.has(a)) i++;
    else if (!a.startsWith("-") && ++positionals === 2) return i;
  }
  return args.length;
}

async function main(): Promise<number> {
  // The command's own flags are not ours: split them off before parsing (as ssh(1) does).
  const split = commandStart(Deno.args);
  const { values, positionals } = parseArgs({
    args: Deno.args.slice(0, split),
    options: OPTIONS,
    allowPositionals: true,
  });
  const host = positionals[0];
  const command = Deno.args.slice(split);
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (!host) throw new UsageError("missing [user@]host (see --help)");
  const target = parseTarget(host, {
    user: values.login,
    port: values.port ? Number(values.port) : undefined,
  });
  const log = values.v ? (l: string) => console.error(l) : undefined;
  const connector = await openConnector(values, log);
  let client: SshClient;
  try {
    client = await sshLogin(() => connector.connect(target.host, target.port), target, {
      identities: values.identity,
      knownHosts: values["known-hosts"],
      acceptNew: values["accept-new"],
      log,
    });
  } catch (e) {
    if (e instanceof UsageError) throw e;
    console.error(`ssh: ${(e as Error).message}`);
    await connector.close();
    return 255;
  }
  if (log) describeConnection(client, log);
  try {
    return await session(client, command.join(" "), { forceTty: !!values.t, noTty: !!values.T });
  } catch (e) {
    console.error(`ssh: ${(e as Error).message}`);
    return 255;
  } finally {
    await client.close().catch(() => {});
    await connector.close();
  }
}

/** Runs `command` (or a shell when empty) with stdio forwarded; returns the exit status. */
async function session(
  client: SshClient,
  command: string,
  opts: { forceTty: boolean; noTty: boolean },
): Promise<number> {
  const interactive = Deno.stdin.isTerminal();
  const wantPty = !opts.noTty && (command ? opts.forceTty : interactive);
  let size = { columns: 80, rows: 24 };
  try {
    size = Deno.consoleSize();
  } catch { /* not a terminal */ }
  const pty = wantPty
    ? { term: Deno.env.get("TERM") ?? "xterm-256color", cols: size.columns, rows: size.rows }
    : false;
  const proc = command ? await client.exec(command, { pty }) : await client.shell({ pty });
  const raw = wantPty && interactive;
  if (raw) Deno.stdin.setRaw(true);
  const onResize = () => {
    try {
      const s = Deno.consoleSize();
      proc.resize(s.columns, s.rows).catch(() => {});
    } catch { /* ignore */ }
  };
  if (wantPty) {
    try {
      Deno.addSignalListener("SIGWINCH", onResize);
    } catch { /* not supported */ }
  }
  try {
    // stdin is forwarded until it ends (then EOF is sent) or the command exits.
    Deno.stdin.readable.pipeTo(proc.stdin).catch(() => {});
    const out = proc.stdout.pipeTo(Deno.stdout.writable, { preventClose: true }).catch(() => {});
    const err = proc.stderr.pipeTo(Deno.stderr.writable, { preventClose: true }).catch(() => {});
    const status = await proc.exit.catch(() => ({ code: null, signal: null }));
    await Promise.all([out, err]);
    if (status.code !== null) return status.code;
    if (status.signal) console.error(`ssh: remote command killed by signal ${status.signal}`);
    return 255;
  } finally {
    if (wantPty) {
      try {
        Deno.removeSignalListener("SIGWINCH", onResize);
      } catch { /* ignore */ }
    }
    if (raw) Deno.stdin.setRaw(false);
  }
}

if (import.meta.main) runMain(main);
