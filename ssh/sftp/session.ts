/**
 * The SFTP protocol engine (draft-ietf-secsh-filexfer-02): frames packets over a byte
 * stream, matches replies to requests by id (in any order), and bounds what it holds.
 *
 * @module
 */

import { SshReader, SshWriter } from "../_wire.ts";
import { DEFAULT_CHUNK, EXT, FX, FXP } from "./_protocol.ts";
import { BadMessage, SftpConnectionLost, SftpError, statusError } from "./errors.ts";

/** The byte stream SFTP runs on: an `SshChannel`, or any pair of streams (tests). */
export interface SftpStream {
  /** Bytes from the server, in chunks of any size. */
  readonly readable: ReadableStream<Uint8Array>;
  /** Bytes to the server; a write must copy or own the chunk before resolving. */
  readonly writable: WritableStream<Uint8Array>;
  /** Closes the stream (both ways). */
  close?(): Promise<void>;
}

/** Options of `SftpSession.open`. */
export interface SftpSessionOptions {
  /** Largest packet accepted from the server, in bytes (default 4 MiB). */
  maxPacketLength?: number;
  /** Most requests awaiting a reply at once; further requests wait (default 1024). */
  maxOutstanding?: number;
  /**
   * Send SYMLINK's arguments as OpenSSH does (target first), against the draft's order.
   * `openSftp` sets it from the server's version string as asyncssh does.
   */
  openSshSymlinkOrder?: boolean;
}

/** Limits from limits@openssh.com, or defaults when the server has none. */
export interface SftpLimits {
  /** Largest packet the server accepts. */
  maxPacketLength: number;
  /** Largest read the server answers in full. */
  maxReadLength: number;
  /** Largest write the server accepts. */
  maxWriteLength: number;
  /** Most handles the server keeps open (0: unknown). */
  maxOpenHandles: number;
}

/** A reply: its type and a reader positioned after the request id. */
export interface SftpReply {
  /** Packet type (STATUS, HANDLE, DATA, NAME, ATTRS, EXTENDED_REPLY). */
  type: number;
  /** The reply's fields after the id. */
  reader: SshReader;
  /** The whole packet (type byte first), for zero-copy DATA. */
  packet: Uint8Array;
}

interface Pending {
  resolve(reply: SftpReply): void;
  reject(error: Error): void;
}

/**
 * One SFTP session over a byte stream.
 *
 * @example
 * ```ts ignore
 * const session = await SftpSession.open(await client.subsystem("sftp"));
 * const reply = await session.request(FXP.REALPATH, (w) => w.string("."));
 * ```
 */
export class SftpSession {
  /** Protocol version the server answered (3 for every server we speak to). */
  version = 0;
  /** Extensions the server announced in SSH_FXP_VERSION, by name. */
  readonly extensions: Map<string, string> = new Map();
  /** Limits in force (from limits@openssh.com when offered). */
  limits: SftpLimits = {
    maxPacketLength: 34000,
    maxReadLength: DEFAULT_CHUNK,
    maxWriteLength: DEFAULT_CHUNK,
    maxOpenHandles: 0,
  };
  /** Whether SYMLINK sends the target first (OpenSSH's order). */
  openSshSymlinkOrder: boolean;

  readonly #stream: SftpStream;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  readonly #maxPacket: number;
  readonly #maxOutstanding: number;
  readonly #pending = new Map<number, Pending>();
  readonly #slotWaiters: Array<() => void> = [];
  #nextId = 1;
  #error: Error | undefined;
  #version = Promise.withResolvers<SshReader>();
  readonly #done: Promise<void>;

  private constructor(stream: SftpStream, options: SftpSessionOptions) {
    this.#stream = stream;
    this.#writer = stream.writable.getWriter();
    this.#writer.closed.catch(() => {});
    this.#reader = stream.readable.getReader();
    this.#maxPacket = options.maxPacketLength ?? 4 * 1024 * 1024;
    this.#maxOutstanding = options.maxOutstanding ?? 1024;
    this.openSshSymlinkOrder = options.openSshSymlinkOrder ?? true;
    this.#version.promise.catch(() => {});
    this.#done = this.#readLoop();
  }

