/**
 * `deno task fetch URL [-o FILE] [-I] [-v] [--cacert FILE] [-k] [-X METHOD] [-d DATA]
 * [-H 'Name: value'] [NIC flags]`: a small curl through usernet. HTTP/1.1, and HTTPS with
 * usernet's TLS 1.3 client verified against the system trust store (or `--cacert`). With no NIC
 * flag the stack sits behind the embedded gateway to the host's network (no root needed).
 *
 * `-v` prints a timeline to stderr: the stack's DHCP lease, ARP, DNS and TCP handshakes as they
 * cross its NIC, the TLS handshake and certificate, the request and response heads and the end
 * of the body, each line with milliseconds since the start. Failures end with one line on
 * stderr (`error: ...`) and exit status 1; usage errors exit with 2.
 *
 * @module
 */
import { parseArgs } from "node:util";
import {
  hasNicFlags,
  NIC_FLAG_OPTIONS,
  NIC_FLAGS_HELP,
  type NicFlags,
  openStack,
  runMain,
  UsageError,
} from "./_nic_flags.ts";
import { FetchTimeline } from "./_fetch_timeline.ts";
import { formatProgress, ProgressBar } from "./_progress.ts";
import { createFetch } from "../http/fetch.ts";
import type { ResponseHeadersEvent } from "../http/events.ts";
import { HttpError, TlsFailed } from "../http/errors.ts";
import { CertificateError } from "../tls/x509/errors.ts";
import type { Nic } from "../drivers/nic.ts";
import type { Stack } from "../net/stack.ts";

const HELP = `usage: deno task fetch URL [options] [NIC-FLAGS]
Fetch URL (http or https) through a usernet stack and write the body to stdout.
  -o, --output FILE        write the body to FILE (with a progress bar on a terminal)
  -I, --head               send HEAD and print the response head
  -i, --include            print the response head before the body
  -v, --verbose            print a timeline to stderr: DHCP, ARP, DNS, TCP, TLS, HTTP
  -X, --request METHOD     request method (default GET, POST with -d)
  -d, --data DATA          request body (@FILE reads a file); Content-Type defaults to
                           application/x-www-form-urlencoded
  -H, --header 'N: v'      add a request header (repeatable)
  --cacert FILE            trust the CA certificates in FILE (PEM) instead of the system's
  -k, --insecure           do not verify the server's certificate
  -f, --fail               exit with status 1 when the server answers 400 or more
  -s, --silent             no progress bar
  -m, --max-time SECONDS   give up after this long (default: no limit)
  --connect-timeout SECONDS  bound on TCP and TLS set-up (default 30)
Redirects are followed, as fetch() does. Bodies in gzip or deflate are decoded.
Without NIC flags the request goes through usernet behind an embedded gateway to the host's
network (10.0.2.2 is the host's 127.0.0.1).
${NIC_FLAGS_HELP}`;

/** What the command line asks for. */
export interface FetchCommand {
  /** The URL. */
  url: URL;
  /** Request method. */
  method: string;
  /** Request headers. */
  headers: Headers;
  /** Request body. */
  body?: Uint8Array<ArrayBuffer>;
  /** Body destination: a file, or stdout when undefined. */
  output?: string;
  /** Print the response head (`-I`: instead of the body; `-i`: before it). */
  head: "none" | "only" | "include";
  /** Print the timeline. */
  verbose: boolean;
  /** CA certificates (PEM) to trust instead of the system's. */
  caCerts?: string;
  /** Skip certificate verification. */
  insecure: boolean;
  /** Status >= 400 is a failure. */
  fail: boolean;
  /** No progress bar. */
  silent: boolean;
  /** Overall time limit. */
  maxTimeMs?: number;
  /** Connect (TCP + TLS) time limit. */
  connectTimeoutMs?: number;
  /** NIC flags. */
  nic: NicFlags;
}

function seconds(text: string | undefined, flag: string): number | undefined {
  if (text === undefined) return undefined;
  const s = Number(text);
  if (!(s > 0)) throw new UsageError(`${flag} needs a positive number of seconds`);
  return s * 1000;
}

/**
 * Parses the command line (file arguments are read here: `--cacert`, `-d @FILE`).
 *
 * @example
 * ```ts ignore
 * const command = await parseFetchArgs(["https://example.com/", "-v", "-o", "page.html"]);
 * ```
 */
