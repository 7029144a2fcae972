/**
 * `deno task sftp [user@]host[:port] [-P PORT] [-i KEY] [-b BATCHFILE] [--known-hosts FILE]
 * [--accept-new] [-v] [NIC flags]`: an interactive SFTP client with OpenSSH sftp's everyday
 * commands, a progress meter, and batch mode (`-b`: stop at the first failing command unless
 * its line starts with `-`).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { NIC_FLAG_OPTIONS, NIC_FLAGS_HELP, runMain, UsageError } from "./_nic_flags.ts";
import { openConnector } from "./_connect.ts";
import { ProgressBar } from "./_progress.ts";
import { describeConnection, parseTarget, sshLogin } from "./ssh.ts";
import type { RecursiveOptions, SftpClient, TransferOptions } from "../ssh/sftp/mod.ts";

const HELP = `usage: deno task sftp [user@]host[:port] [options] [NIC flags]
  -P, --port PORT        port (default 22)
  -i, --identity KEY     private key file (repeatable; default ~/.ssh/id_ed25519, id_ecdsa, id_rsa)
  -b, --batch FILE       read commands from FILE ("-" for stdin); stop at the first error
                         unless the line starts with "-"
  --known-hosts FILE     known_hosts file (default ~/.ssh/known_hosts)
  --accept-new           accept and record unknown host keys
  -v                     print connection details to stderr
${NIC_FLAGS_HELP}`;

/** The commands, as `help` prints them. */
export const COMMANDS_HELP = `Available commands:
bye                                Quit sftp
cd path                            Change remote directory to 'path'
chmod mode path                    Change permissions of file 'path' to 'mode'
df [-h] [path]                     Display statistics for current directory or
                                   filesystem containing 'path'
exit                               Quit sftp
get [-afpr] remote [local]         Download file (-a: resume, -p: keep times and modes, -r: recursive)
reget [-fpr] remote [local]        Resume download file
reput [-fpr] [local] remote        Resume upload file
help                               Display this help text
lcd path                           Change local directory to 'path'
lpwd                               Print local working directory
ls [-al] [path]                    Display remote directory listing
ln [-s] oldpath newpath            Link remote file (-s for symlink)
mkdir path                         Create remote directory
progress                           Toggle display of progress meter
put [-afpr] local [remote]         Upload file (-a: resume, -p: keep times and modes, -r: recursive)
pwd                                Display remote working directory
quit                               Quit sftp
rename oldpath newpath             Rename remote file
rm path                            Delete remote file
rmdir path                         Remove remote directory
?                                  Synonym for help`;

/**
 * Splits a command line into words: whitespace separates, quotes ('...', "...") group,
 * backslash escapes.
 *
 * @example
 * ```ts
 * import { splitWords } from "./sftp.ts";
 * console.log(splitWords(`put "my file.txt" 'dir/x y'`)); // ["put", "my file.txt", "dir/x y"]
 * ```
 */
export function splitWords(line: string): string[] {
  const words: string[] = [];
  let word = "";
  let inWord = false;
  let quote: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === "\\" && quote === '"' && i + 1 < line.length) word += line[++i];
      else word += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      inWord = true;
    } else if (c === "\\" && i + 1 < line.length) {
      word += line[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = "";
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (quote) throw new UsageError("unterminated quote");
  if (inWord) words.push(word);
  return words;
}

/** Normalizes a POSIX path: collapses `//`, `.` and `..`. */
export function normalizePath(path: string): string {
  const absolute = path.startsWith("/");
  const out: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (out.length && out.at(-1) !== "..") out.pop();
      else if (!absolute) out.push("..");
    } else out.push(part);
  }
  const joined = out.join("/");
  return absolute ? "/" + joined : joined || ".";
}

function basename(path: string): string {
  const trimmed = path.replace(/\/+$/, "");
  return trimmed.slice(trimmed.lastIndexOf("/") + 1) || trimmed;
}

/** Splits leading `-xyz` flags off `args`, checking them against `allowed`. */
function flags(args: string[], allowed: string, command: string): [Set<string>, string[]] {
  const set = new Set<string>();
  let i = 0;
  for (; i < args.length && args[i].startsWith("-") && args[i] !== "-"; i++) {
    if (args[i] === "--") {
      i++;
      break;
    }
    for (const f of args[i].slice(1)) {
      if (!allowed.includes(f)) throw new UsageError(`${command}: unknown option -${f}`);
      set.add(f);
    }
  }
  return [set, args.slice(i)];
}