  /**
   * Starts SFTP on `stream`: sends SSH_FXP_INIT (version 3), reads VERSION and its
   * extensions, then asks limits@openssh.com when offered.
   */
  static async open(stream: SftpStream, options: SftpSessionOptions = {}): Promise<SftpSession> {
    const s = new SftpSession(stream, options);
    try {
      await s.#send(new SshWriter(16).uint32(5).byte(FXP.INIT).uint32(3).bytes().slice());
      const r = await s.#version.promise;
      s.version = r.uint32();
      if (s.version < 3) throw new BadMessage(`the server speaks SFTP version ${s.version}, not 3`);
      let n = 0;
      while (r.remaining > 0 && n++ < 256) s.extensions.set(r.text(), r.text());
      if (s.extensions.get(EXT.LIMITS) === "1") {
        const reply = await s.extended(EXT.LIMITS, () => {}, "limits");
        const r2 = reply.reader;
        const num = (v: bigint) => (v > 0x7fffffffn ? 0x7fffffff : Number(v));
        const limits = {
          maxPacketLength: num(r2.uint64()),
          maxReadLength: num(r2.uint64()),
          maxWriteLength: num(r2.uint64()),
          maxOpenHandles: num(r2.uint64()),
        };
        // Zero means "no limit"; we still cap our own requests (§ OpenSSH PROTOCOL 4.8).
        s.limits = {
          maxPacketLength: limits.maxPacketLength || 256 * 1024,
          maxReadLength: Math.min(limits.maxReadLength || 261120, 1024 * 1024),
          maxWriteLength: Math.min(limits.maxWriteLength || 261120, 1024 * 1024),
          maxOpenHandles: limits.maxOpenHandles,
        };
      }
    } catch (e) {
      await s.close().catch(() => {});
      throw e;
    }
    return s;
  }

  /** Whether the server announced extension `name` (e.g. `statvfs@openssh.com`). */
  hasExtension(name: string): boolean {
    return this.extensions.has(name);
  }

  /** Requests awaiting a reply. */
  get outstanding(): number {
    return this.#pending.size;
  }

  /** Resolves when the session has ended (stream closed or failed). */
  get done(): Promise<void> {
    return this.#done;
  }

  /** Why the session ended, once it has. */
  get error(): Error | undefined {
    return this.#error;
  }

  // ------------------------------------------------------------------ receiving

