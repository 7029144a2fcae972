/**
 * The SSH client: `connect()` runs the transport, authenticates (RFC 4252) and opens
 * channels (RFC 4254) for exec, shell, subsystems and direct-tcpip forwarding.
 *
 * @module
 */

import type { Conn } from "../net/conn.ts";
import { SshReader, SshWriter } from "./_wire.ts";
import {
  type AlgorithmPreferences,
  type NegotiatedAlgorithms,
  type RekeyLimits,
  type ServerHostKey,
  Transport,
} from "./transport.ts";
import {
  type ChannelHost,
  CMSG,
  DEFAULT_MAX_PACKET,
  DEFAULT_WINDOW,
  type ExitStatus,
  SshChannel,
} from "./channel.ts";
import { KnownHosts, type KnownHostsResult } from "./known_hosts.ts";
import type { SshPrivateKey } from "./private_key.ts";
import { openSftp, type SftpClient, type SftpOptions } from "./sftp/client.ts";
import {
  type AuthAttempt,
  AuthenticationFailed,
  ChannelOpenFailed,
  ConnectionLost,
  HostKeyMismatch,
  HostKeyRejected,
  HostKeyRevoked,
  HostKeyUnknown,
  ProtocolError,
  SessionClosed,
  SshError,
} from "./errors.ts";

/** Authentication message numbers (RFC 4250 §4.1.2). */
const AMSG = {
  USERAUTH_REQUEST: 50,
  USERAUTH_FAILURE: 51,
  USERAUTH_SUCCESS: 52,
  USERAUTH_BANNER: 53,
  USERAUTH_INFO_REQUEST: 60, // also PK_OK and PASSWD_CHANGEREQ, by method
  USERAUTH_INFO_RESPONSE: 61,
} as const;

/** A keyboard-interactive challenge (RFC 4256 §3.2). */
export interface KeyboardInteractiveChallenge {
  /** Title of the challenge (may be empty). */
  name: string;
  /** Text to show before the prompts (may be empty). */
  instruction: string;
  /** Prompts to answer in order; `echo` says whether the answer may be shown. */
  prompts: Array<{ prompt: string; echo: boolean }>;
}

/** Credentials to try, in OpenSSH's order: publickey, keyboard-interactive, password. */
export interface AuthOptions {
  /** One or more private keys (see `SshPrivateKey.parse`). */
  privateKey?: SshPrivateKey | SshPrivateKey[];
  /** Password for `password`, and for single-prompt keyboard-interactive if no handler. */
  password?: string;
  /** Answers keyboard-interactive prompts. */
  keyboardInteractive?: (challenge: KeyboardInteractiveChallenge) => string[] | Promise<string[]>;
}

/** The host key and what known_hosts says about it, for a custom policy. */
export interface HostKeyCheck extends ServerHostKey {
  /** Host as given in the options. */
  host: string;
  /** Port as given in the options. */
  port: number;
  /** The known_hosts lookup, when `knownHosts` was given. */
  knownHosts?: KnownHostsResult;
}

/**
 * How to treat the server's host key:
 * - `"strict"` (default): only keys listed in known_hosts are accepted;
 * - `"accept-new"`: unknown hosts are accepted and added to known_hosts; changed keys refused;
 * - `"insecure-accept-any"`: anything is accepted (tests only);
 * - a function: return true to accept.
 */
export type HostKeyPolicy =
  | "strict"
  | "accept-new"
  | "insecure-accept-any"
  | ((key: HostKeyCheck) => boolean | Promise<boolean>);