/** Output of the shell (injectable for tests). */
export interface ShellIo {
  /** Prints a line to stdout. */
  out(line: string): void;
  /** Prints a line to stderr. */
  err(line: string): void;
  /** Whether to draw progress meters. */
  progress: boolean;
  /** Where meters are drawn (default: stdout). */
  progressWrite?: (text: string) => void;
}

/**
 * The command interpreter: one `run(line)` per command, with a remote and local working
 * directory. Throws on a failing command.
 *
 * @example
 * ```ts ignore
 * const shell = await SftpShell.start(sftp, { out: console.log, err: console.error, progress: false });
 * await shell.run("ls -l");
 * ```
 */
export class SftpShell {
  /** Remote working directory. */
  cwd: string;
  /** Whether `exit` was given. */
  done = false;

  private constructor(readonly sftp: SftpClient, readonly io: ShellIo, home: string) {
    this.cwd = home;
  }

  /** Starts in the remote home directory. */
  static async start(sftp: SftpClient, io: ShellIo): Promise<SftpShell> {
    return new SftpShell(sftp, io, await sftp.realpath("."));
  }

  /** A remote path made absolute against the working directory. */
  remote(path: string): string {
    return normalizePath(path.startsWith("/") ? path : `${this.cwd}/${path}`);
  }

  #transfer(label: string): TransferOptions {
    return { onProgress: this.#meter(label).onProgress };
  }