export async function parseFetchArgs(args: string[]): Promise<FetchCommand> {
  const parse = () =>
    parseArgs({
      args,
      allowPositionals: true,
      options: {
        ...NIC_FLAG_OPTIONS,
        output: { type: "string", short: "o" },
        head: { type: "boolean", short: "I" },
        include: { type: "boolean", short: "i" },
        verbose: { type: "boolean", short: "v" },
        request: { type: "string", short: "X" },
        data: { type: "string", short: "d" },
        header: { type: "string", short: "H", multiple: true },
        cacert: { type: "string" },
        insecure: { type: "boolean", short: "k" },
        fail: { type: "boolean", short: "f" },
        silent: { type: "boolean", short: "s" },
        "max-time": { type: "string", short: "m" },
        "connect-timeout": { type: "string" },
      },
    });
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse();
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (positionals.length !== 1) throw new UsageError("give one URL (see --help)");
  let url: URL;
  try {
    url = new URL(positionals[0]);
  } catch {
    throw new UsageError(`"${positionals[0]}" is not a URL like https://example.com/`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new UsageError(`${url.protocol} URLs are not supported: use http or https`);
  }
  const headers = new Headers();
  for (const h of values.header ?? []) {
    const colon = h.indexOf(":");
    if (colon <= 0) throw new UsageError(`header "${h}" is not 'Name: value'`);
    try {
      headers.append(h.slice(0, colon).trim(), h.slice(colon + 1).trim());
    } catch {
      throw new UsageError(`header "${h}" is not a valid header field`);
    }
  }
  let body: Uint8Array<ArrayBuffer> | undefined;
  if (values.data !== undefined) {
    body = values.data.startsWith("@")
      ? await Deno.readFile(values.data.slice(1))
      : new TextEncoder().encode(values.data);
    if (!headers.has("content-type")) {
      headers.set("content-type", "application/x-www-form-urlencoded");
    }
  }
  if (values.head && values.include) throw new UsageError("choose -I or -i, not both");
  const method = values.request?.toUpperCase() ??
    (values.head ? "HEAD" : body ? "POST" : "GET");
  if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(method)) {
    throw new UsageError(`"${method}" is not an HTTP method`);
  }
  if (body && (method === "GET" || method === "HEAD")) {
    throw new UsageError(`a ${method} request cannot have a body (-d)`);
  }
  return {
    url,
    method,
    headers,
    body,
    output: values.output === "-" ? undefined : values.output,
    head: values.head ? "only" : values.include ? "include" : "none",
    verbose: values.verbose ?? false,
    caCerts: values.cacert === undefined ? undefined : await Deno.readTextFile(values.cacert),
    insecure: values.insecure ?? false,
    fail: values.fail ?? false,
    silent: values.silent ?? false,
    maxTimeMs: seconds(values["max-time"], "--max-time"),
    connectTimeoutMs: seconds(values["connect-timeout"], "--connect-timeout"),
    nic: values,
  };
}

/** A stack opened for one fetch, and how to release it. */
export interface FetchStackHandle {
  /** The stack. */
  stack: Stack;
  /** Closes the stack (and its embedded gateway). */
  close(): Promise<void>;
}

/**
 * Brings a stack up as `openStack` (cli/_nic_flags.ts) does, with the timeline's NIC tracer
 * between the stack and its NIC so that DHCP and ARP show up from the first frame.
 *
 * @example
 * ```ts ignore
 * const { stack, close } = await openFetchStack({}, new FetchTimeline());
 * ```
 */
export async function openFetchStack(
  flags: NicFlags,
  timeline?: FetchTimeline,
): Promise<FetchStackHandle> {
  const log = (line: string) => timeline?.note(line);
  const stack = await openStack(flags, log, {
    wrapNic: timeline ? (nic: Nic) => timeline.wrapNic(nic) : undefined,
  });
  const v4 = stack.ipv4;
  const where = hasNicFlags(flags) ? ` on ${stack.nic.name}` : " behind the embedded gateway";
  log(`usernet ${v4?.address}/${v4?.prefixLength}${where} (MAC ${stack.mac}) is up`);
  return { stack, close: () => stack.close() };
}

/**
 * The one line a failed fetch ends with: the error, its cause where that is the real reason
 * (a certificate problem, a refused connection), and no stack trace.
 *
 * @example
 * ```ts ignore
 * console.error(`error: ${describeFailure(error, url)}`);
 * ```
 */
export function describeFailure(error: unknown, url: URL, maxTimeMs?: number): string {
  const e = error as Error;
  const cause = (e as { cause?: unknown }).cause as Error | undefined;
  if (e instanceof TlsFailed && cause instanceof CertificateError) {
    return `certificate for ${url.hostname} is not valid: ${cause.name}: ${cause.message}`;
  }
  if (e?.name === "TimeoutError" && maxTimeMs !== undefined) {
    return `no complete response within ${maxTimeMs / 1000} s (--max-time)`;
  }
  if (e instanceof HttpError && cause instanceof Error) {
    return `${e.name}: ${e.message} (${cause.name})`;
  }
  return e instanceof Error ? `${e.name}: ${e.message}` : String(error);
}