/** Options of `connect`. */
export interface ConnectOptions {
  /** User to log in as. */
  username: string;
  /** Credentials to try. */
  auth: AuthOptions;
  /** Host name as known_hosts lists it (default `localhost`). */
  host?: string;
  /** Port, for `[host]:port` known_hosts entries (default 22). */
  port?: number;
  /** known_hosts: a parsed list, or a file path. */
  knownHosts?: KnownHosts | string;
  /** What to do with unknown host keys (default `"strict"`: refuse). */
  hostKeyPolicy?: HostKeyPolicy;
  /** Algorithm preference lists (each replaces the default list of its category). */
  algorithms?: AlgorithmPreferences;
  /** When the client starts a new key exchange by itself. */
  rekey?: RekeyLimits;
  /** Aborts the handshake, or closes an established client. */
  signal?: AbortSignal;
  /** Sends keepalive@openssh.com every `intervalMs`; gives up after `countMax` (default 3) unanswered. */
  keepalive?: { intervalMs: number; countMax?: number };
  /** Called with each authentication banner the server sends. */
  onBanner?: (message: string) => void;
}

/** Terminal settings for `shell` and `exec` with a pty (RFC 4254 §6.2). */
export interface PtyOptions {
  /** TERM value (default `xterm-256color`). */
  term?: string;
  /** Columns (default 80). */
  cols?: number;
  /** Rows (default 24). */
  rows?: number;
  /** Encoded terminal modes (RFC 4254 §8); default: none. */
  modes?: Uint8Array;
}

/** Options of `exec` and `shell`. */
export interface SessionOptions {
  /** Environment variables (the server accepts only those its AcceptEnv allows). */
  env?: Record<string, string>;
  /** Request a pseudo-terminal. */
  pty?: PtyOptions | boolean;
}

/** Collected output of a command. */
export interface CommandOutput extends ExitStatus {
  /** Everything the command wrote to stdout. */
  stdout: Uint8Array;
  /** Everything the command wrote to stderr. */
  stderr: Uint8Array;
}

/** Everything a verbose mode would print about the connection. */
export interface ConnectionInfo {
  /** The server's identification string. */
  serverVersion: string;
  /** Algorithms in use (from the latest key exchange). */
  algorithms: NegotiatedAlgorithms;
  /** The server's host key, with its `SHA256:` fingerprint. */
  hostKey: ServerHostKey;
  /** Whether strict KEX (Terrapin countermeasure) is in force. */
  strictKex: boolean;
  /** The server's `server-sig-algs` extension, if sent. */
  serverSigAlgs?: string[];
  /** Key exchanges completed after the first. */
  rekeyCount: number;
}

/**
 * A remote command or shell: `stdin`, `stdout`, `stderr` streams and its `exit` status.
 *
 * @example
 * ```ts ignore
 * const proc = await client.exec("uname -a");
 * const { stdout, code } = await proc.output();
 * ```
 */
export class SshProcess {
  /** Wraps a session channel on which exec or shell was started. */
  constructor(readonly channel: SshChannel) {}
  /** Input to the command; closing it sends EOF. */
  get stdin(): WritableStream<Uint8Array> {
    return this.channel.writable;
  }
  /** The command's standard output. */
  get stdout(): ReadableStream<Uint8Array> {
    return this.channel.readable;
  }
  /** The command's standard error. */
  get stderr(): ReadableStream<Uint8Array> {
    return this.channel.stderr;
  }
  /** Resolves with the exit code or signal. */
  get exit(): Promise<ExitStatus> {
    return this.channel.exit;
  }
  /** Sends a signal, e.g. `"TERM"` (OpenSSH servers honour it since 7.9). */
  signal(name: string): Promise<void> {
    return this.channel.signal(name);
  }
  /** Reports a new terminal size. */
  resize(cols: number, rows: number): Promise<void> {
    return this.channel.resize(cols, rows);
  }
  /** Closes the channel (the server hangs up the command). */
  close(): Promise<void> {
    return this.channel.close();
  }