  /**
   * Progress for a recursive copy: with meters on, a meter per file (each file's `onFile`
   * starts the next); with them off, a line per file, as OpenSSH's sftp prints.
   */
  #recursive(verb: "Fetching" | "Uploading"): RecursiveOptions {
    const meter = this.#meter("");
    return {
      onProgress: meter.onProgress,
      onFile: (remote, local) => {
        meter.next(remote);
        if (!this.io.progress) {
          this.io.out(
            verb === "Fetching"
              ? `Fetching ${remote} to ${local}`
              : `Uploading ${local} to ${remote}`,
          );
        }
      },
    };
  }

  /** A progress meter named `label` while meters are on; `next` finishes it and renames it. */
  #meter(label: string): {
    onProgress: NonNullable<TransferOptions["onProgress"]>;
    next: (name: string) => void;
  } {
    let bar: ProgressBar | undefined;
    let name = label;
    const write = this.io.progressWrite;
    return {
      onProgress: (done, total) => {
        if (!this.io.progress) return;
        bar ??= new ProgressBar(name, total, write ? { write } : {});
        bar.update(done);
        if (total !== undefined && done >= total) bar.finish(done);
      },
      next: (next) => {
        bar?.finish();
        bar = undefined;
        name = next;
      },
    };
  }

  async #isRemoteDir(path: string): Promise<boolean> {
    try {
      return (await this.sftp.stat(path)).isDirectory;
    } catch {
      return false;
    }
  }

  async #isLocalDir(path: string): Promise<boolean> {
    try {
      return (await Deno.stat(path)).isDirectory;
    } catch {
      return false;
    }
  }

  /** Runs one command line (empty lines and `#` comments do nothing). */
  async run(line: string): Promise<void> {
    const words = splitWords(line.trim());
    if (words.length === 0 || words[0].startsWith("#")) return;
    const [cmd, ...args] = words;
    const need = (n: number, usage: string) => {
      if (args.length < n) throw new UsageError(`usage: ${usage}`);
    };
    const sftp = this.sftp;
    switch (cmd) {
      case "bye":
      case "exit":
      case "quit":
        this.done = true;
        return;
      case "help":
      case "?":
        this.io.out(COMMANDS_HELP);
        return;
      case "pwd":
        this.io.out(`Remote working directory: ${this.cwd}`);
        return;
      case "lpwd":
        this.io.out(`Local working directory: ${Deno.cwd()}`);
        return;
      case "cd": {
        const target = await sftp.realpath(this.remote(args[0] ?? "."));
        const st = await sftp.stat(target);
        if (!st.isDirectory) throw new UsageError(`cd ${target}: not a directory`);
        this.cwd = target;
        return;
      }
      case "lcd":
        need(1, "lcd path");
        Deno.chdir(args[0]);
        return;
      case "ls":
      case "dir": {
        const [f, rest] = flags(args, "al1", "ls");
        const path = this.remote(rest[0] ?? ".");
        const st = await sftp.stat(path);
        const entries = st.isDirectory
          ? await sftp.list(path)
          : [{ name: rest[0], longname: "", stat: st }];
        entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
        for (const e of entries) {
          if (!f.has("a") && e.name.startsWith(".")) continue;
          if (f.has("l")) {
            const { longName } = await import("../ssh/sftp/attributes.ts");
            this.io.out(e.longname || longName(e.name, e.stat));
          } else this.io.out(e.name);
        }
        return;
      }
      case "get":
      case "reget": {
        const [f, rest] = flags(args, "afpPrR", cmd);
        need(1, `${cmd} [-afpr] remote [local]`);
        const remote = this.remote(rest[0]);
        let local = rest[1] ?? basename(remote);
        if (await this.#isLocalDir(local) && !(f.has("r") || f.has("R"))) {
          local = `${local}/${basename(remote)}`;
        }
        const options = {
          resume: cmd === "reget" || f.has("a"),
          preserve: f.has("p") || f.has("P"),
        };
        if (f.has("r") || f.has("R")) {
          if (await this.#isLocalDir(local) && rest[1] !== undefined) {
            local = `${local}/${basename(remote)}`;
          }
          this.io.out(`Fetching ${remote}/ to ${local}`);
          await sftp.getRecursive(remote, local, { ...options, ...this.#recursive("Fetching") });
        } else {
          this.io.out(`Fetching ${remote} to ${local}`);
          await sftp.get(remote, local, { ...options, ...this.#transfer(basename(remote)) });
        }
        return;
      }
      case "put":
      case "reput": {
        const [f, rest] = flags(args, "afpPrR", cmd);
        need(1, `${cmd} [-afpr] local [remote]`);
        const local = rest[0];
        let remote = this.remote(rest[1] ?? basename(local));
        const recursive = f.has("r") || f.has("R");
        if (await this.#isRemoteDir(remote) && (!recursive || rest[1] !== undefined)) {
          remote = normalizePath(`${remote}/${basename(local)}`);
        }
        const options = {
          resume: cmd === "reput" || f.has("a"),
          preserve: f.has("p") || f.has("P"),
        };
        if (recursive) {
          this.io.out(`Uploading ${local}/ to ${remote}`);
          await sftp.putRecursive(local, remote, { ...options, ...this.#recursive("Uploading") });
        } else {
          this.io.out(`Uploading ${local} to ${remote}`);
          await sftp.put(local, remote, { ...options, ...this.#transfer(basename(local)) });
        }
        return;
      }
      case "mkdir":
        need(1, "mkdir path");
        await sftp.mkdir(this.remote(args[0]));
        return;
      case "rmdir":
        need(1, "rmdir path");
        await sftp.rmdir(this.remote(args[0]));
        return;
      case "rm":
        need(1, "rm path");
        for (const p of args) {
          this.io.out(`Removing ${this.remote(p)}`);
          await sftp.remove(this.remote(p));
        }
        return;
      case "rename":
        need(2, "rename oldpath newpath");
        await sftp.rename(this.remote(args[0]), this.remote(args[1]));
        return;
      case "ln":
      case "symlink": {
        const [f, rest] = flags(args, "s", cmd);
        if (rest.length < 2) throw new UsageError(`usage: ln [-s] oldpath newpath`);
        // A symlink's target is stored as given (relative targets stay relative).
        if (f.has("s") || cmd === "symlink") await sftp.symlink(rest[0], this.remote(rest[1]));
        else await sftp.link(this.remote(rest[0]), this.remote(rest[1]));
        return;
      }
      case "chmod": {
        need(2, "chmod mode path");
        if (!/^[0-7]{1,4}$/.test(args[0])) throw new UsageError(`chmod: bad mode "${args[0]}"`);
        for (const p of args.slice(1)) {
          this.io.out(`Changing mode on ${this.remote(p)}`);
          await sftp.chmod(this.remote(p), parseInt(args[0], 8));
        }
        return;
      }
      case "df": {
        const [f, rest] = flags(args, "hi", "df");
        const v = await sftp.statvfs(this.remote(rest[0] ?? "."));
        const kb = (blocks: number) => (blocks * v.frsize) / 1024;
        const size = kb(v.blocks);
        const used = kb(v.blocks - v.bfree);
        const avail = kb(v.bavail);
        const root = kb(v.bfree - v.bavail);
        const cap = size > 0 ? Math.round((100 * used) / size) : 0;
        if (f.has("h")) {
          const { formatBytes } = await import("./_progress.ts");
          const h = (k: number) => formatBytes(k * 1024).padStart(9);
          this.io.out(`     Size      Used     Avail    (Root)    %Capacity`);
          this.io.out(
            `${h(size)} ${h(used)} ${h(avail)} ${h(root)}    ${String(cap).padStart(8)}%`,
          );
        } else {
          const n = (k: number) => String(Math.round(k)).padStart(12);
          this.io.out(`        Size         Used        Avail       (Root)    %Capacity`);
          this.io.out(
            `${n(size)} ${n(used)} ${n(avail)} ${n(root)}    ${String(cap).padStart(8)}%`,
          );
        }
        return;
      }
      case "progress":
        this.io.progress = !this.io.progress;
        this.io.out(`Progress meter ${this.io.progress ? "enabled" : "disabled"}`);
        return;
    }
    throw new UsageError(`invalid command "${cmd}" (try help)`);
  }
}

async function* lines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  let buffered = "";
  for await (const text of stream.pipeThrough(new TextDecoderStream())) {
    buffered += text;
    let nl: number;
    while ((nl = buffered.indexOf("\n")) >= 0) {
      yield buffered.slice(0, nl).replace(/\r$/, "");
      buffered = buffered.slice(nl + 1);
    }
    if (buffered.length > 1 << 20) throw new UsageError("command line longer than 1 MiB");
  }
  if (buffered) yield buffered;
}

/**
 * Runs batch commands: echoes each as `sftp> line`, stops at the first error unless the line
 * starts with `-`. Returns the exit status (0, or 1 after an error).
 */
export async function runBatch(shell: SftpShell, input: AsyncIterable<string>): Promise<number> {
  for await (const raw of input) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    const tolerant = line.startsWith("-");
    const command = tolerant ? line.slice(1) : line;
    shell.io.out(`sftp> ${command}`);
    try {
      await shell.run(command);
    } catch (e) {
      shell.io.err(`${(e as Error).message}`);
      if (!tolerant) return 1;
    }
    if (shell.done) break;
  }
  return 0;
}

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    args: Deno.args,
    options: {
      ...NIC_FLAG_OPTIONS,
      port: { type: "string", short: "P" },
      identity: { type: "string", short: "i", multiple: true },
      batch: { type: "string", short: "b" },
      "known-hosts": { type: "string" },
      "accept-new": { type: "boolean" },
      v: { type: "boolean", short: "v" },
      help: { type: "boolean", short: "h" },
    },
    allowPositionals: true,
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError("give one [user@]host[:port] (see --help)");
  const target = parseTarget(positionals[0], {
    allowPort: true,
    port: values.port ? Number(values.port) : undefined,
  });
  const log = values.v ? (l: string) => console.error(l) : undefined;
  const connector = await openConnector(values, log);
  try {
    const client = await sshLogin(() => connector.connect(target.host, target.port), target, {
      identities: values.identity,
      knownHosts: values["known-hosts"],
      acceptNew: values["accept-new"],
      log,
    }).catch((e) => {
      throw new Error(`cannot log in to ${target.host}:${target.port}: ${(e as Error).message}`);
    });
    if (log) describeConnection(client, log);
    try {
      const sftp = await client.sftp();
      console.log(`Connected to ${target.host}.`);
      const interactive = values.batch === undefined && Deno.stdin.isTerminal();
      const shell = await SftpShell.start(sftp, {
        out: (l) => console.log(l),
        err: (l) => console.error(l),
        progress: values.batch === undefined && Deno.stdout.isTerminal(),
      });
      if (values.batch !== undefined) {
        const input = values.batch === "-"
          ? Deno.stdin.readable
          : (await Deno.open(values.batch, { read: true })).readable;
        return await runBatch(shell, lines(input));
      }
      const encoder = new TextEncoder();
      const prompt = () => {
        if (interactive) Deno.stdout.writeSync(encoder.encode("sftp> "));
      };
      prompt();
      for await (const line of lines(Deno.stdin.readable)) {
        try {
          await shell.run(line);
        } catch (e) {
          console.error((e as Error).message);
        }
        if (shell.done) break;
        prompt();
      }
      await sftp.close();
      return 0;
    } finally {
      await client.close().catch(() => {});
    }
  } finally {
    await connector.close();
  }
}

if (import.meta.main) runMain(main);