/** Where the command writes. */
export interface FetchIo {
  /** Writes body (and head) bytes. */
  stdout: (bytes: Uint8Array) => Promise<void>;
  /** Writes one line of diagnostics. */
  stderr: (line: string) => void;
  /** Writes progress text (no newline). */
  progress: (text: string) => void;
  /** Whether stderr is a terminal (live progress bar, colours). */
  terminal: boolean;
}

async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  let done = 0;
  while (done < bytes.length) done += await file.write(bytes.subarray(done));
}

/**
 * Runs one fetch as the command says; resolves with the exit status (0 success, 1 failure).
 *
 * @example
 * ```ts ignore
 * const status = await runFetch(await parseFetchArgs(["http://10.0.2.2:8080/"]), io);
 * ```
 */
export async function runFetch(command: FetchCommand, io: FetchIo): Promise<number> {
  const timeline = command.verbose
    ? new FetchTimeline({
      write: io.stderr,
      color: io.terminal && !Deno.noColor,
    })
    : undefined;
  const handle = await openFetchStack(command.nic, timeline);
  let lastHead: ResponseHeadersEvent | undefined;
  const fetch = createFetch({
    stack: handle.stack,
    caCerts: command.caCerts,
    insecureSkipVerify: command.insecure || undefined,
    connectTimeoutMs: command.connectTimeoutMs,
    onEvent: (event) => {
      if (event.type === "response-headers" && event.status >= 200) lastHead = event;
      timeline?.onHttpEvent(event);
    },
  });
  const signal = command.maxTimeMs === undefined
    ? undefined
    : AbortSignal.timeout(command.maxTimeMs);
  let file: Deno.FsFile | undefined;
  try {
    const response = await fetch(command.url, {
      method: command.method,
      headers: command.headers,
      body: command.body,
      signal,
    });
    if (command.head !== "none") {
      const head = lastHead;
      const lines = head
        ? [
          `HTTP/${head.version} ${head.status} ${head.statusText}`,
          ...head.headers.map(([n, v]) => `${n}: ${v}`),
        ]
        : [`HTTP/1.1 ${response.status} ${response.statusText}`];
      await io.stdout(new TextEncoder().encode(lines.join("\r\n") + "\r\n\r\n"));
    }
    if (command.fail && response.status >= 400) {
      await response.body?.cancel();
      io.stderr(
        `error: ${command.url.href} answered ${response.status} ${response.statusText} (--fail)`,
      );
      return 1;
    }
    if (command.head === "only" || !response.body) {
      await response.body?.cancel();
      return 0;
    }
    const encoded = response.headers.has("content-encoding");
    const lengthText = response.headers.get("content-length");
    const total = lengthText && !encoded ? Number(lengthText) : undefined;
    let bar: ProgressBar | undefined;
    const started = performance.now();
    let received = 0;
    const label = command.output?.split("/").pop() ?? "";
    if (command.output !== undefined) {
      file = await Deno.open(command.output, { write: true, create: true, truncate: true });
      if (!command.silent && io.terminal) {
        bar = new ProgressBar(label, total, { write: io.progress });
      }
    }
    for await (const chunk of response.body) {
      if (file) await writeAll(file, chunk);
      else await io.stdout(chunk);
      received += chunk.length;
      bar?.update(received);
    }
    if (bar) {
      bar.finish(received);
    } else if (file && !command.silent) {
      const elapsed = (performance.now() - started) / 1000;
      io.stderr(
        formatProgress({
          label,
          done: received,
          total,
          rate: elapsed > 0 ? received / elapsed : 0,
          elapsed,
          finished: true,
        }, 80).trimEnd(),
      );
    }
    return 0;
  } catch (error) {
    io.stderr(`error: ${describeFailure(error, command.url, command.maxTimeMs)}`);
    return 1;
  } finally {
    file?.close();
    fetch.close();
    await handle.close();
  }
}

if (import.meta.main) {
  runMain(async () => {
    if (Deno.args.includes("--help") || Deno.args.includes("-h")) {
      console.log(HELP);
      return 0;
    }
    const command = await parseFetchArgs(Deno.args);
    const encoder = new TextEncoder();
    return await runFetch(command, {
      stdout: async (bytes) => {
        let done = 0;
        while (done < bytes.length) done += await Deno.stdout.write(bytes.subarray(done));
      },
      stderr: (line) => Deno.stderr.writeSync(encoder.encode(line + "\n")),
      progress: (text) => Deno.stderr.writeSync(encoder.encode(text)),
      terminal: Deno.stderr.isTerminal(),
    });
  });
}