  /**
   * Sends `stdin` (if any) then EOF, collects stdout and stderr (each at most `maxBytes`,
   * default 64 MiB) and waits for the exit status.
   */
  async output(
    options: { stdin?: Uint8Array | string; maxBytes?: number } = {},
  ): Promise<CommandOutput> {
    const max = options.maxBytes ?? 64 * 1024 * 1024;
    const writer = this.stdin.getWriter();
    const input = typeof options.stdin === "string"
      ? new TextEncoder().encode(options.stdin)
      : options.stdin;
    const sending = (async () => {
      if (input?.length) await writer.write(input);
      await writer.close();
    })().catch(() => {});
    const [stdout, stderr] = await Promise.all([
      collect(this.stdout, max),
      collect(this.stderr, max),
    ]);
    await sending;
    let status: ExitStatus;
    try {
      status = await this.exit;
    } finally {
      await this.channel.close().catch(() => {});
    }
    return { ...status, stdout, stderr };
  }
}

async function collect(stream: ReadableStream<Uint8Array>, max: number): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let n = 0;
  for await (const chunk of stream) {
    n += chunk.length;
    if (n > max) throw new SshError(`command output exceeds ${max} bytes`);
    parts.push(chunk);
  }
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/**
 * A `Conn`-shaped stream over a direct-tcpip channel, so TLS or HTTP can run through an
 * SSH tunnel.
 */
export class ChannelConn {
  #reader: ReadableStreamDefaultReader<Uint8Array>;
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #pending: Uint8Array | undefined;
  /** Wraps an open direct-tcpip channel. */
  constructor(readonly channel: SshChannel) {
    this.#reader = channel.readable.getReader();
    this.#writer = channel.writable.getWriter();
  }
  /** Reads up to `p.length` bytes; `null` at end of stream. */
  async read(p: Uint8Array): Promise<number | null> {
    let chunk = this.#pending;
    this.#pending = undefined;
    while (!chunk || chunk.length === 0) {
      const r = await this.#reader.read();
      if (r.done) return null;
      chunk = r.value;
    }
    const n = Math.min(p.length, chunk.length);
    p.set(chunk.subarray(0, n));
    if (n < chunk.length) this.#pending = chunk.subarray(n);
    return n;
  }
  /** Writes all of `p` (waits for window). */
  async write(p: Uint8Array): Promise<number> {
    // The write resolves once the data is copied into packets, so `p` may be reused after.
    await this.#writer.write(p);
    return p.length;
  }
  /** Sends EOF on the channel. */
  async closeWrite(): Promise<void> {
    await this.#writer.close();
  }
  /** Closes the channel. */
  close(): void {
    this.channel.close().catch(() => {});
  }
}

const MAX_CHANNELS = 1024;

/**
 * An authenticated SSH connection.
 *
 * @example
 * ```ts ignore
 * import { connect, KnownHosts } from "./mod.ts";
 * const conn = await Deno.connect({ hostname: "127.0.0.1", port: 22 });
 * const client = await connect(conn, {
 *   username: "me",
 *   host: "127.0.0.1",
 *   auth: { password: "secret" },
 *   knownHosts: await KnownHosts.load(`${Deno.env.get("HOME")}/.ssh/known_hosts`),
 * });
 * const { stdout } = await (await client.exec("echo hi")).output();
 * await client.close();
 * ```
 */
export class SshClient implements ChannelHost {
  #transport!: Transport;
  #authQueue: Uint8Array[] = [];
  #authWaiter: ((m: Uint8Array) => void) | undefined;
  #authenticated = false;
  #channels = new Map<number, SshChannel>();
  #pendingOpens = new Map<number, { channel: SshChannel; done: PromiseWithResolvers<void> }>();
  #nextId = 0;
  #globalReplies: Array<(ok: boolean) => void> = [];
  #closeError: Error | undefined;
  #keepaliveTimer: ReturnType<typeof setInterval> | undefined;
  #banners: string[] = [];

  /** @internal use `connect()` */
  constructor() {}

  /** @internal */
  _attach(t: Transport): void {
    this.#transport = t;
  }

  /** Authentication banners the server sent. */
  get banners(): readonly string[] {
    return this.#banners;
  }

  /** Negotiated algorithms, host key fingerprint and server version (for a verbose mode). */
  get info(): ConnectionInfo {
    const t = this.#transport;
    return {
      serverVersion: t.serverVersion,
      algorithms: t.algorithms,
      hostKey: t.hostKey,
      strictKex: t.strictKex,
      serverSigAlgs: t.serverSigAlgs,
      rekeyCount: t.rekeyCount,
    };
  }

