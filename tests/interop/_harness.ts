/**
 * Shared helpers for interop tests against real peers (Linux, OpenSSL, OpenSSH, QEMU, ...).
 *
 * A test declares what it needs (programs, root). When something is missing the test is
 * ignored with a one-line reason, except under `CI=true`, where it fails: CI must never
 * pass by skipping its peers.
 *
 * @module
 */

/** What an interop test needs from the machine. */
export interface PeerNeeds {
  /** Programs that must be on PATH (or absolute paths). */
  programs?: string[];
  /** Whether the test needs root (namespaces, TAP devices). */
  root?: boolean;
  /** Files or devices that must exist. */
  files?: string[];
}

const ci = Deno.env.get("CI") === "true";

function which(program: string): boolean {
  if (program.startsWith("/")) {
    try {
      Deno.statSync(program);
      return true;
    } catch {
      return false;
    }
  }
  for (
    const dir of (Deno.env.get("PATH") ?? "/usr/bin:/bin").split(":").concat(["/usr/sbin", "/sbin"])
  ) {
    try {
      Deno.statSync(`${dir}/${program}`);
      return true;
    } catch { /* keep looking */ }
  }
  return false;
}

/** Returns why the needs cannot be met on this machine, or `undefined` when they can. */
export function missingPeers(needs: PeerNeeds): string | undefined {
  if (needs.root && Deno.uid() !== 0) return "needs root (network namespaces / TAP devices)";
  const missing = (needs.programs ?? []).filter((p) => !which(p));
  if (missing.length) {
    return `missing programs: ${
      missing.join(", ")
    } (run \`deno task test\` as root to install them)`;
  }
  const absent = (needs.files ?? []).filter((f) => {
    try {
      Deno.statSync(f);
      return false;
    } catch {
      return true;
    }
  });
  if (absent.length) return `missing files: ${absent.join(", ")}`;
  return undefined;
}

/**
 * Registers an interop test. Its name should say who the peer is, e.g.
 * `"linux_tap: usernet pings Linux"`.
 */
export function interopTest(
  name: string,
  needs: PeerNeeds,
  fn: (t: Deno.TestContext) => Promise<void>,
  options: { timeoutMs?: number } = {},
): void {
  const why = missingPeers(needs);
  if (why && !ci) {
    console.error(`interop test "${name}" did not run: ${why}`);
    Deno.test({ name, ignore: true, fn: () => {} });
    return;
  }
  Deno.test({
    name,
    sanitizeOps: false,
    sanitizeResources: false,
    fn: async (t) => {
      if (why) throw new Error(`interop test "${name}" cannot run under CI=true: ${why}`);
      const timeoutMs = options.timeoutMs ?? 120_000;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`interop test "${name}" timed out after ${timeoutMs} ms`)),
          timeoutMs,
        );
      });
      try {
        await Promise.race([fn(t), deadline]);
      } finally {
        clearTimeout(timer);
      }
    },
  });
}

/** Runs a command to completion; throws with its output when it fails. */
export async function run(
  cmd: string,
  args: string[],
  opts: { allowFail?: boolean } = {},
): Promise<string> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  if (!out.success && !opts.allowFail) {
    throw new Error(`${cmd} ${args.join(" ")} failed (exit ${out.code}):\n${text}`);
  }
  return text;
}

/** A background peer process whose output is kept for failure reports. */
export class Peer {
  readonly #child: Deno.ChildProcess;
  #log = "";
  readonly #done: Promise<Deno.CommandStatus>;
  #listeners: Array<() => void> = [];

  constructor(readonly name: string, cmd: string, args: string[], env?: Record<string, string>) {
    this.#child = new Deno.Command(cmd, {
      args,
      env,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#pump(this.#child.stdout);
    this.#pump(this.#child.stderr);
    this.#done = this.#child.status;
  }

  async #pump(stream: ReadableStream<Uint8Array>) {
    const decoder = new TextDecoder();
    try {
      for await (const chunk of stream) {
        this.#log += decoder.decode(chunk, { stream: true });
        for (const l of this.#listeners) l();
      }
    } catch { /* process gone */ }
  }

  /** Everything the peer printed so far. */
  get log(): string {
    return this.#log;
  }

  /** The process's exit status, once it exits. */
  get status(): Promise<Deno.CommandStatus> {
    return this.#done;
  }

  /** Waits until the peer's output matches `pattern`. */
  waitForOutput(pattern: RegExp | string, timeoutMs = 30_000): Promise<void> {
    const matches = () =>
      typeof pattern === "string" ? this.#log.includes(pattern) : pattern.test(this.#log);
    if (matches()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#listeners = this.#listeners.filter((l) => l !== check);
        reject(
          new Error(
            `${this.name} did not print ${pattern} within ${timeoutMs} ms; log:\n${this.#log}`,
          ),
        );
      }, timeoutMs);
      const check = () => {
        if (matches()) {
          clearTimeout(timer);
          this.#listeners = this.#listeners.filter((l) => l !== check);
          resolve();
        }
      };
      this.#listeners.push(check);
    });
  }

  /** Stops the peer (SIGTERM, then SIGKILL) and waits for it. */
  async stop(): Promise<void> {
    try {
      this.#child.kill("SIGTERM");
    } catch { /* already gone */ }
    const timer = setTimeout(() => {
      try {
        this.#child.kill("SIGKILL");
      } catch { /* already gone */ }
    }, 3000);
    await this.#done;
    clearTimeout(timer);
  }
}

/** Polls `predicate` until it is true or the deadline passes (an event wait, not a fixed sleep). */
export async function waitFor(
  what: string,
  predicate: () => boolean | Promise<boolean>,
  timeoutMs = 30_000,
  intervalMs = 20,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** A free TCP port on 127.0.0.1 (bound and released). */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** A temporary directory removed by the returned cleanup function. */
export async function tempDir(
  prefix: string,
): Promise<{ path: string; cleanup: () => Promise<void> }> {
  const path = await Deno.makeTempDir({ prefix: `usernet-${prefix}-` });
  return { path, cleanup: () => Deno.remove(path, { recursive: true }).catch(() => {}) };
}

/**
 * `deno run`, the permission flags and the script of deno.json's task `name`, as a user runs it
 * (`--config` and the script made absolute): for tests that must run a tool with exactly the
 * permissions its task asks for.
 *
 * @example
 * ```ts ignore
 * const child = new Deno.Command(Deno.execPath(), { args: [...await taskRunArgs("ping"), "10.0.2.2"] });
 * ```
 */
export async function taskRunArgs(name: string): Promise<string[]> {
  const root = new URL("../../", import.meta.url).pathname;
  const config = JSON.parse(await Deno.readTextFile(`${root}deno.json`));
  const task = String(config.tasks[name]);
  const words = task.split(/\s+/);
  if (words[0] !== "deno" || words[1] !== "run" || !words.at(-1)!.endsWith(".ts")) {
    throw new Error(`the ${name} task is not "deno run ... script.ts": ${task}`);
  }
  return ["run", ...words.slice(2, -1), `--config=${root}deno.json`, `${root}${words.at(-1)}`];
}