  async #readLoop(): Promise<void> {
    const reader = this.#reader;
    // Reassembly: `head` collects a 4-byte length split across chunks; `body` one packet.
    const head = new Uint8Array(4);
    let headLen = 0;
    let body: Uint8Array | undefined;
    let bodyLen = 0;
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        let chunk = value;
        while (chunk.length > 0) {
          if (body === undefined) {
            if (headLen === 0 && chunk.length >= 4) {
              const len = ((chunk[0] << 24) | (chunk[1] << 16) | (chunk[2] << 8) | chunk[3]) >>> 0;
              this.#checkLength(len);
              if (chunk.length >= 4 + len) {
                // Whole packet inside one chunk: no copy.
                this.#dispatch(chunk.subarray(4, 4 + len));
                chunk = chunk.subarray(4 + len);
                continue;
              }
              body = new Uint8Array(len);
              bodyLen = 0;
              chunk = chunk.subarray(4);
              continue;
            }
            const take = Math.min(4 - headLen, chunk.length);
            head.set(chunk.subarray(0, take), headLen);
            headLen += take;
            chunk = chunk.subarray(take);
            if (headLen < 4) continue;
            headLen = 0;
            const len = ((head[0] << 24) | (head[1] << 16) | (head[2] << 8) | head[3]) >>> 0;
            this.#checkLength(len);
            body = new Uint8Array(len);
            bodyLen = 0;
            continue;
          }
          const take = Math.min(body.length - bodyLen, chunk.length);
          body.set(chunk.subarray(0, take), bodyLen);
          bodyLen += take;
          chunk = chunk.subarray(take);
          if (bodyLen === body.length) {
            const packet = body;
            body = undefined;
            this.#dispatch(packet);
          }
        }
      }
      this.#fail(
        new SftpConnectionLost(
          body || headLen
            ? "the SFTP channel ended in the middle of a packet"
            : "the SFTP channel closed",
          FX.CONNECTION_LOST,
        ),
      );
    } catch (e) {
      const err = e instanceof SftpError ? e : new SftpConnectionLost(
        `the SFTP channel failed: ${(e as Error).message}`,
        FX.CONNECTION_LOST,
        undefined,
        undefined,
        { cause: e },
      );
      this.#fail(err);
      reader.cancel(err).catch(() => {});
    } finally {
      reader.releaseLock();
    }
  }

  #checkLength(len: number): void {
    if (len < 1 || len > this.#maxPacket) {
      throw new BadMessage(
        `the server sent a ${len}-byte SFTP packet (limit ${this.#maxPacket})`,
        FX.BAD_MESSAGE,
      );
    }
  }

  #dispatch(packet: Uint8Array): void {
    const type = packet[0];
    const reader = new SshReader(packet, 1);
    if (type === FXP.VERSION) {
      if (this.version !== 0) throw new BadMessage("a second SSH_FXP_VERSION", FX.BAD_MESSAGE);
      this.#version.resolve(reader);
      return;
    }
    if (packet.length < 5) throw new BadMessage(`a ${packet.length}-byte reply`, FX.BAD_MESSAGE);
    const id = reader.uint32();
    const p = this.#pending.get(id);
    if (!p) throw new BadMessage(`a reply (type ${type}) to unknown request ${id}`, FX.BAD_MESSAGE);
    this.#pending.delete(id);
    this.#slotWaiters.shift()?.();
    p.resolve({ type, reader, packet });
  }

  #fail(error: Error): void {
    if (this.#error) return;
    this.#error = error;
    this.#version.reject(error);
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    const lost = pending.length
      ? new SftpConnectionLost(
        `${error.message} (${pending.length} request${pending.length === 1 ? "" : "s"} unanswered)`,
        error instanceof SftpError ? error.code : FX.CONNECTION_LOST,
        undefined,
        undefined,
        { cause: error },
      )
      : error;
    for (const p of pending) p.reject(lost);
    for (const w of this.#slotWaiters.splice(0)) w();
    this.#writer.abort(error).catch(() => {});
  }

  // ------------------------------------------------------------------ sending

  #send(packet: Uint8Array): Promise<void> {
    return this.#writer.write(packet);
  }

  /**
   * Sends a request of `type` whose fields after the id `build` writes, and resolves with
   * the reply (of any type: see `expectStatus`, `expectHandle`, ...).
   */
  async request(type: number, build: (w: SshWriter) => void): Promise<SftpReply> {
    const w = new SshWriter(128).uint32(0).byte(type).uint32(0);
    build(w);
    const packet = w.bytes();
    return await this.requestPacket(packet);
  }

  /**
   * Sends a request already laid out as `uint32 length, byte type, uint32 id, ...` (length and
   * id are filled in here): lets WRITE carry its data without another copy. The buffer must
   * not change until the returned promise settles.
   */
  async requestPacket(packet: Uint8Array): Promise<SftpReply> {
    while (this.#pending.size >= this.#maxOutstanding && !this.#error) {
      await new Promise<void>((r) => this.#slotWaiters.push(r));
    }
    if (this.#error) throw this.#lostError();
    const view = new DataView(packet.buffer, packet.byteOffset, packet.byteLength);
    view.setUint32(0, packet.length - 4);
    let id = this.#nextId;
    while (this.#pending.has(id)) id = (id + 1) >>> 0;
    this.#nextId = (id + 1) >>> 0;
    view.setUint32(5, id);
    const reply = new Promise<SftpReply>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
    });
    this.#send(packet).catch((e) => this.#fail(e instanceof Error ? e : new Error(String(e))));
    return await reply;
  }

  #lostError(): SftpError {
    const e = this.#error!;
    return e instanceof SftpError
      ? e
      : new SftpConnectionLost(e.message, FX.CONNECTION_LOST, undefined, undefined, { cause: e });
  }

  /** Sends an SSH_FXP_EXTENDED request `name` (§8) with fields from `build`. */
  async extended(
    name: string,
    build: (w: SshWriter) => void,
    what: string,
    path?: string,
  ): Promise<SftpReply> {
    const reply = await this.request(FXP.EXTENDED, (w) => {
      w.string(name);
      build(w);
    });
    if (reply.type === FXP.STATUS) this.#throwStatus(reply, what, path, true);
    if (reply.type !== FXP.EXTENDED_REPLY) throw unexpected(reply, what, path);
    return reply;
  }

  #throwStatus(reply: SftpReply, what: string, path: string | undefined, okIsError: boolean): void {
    const code = reply.reader.uint32();
    const message = reply.reader.remaining >= 4 ? reply.reader.text() : "";
    if (code === FX.OK && !okIsError) return;
    throw statusError(code, message, what, path);
  }

  /** Resolves if `reply` is STATUS OK; throws the typed error otherwise. */
  expectStatus(reply: SftpReply, what: string, path?: string): void {
    if (reply.type !== FXP.STATUS) throw unexpected(reply, what, path);
    this.#throwStatus(reply, what, path, false);
  }

  /** The handle of a HANDLE reply; throws the typed error for a STATUS. */
  expectHandle(reply: SftpReply, what: string, path?: string): Uint8Array {
    if (reply.type === FXP.STATUS) this.#throwStatus(reply, what, path, true);
    if (reply.type !== FXP.HANDLE) throw unexpected(reply, what, path);
    const handle = reply.reader.string().slice();
    if (handle.length > 256) {
      throw new BadMessage(`${what} ${path}: a ${handle.length}-byte handle`, FX.BAD_MESSAGE, path);
    }
    return handle;
  }

  /** The reader of a reply of `type`; throws the typed error for a STATUS. */
  expect(reply: SftpReply, type: number, what: string, path?: string): SshReader {
    if (reply.type === FXP.STATUS) this.#throwStatus(reply, what, path, true);
    if (reply.type !== type) throw unexpected(reply, what, path);
    return reply.reader;
  }

  /** Closes the stream; outstanding requests fail with `SftpConnectionLost`. */
  async close(): Promise<void> {
    this.#fail(new SftpConnectionLost("the SFTP session was closed", FX.CONNECTION_LOST));
    await this.#stream.close?.().catch(() => {});
    this.#reader.cancel().catch(() => {});
    await this.#done;
  }
}

function unexpected(reply: SftpReply, what: string, path?: string): BadMessage {
  return new BadMessage(
    `${what}${path !== undefined ? " " + path : ""}: unexpected reply type ${reply.type}`,
    FX.BAD_MESSAGE,
    path,
  );
}