  /** The underlying transport (rekey, counters). */
  get transport(): Transport {
    return this.#transport;
  }

  /** Resolves when the connection has closed. */
  get closed(): Promise<void> {
    return this.#transport.closed;
  }

  // ------------------------------------------------------------------ message routing

  /** @internal */
  _onMessage(payload: Uint8Array): void {
    const type = payload[0];
    if (type >= 50 && type < 80 || type === 6) {
      if (this.#authenticated && type !== AMSG.USERAUTH_BANNER) {
        throw new ProtocolError(`authentication message ${type} after authentication`);
      }
      if (this.#authQueue.length > 64) throw new ProtocolError("too many authentication messages");
      const w = this.#authWaiter;
      if (w) {
        this.#authWaiter = undefined;
        w(payload);
      } else this.#authQueue.push(payload);
      return;
    }
    if (!this.#authenticated) throw new ProtocolError(`message ${type} before authentication`);
    const r = new SshReader(payload, 1);
    switch (type) {
      case CMSG.GLOBAL_REQUEST: {
        r.text();
        if (r.boolean()) this.send(new Uint8Array([CMSG.REQUEST_FAILURE])).catch(() => {});
        return;
      }
      case CMSG.REQUEST_SUCCESS:
      case CMSG.REQUEST_FAILURE: {
        this.#globalReplies.shift()?.(type === CMSG.REQUEST_SUCCESS);
        return;
      }
      case CMSG.CHANNEL_OPEN: {
        // We accept no channels from the server (no agent, X11 or remote forwarding).
        r.text();
        const sender = r.uint32();
        this.send(
          new SshWriter().byte(CMSG.CHANNEL_OPEN_FAILURE).uint32(sender).uint32(1)
            .string("not accepted by this client").string("").bytes().slice(),
        ).catch(() => {});
        return;
      }
      case CMSG.CHANNEL_OPEN_CONFIRMATION: {
        const id = r.uint32();
        const pending = this.#pendingOpens.get(id);
        if (!pending) throw new ProtocolError(`open confirmation for unknown channel ${id}`);
        this.#pendingOpens.delete(id);
        pending.channel._confirm(r.uint32(), r.uint32(), r.uint32());
        this.#channels.set(id, pending.channel);
        pending.done.resolve();
        return;
      }
      case CMSG.CHANNEL_OPEN_FAILURE: {
        const id = r.uint32();
        const pending = this.#pendingOpens.get(id);
        if (!pending) throw new ProtocolError(`open failure for unknown channel ${id}`);
        this.#pendingOpens.delete(id);
        pending.done.reject(new ChannelOpenFailed(r.uint32(), r.text()));
        return;
      }
    }
    if (type >= CMSG.CHANNEL_WINDOW_ADJUST && type <= CMSG.CHANNEL_FAILURE) {
      const id = r.uint32();
      const channel = this.#channels.get(id);
      if (!channel) throw new ProtocolError(`message ${type} for unknown channel ${id}`);
      channel._onMessage(type, r);
      return;
    }
    this.send(new SshWriter(8).byte(3).uint32(0).bytes().slice()).catch(() => {});
  }

  /** @internal */
  _onClose(err?: Error): void {
    this.#closeError = err ?? new SessionClosed("the SSH connection is closed");
    if (this.#keepaliveTimer !== undefined) clearInterval(this.#keepaliveTimer);
    const w = this.#authWaiter;
    this.#authWaiter = undefined;
    if (w) w(new Uint8Array([0]));
    for (const c of this.#channels.values()) c._abort(this.#closeError);
    this.#channels.clear();
    for (const p of this.#pendingOpens.values()) {
      p.channel._abort(this.#closeError);
      p.done.reject(this.#closeError);
    }
    this.#pendingOpens.clear();
    for (const g of this.#globalReplies) g(false);
    this.#globalReplies = [];
  }

  /** @internal */
  send(payload: Uint8Array): Promise<void> {
    return this.#transport.send(payload);
  }

  /** @internal Sends `header || data` with one copy of `data` (see `Transport.sendData`). */
  sendData(header: Uint8Array, data: Uint8Array): Promise<void> | undefined {
    return this.#transport.sendData(header, data);
  }

  /** @internal */
  release(channel: SshChannel): void {
    this.#channels.delete(channel.localId);
  }

  #nextAuthMessage(): Promise<Uint8Array> {
    const m = this.#authQueue.shift();
    if (m) return Promise.resolve(m);
    if (this.#closeError) return Promise.reject(this.#closeError);
    return new Promise((resolve, reject) => {
      this.#authWaiter = (msg) => (msg[0] === 0 ? reject(this.#closeError) : resolve(msg));
    });
  }

  // ------------------------------------------------------------------ authentication

  /** @internal RFC 4252: tries none, publickey, keyboard-interactive, password. */
  async _authenticate(
    username: string,
    auth: AuthOptions,
    onBanner?: (m: string) => void,
  ): Promise<void> {
    await this.send(new SshWriter().byte(5).string("ssh-userauth").bytes().slice());
    const accept = await this.#nextAuthMessage();
    if (accept[0] !== 6) throw new ProtocolError(`expected SERVICE_ACCEPT, got ${accept[0]}`);

    const attempts: AuthAttempt[] = [];
    let methodsLeft: string[] = [];
    const request = (method: string, body?: (w: SshWriter) => void): Uint8Array => {
      const w = new SshWriter().byte(AMSG.USERAUTH_REQUEST).string(username).string(
        "ssh-connection",
      )
        .string(method);
      body?.(w);
      return w.bytes().slice();
    };
    /** Waits for SUCCESS or FAILURE, passing other messages (60..79) to `other`. */
    const outcome = async (
      method: string,
      detail?: string,
      other?: (m: Uint8Array) => Promise<void>,
    ): Promise<boolean> => {
      for (;;) {
        const m = await this.#nextAuthMessage();
        if (m[0] === AMSG.USERAUTH_BANNER) {
          const text = new SshReader(m, 1).text();
          if (this.#banners.length < 16) this.#banners.push(text);
          onBanner?.(text);
          continue;
        }
        if (m[0] === AMSG.USERAUTH_SUCCESS) {
          attempts.push({ method, detail, result: "success" });
          return true;
        }
        if (m[0] === AMSG.USERAUTH_FAILURE) {
          const r = new SshReader(m, 1);
          methodsLeft = r.nameList();
          const partial = r.boolean();
          attempts.push({ method, detail, result: partial ? "partial" : "refused" });
          return false;
        }
        if (m[0] >= 60 && m[0] < 80 && other) {
          await other(m);
          continue;
        }
        throw new ProtocolError(`unexpected authentication message ${m[0]}`);
      }
    };
    const done = () => {
      this.#authenticated = true;
    };

    await this.send(request("none"));
    if (await outcome("none")) return done();

    const keys = auth.privateKey
      ? (Array.isArray(auth.privateKey) ? auth.privateKey : [auth.privateKey])
      : [];
    for (const key of keys) {
      if (!methodsLeft.includes("publickey")) break;
      const sigAlgs = this.#transport.serverSigAlgs;
      const alg = key.signatureAlgorithms.find((a) => !sigAlgs || sigAlgs.includes(a)) ??
        key.signatureAlgorithms[0];
      const signed = new SshWriter().string(this.#transport.sessionId).raw(
        request("publickey", (w) => w.boolean(true).string(alg).string(key.publicKey)),
      ).bytes();
      const signature = await key.sign(signed, alg);
      await this.send(
        request(
          "publickey",
          (w) => w.boolean(true).string(alg).string(key.publicKey).string(signature),
        ),
      );
      if (await outcome("publickey", `${alg} ${key.fingerprint}`)) return done();
    }

    const kbd = auth.keyboardInteractive ??
      (auth.password !== undefined
        ? (c: KeyboardInteractiveChallenge) =>
          c.prompts.length === 0
            ? []
            : c.prompts.length === 1 && !c.prompts[0].echo
            ? [auth.password!]
            : null
        : undefined);
    if (kbd && methodsLeft.includes("keyboard-interactive")) {
      await this.send(request("keyboard-interactive", (w) => w.string("").string("")));
      let gaveUp = false;
      const ok = await outcome("keyboard-interactive", undefined, async (m) => {
        const r = new SshReader(m, 1);
        const challenge: KeyboardInteractiveChallenge = {
          name: r.text(),
          instruction: r.text(),
          prompts: [],
        };
        r.text();
        const n = r.uint32();
        if (n > 64) throw new ProtocolError("too many keyboard-interactive prompts");
        for (let i = 0; i < n; i++) challenge.prompts.push({ prompt: r.text(), echo: r.boolean() });
        let answers = gaveUp ? null : await kbd(challenge);
        if (!answers || answers.length !== n) {
          gaveUp = true;
          answers = challenge.prompts.map(() => "");
        }
        const w = new SshWriter().byte(AMSG.USERAUTH_INFO_RESPONSE).uint32(answers.length);
        for (const a of answers) w.string(a);
        await this.send(w.bytes().slice());
      });
      if (ok) return done();
    }

    if (auth.password !== undefined && methodsLeft.includes("password")) {
      await this.send(request("password", (w) => w.boolean(false).string(auth.password!)));
      const ok = await outcome("password", undefined, (m) => {
        if (m[0] === 60) {
          // SSH_MSG_USERAUTH_PASSWD_CHANGEREQ: we do not change passwords; report it.
          attempts.push({
            method: "password",
            detail: "password change required",
            result: "refused",
          });
          return Promise.reject(
            new AuthenticationFailed(
              "the server requires a password change",
              methodsLeft,
              attempts,
            ),
          );
        }
        return Promise.resolve();
      });
      if (ok) return done();
    }

    const tried = attempts.filter((a) => a.method !== "none");
    const what = tried.length
      ? `authentication refused (${
        tried.map((a) => `${a.method}${a.detail ? " " + a.detail : ""}: ${a.result}`).join("; ")
      })`
      : "none of the configured credentials fits the methods the server allows";
    throw new AuthenticationFailed(what, methodsLeft, attempts);
  }

  // ------------------------------------------------------------------ channels

  async #open(type: string, extra?: (w: SshWriter) => void): Promise<SshChannel> {
    if (this.#closeError) throw this.#closeError;
    if (this.#channels.size + this.#pendingOpens.size >= MAX_CHANNELS) {
      throw new SshError(`too many open channels (${MAX_CHANNELS})`);
    }
    let id = this.#nextId;
    while (this.#channels.has(id) || this.#pendingOpens.has(id)) id = (id + 1) >>> 0;
    this.#nextId = (id + 1) >>> 0;
    const channel = new SshChannel(this, id, type, DEFAULT_WINDOW, DEFAULT_MAX_PACKET);
    const done = Promise.withResolvers<void>();
    this.#pendingOpens.set(id, { channel, done });
    const w = new SshWriter().byte(CMSG.CHANNEL_OPEN).string(type).uint32(id).uint32(DEFAULT_WINDOW)
      .uint32(DEFAULT_MAX_PACKET);
    extra?.(w);
    await this.send(w.bytes().slice());
    await done.promise;
    return channel;
  }

  async #session(opts: SessionOptions): Promise<SshChannel> {
    const channel = await this.#open("session");
    try {
      for (const [k, v] of Object.entries(opts.env ?? {})) {
        await channel.request("env", false, (w) => w.string(k).string(v));
      }
      if (opts.pty) {
        const p = opts.pty === true ? {} : opts.pty;
        await channel.request(
          "pty-req",
          true,
          (w) =>
            w.string(p.term ?? "xterm-256color").uint32(p.cols ?? 80).uint32(p.rows ?? 24).uint32(0)
              .uint32(0).string(p.modes ?? new Uint8Array([0])),
        );
      }
    } catch (e) {
      await channel.close().catch(() => {});
      throw e;
    }
    return channel;
  }

  /**
   * Runs a command (RFC 4254 §6.5). Read `stdout`/`stderr`, write `stdin`, await `exit`, or
   * call `output()` to collect everything.
   */
  async exec(command: string, opts: SessionOptions = {}): Promise<SshProcess> {
    const channel = await this.#session(opts);
    try {
      await channel.request("exec", true, (w) => w.string(command));
    } catch (e) {
      await channel.close().catch(() => {});
      throw e;
    }
    return new SshProcess(channel);
  }

  /** Runs a command and collects its output (a shortcut for `exec(...).output()`). */
  async run(
    command: string,
    opts: SessionOptions & { stdin?: Uint8Array | string } = {},
  ): Promise<CommandOutput> {
    return (await this.exec(command, opts)).output({ stdin: opts.stdin });
  }

  /** Starts an interactive shell, with a pty unless `pty: false`. */
  async shell(opts: SessionOptions = { pty: true }): Promise<SshProcess> {
    const channel = await this.#session({ ...opts, pty: opts.pty ?? true });
    try {
      await channel.request("shell", true);
    } catch (e) {
      await channel.close().catch(() => {});
      throw e;
    }
    return new SshProcess(channel);
  }

  /** Starts a subsystem (e.g. `"sftp"`) and returns its channel: a plain byte stream. */
  async subsystem(name: string): Promise<SshChannel> {
    const channel = await this.#open("session");
    try {
      await channel.request("subsystem", true, (w) => w.string(name));
    } catch (e) {
      await channel.close().catch(() => {});
      throw e;
    }
    return channel;
  }

  /**
   * Starts SFTP (the `sftp` subsystem on a new channel) and returns its client: `list`,
   * `stat`, `get`, `put`, `mkdir`, `remove`, `rename`, `readFile`, `writeFile`, streams and
   * the recursive copies. Closing it closes only its channel.
   *
   * @example
   * ```ts ignore
   * const sftp = await client.sftp();
   * await sftp.put("report.pdf", "/srv/report.pdf", { preserve: true });
   * console.log(await sftp.list("/srv"));
   * await sftp.close();
   * ```
   */
  sftp(options: SftpOptions = {}): Promise<SftpClient> {
    return openSftp(this, options);
  }

  /**
   * Opens a direct-tcpip channel (local port forwarding, RFC 4254 §7.2): the server connects
   * to `dstHost:dstPort`. Returns a `Conn`-shaped stream.
   */
  async forwardOut(
    srcHost: string,
    srcPort: number,
    dstHost: string,
    dstPort: number,
  ): Promise<ChannelConn> {
    const channel = await this.#open(
      "direct-tcpip",
      (w) => w.string(dstHost).uint32(dstPort).string(srcHost).uint32(srcPort),
    );
    return new ChannelConn(channel);
  }

  /** Sends a global request; resolves with whether the server answered SUCCESS. */
  globalRequest(name: string, body?: (w: SshWriter) => void): Promise<boolean> {
    if (this.#closeError) return Promise.reject(this.#closeError);
    const w = new SshWriter().byte(CMSG.GLOBAL_REQUEST).string(name).boolean(true);
    body?.(w);
    return new Promise((resolve, reject) => {
      this.#globalReplies.push(resolve);
      this.send(w.bytes().slice()).catch(reject);
    });
  }

  /** @internal */
  _startKeepalive(intervalMs: number, countMax: number): void {
    let missed = 0;
    this.#keepaliveTimer = setInterval(() => {
      if (missed >= countMax) {
        this.#transport.abort(new ConnectionLost(`no answer to ${countMax} keepalives`));
        return;
      }
      missed++;
      this.globalRequest("keepalive@openssh.com").then(() => (missed = 0), () => {});
    }, intervalMs);
  }

  /** Closes all channels and the connection (sends DISCONNECT). */
  async close(): Promise<void> {
    if (this.#keepaliveTimer !== undefined) clearInterval(this.#keepaliveTimer);
    await this.#transport.close();
  }
}

async function verifyWithPolicy(
  key: ServerHostKey,
  opts: ConnectOptions,
  knownHosts?: KnownHosts,
): Promise<void> {
  const host = opts.host ?? "localhost";
  const port = opts.port ?? 22;
  const policy = opts.hostKeyPolicy ?? "strict";
  const description = {
    host: port === 22 ? host : `[${host}]:${port}`,
    keyType: key.type,
    fingerprint: key.fingerprint,
  };
  if (policy === "insecure-accept-any") return;
  const lookup = knownHosts?.lookup(host, port, key.blob);
  if (lookup?.status === "revoked") throw new HostKeyRevoked(description);
  if (typeof policy === "function") {
    if (await policy({ ...key, host, port, knownHosts: lookup })) return;
    throw new HostKeyRejected(description);
  }
  if (!lookup) throw new HostKeyUnknown(description, "no known_hosts given");
  if (lookup.status === "match") return;
  if (lookup.status === "mismatch") {
    throw new HostKeyMismatch(description, KnownHosts.fingerprints(lookup.expected));
  }
  if (policy === "accept-new") {
    await knownHosts!.add(host, port, key.blob);
    return;
  }
  throw new HostKeyUnknown(
    description,
    lookup.otherTypes.length
      ? `known_hosts lists other key types: ${lookup.otherTypes.join(", ")}`
      : "",
  );
}

/**
 * Opens an SSH session over `conn`: key exchange, host key verification and user
 * authentication. Refuses unknown or changed host keys unless `hostKeyPolicy` says otherwise.
 *
 * @example
 * ```ts ignore
 * import { connect, KnownHosts, SshPrivateKey } from "./mod.ts";
 * const client = await connect(await Deno.connect({ hostname: "127.0.0.1", port: 2222 }), {
 *   username: "me",
 *   host: "127.0.0.1",
 *   port: 2222,
 *   knownHosts: "/home/me/.ssh/known_hosts",
 *   auth: { privateKey: SshPrivateKey.parse(await Deno.readTextFile("/home/me/.ssh/id_ed25519")) },
 * });
 * console.log(client.info.hostKey.fingerprint);
 * ```
 */
export async function connect(conn: Conn, options: ConnectOptions): Promise<SshClient> {
  const knownHosts = typeof options.knownHosts === "string"
    ? await KnownHosts.load(options.knownHosts)
    : options.knownHosts;
  const client = new SshClient();
  const transport = new Transport(conn, {
    algorithms: options.algorithms,
    rekey: options.rekey,
    preferredHostKeyTypes: knownHosts?.keyTypesFor(options.host ?? "localhost", options.port ?? 22),
    verifyHostKey: (key) => verifyWithPolicy(key, options, knownHosts),
    onMessage: (m) => client._onMessage(m),
    onClose: (e) => client._onClose(e),
  });
  client._attach(transport);
  const signal = options.signal;
  const onAbort = () =>
    transport.abort(
      signal!.reason instanceof Error ? signal!.reason : new SessionClosed("aborted"),
    );
  if (signal?.aborted) {
    conn.close();
    throw signal.reason;
  }
  signal?.addEventListener("abort", onAbort, { once: true });
  try {
    await transport.start();
    await client._authenticate(options.username, options.auth, options.onBanner);
  } catch (e) {
    transport.abort(e instanceof Error ? e : new SshError(String(e)));
    signal?.removeEventListener("abort", onAbort);
    throw e;
  }
  if (options.keepalive) {
    client._startKeepalive(options.keepalive.intervalMs, options.keepalive.countMax ?? 3);
  }
  transport.closed.then(() => signal?.removeEventListener("abort", onAbort));
  return client;
}
