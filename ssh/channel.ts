/**
 * SSH channels (RFC 4254 §5): a flow-controlled, back-pressured byte stream in each
 * direction, plus the extended-data (stderr) stream and channel requests.
 *
 * @module
 */

import { concat, type SshReader, SshWriter } from "./_wire.ts";
import { ChannelRequestFailed, ProtocolError, SessionClosed } from "./errors.ts";

/** Connection-protocol message numbers (RFC 4250 §4.1.2). */
export const CMSG = {
  GLOBAL_REQUEST: 80,
  REQUEST_SUCCESS: 81,
  REQUEST_FAILURE: 82,
  CHANNEL_OPEN: 90,
  CHANNEL_OPEN_CONFIRMATION: 91,
  CHANNEL_OPEN_FAILURE: 92,
  CHANNEL_WINDOW_ADJUST: 93,
  CHANNEL_DATA: 94,
  CHANNEL_EXTENDED_DATA: 95,
  CHANNEL_EOF: 96,
  CHANNEL_CLOSE: 97,
  CHANNEL_REQUEST: 98,
  CHANNEL_SUCCESS: 99,
  CHANNEL_FAILURE: 100,
} as const;

/** Receive window we grant per channel (bytes). */
export const DEFAULT_WINDOW = 4 * 1024 * 1024;
/**
 * Largest data packet we accept per channel message (bytes of data). 32 KiB as OpenSSH's
 * own client: sshd compares a packet's byte length with its RekeyLimit in blocks, so larger
 * packets make it rekey after every packet when RekeyLimit is small.
 */
export const DEFAULT_MAX_PACKET = 32 * 1024;

/** How a remote command ended: an exit code, or a signal (RFC 4254 §6.10). */
export interface ExitStatus {
  /** Exit code, or `null` if the command was killed by a signal. */
  code: number | null;
  /** Signal name without "SIG" (e.g. `TERM`), or `null`. */
  signal: string | null;
  /** Whether the signal left a core dump. */
  coreDumped?: boolean;
  /** The server's message about the signal. */
  errorMessage?: string;
}

/** What a channel needs from the connection it lives on. */
export interface ChannelHost {
  /** Sends a connection-protocol message (back-pressured). */
  send(payload: Uint8Array): Promise<void>;
  /**
   * Optional fast path for data: sends the message `header || data`, copying `data` once;
   * returns `undefined` when the caller need not wait, else a promise as `send` does.
   */
  sendData?(header: Uint8Array, data: Uint8Array): Promise<void> | undefined;
  /** Forgets a channel that is closed both ways. */
  release(channel: SshChannel): void;
}

/**
 * One open SSH channel: `readable` (data from the server), `stderr` (extended data type 1),
 * `writable` (data to the server; closing it sends EOF), and channel requests.
 *
 * The readable side grants the server more window only as the consumer reads, so a slow
 * reader slows the sender instead of growing memory. The writable side waits for window from
 * the server, so `await writer.write(chunk)` is back-pressured end to end.
 *
 * @example
 * ```ts ignore
 * const channel = await client.subsystem("sftp");
 * const writer = channel.writable.getWriter();
 * await writer.write(new Uint8Array([0, 0, 0, 5, 1, 0, 0, 0, 3]));
 * const { value } = await channel.readable.getReader().read();
 * await channel.close();
 * ```
 */
export class SshChannel {
  /** Data from the server. */
  readonly readable: ReadableStream<Uint8Array>;
  /** Extended data (stderr) from the server. */
  readonly stderr: ReadableStream<Uint8Array>;
  /** Data to the server; `close()` sends EOF, `abort()` closes the channel. */
  readonly writable: WritableStream<Uint8Array>;

  /** The server's number for this channel (-1 until confirmed). */
  remoteId: number = -1;
  /** Bytes we may still send before the server grants more. */
  #remoteWindow = 0;
  #remoteMaxPacket = 0;
  /** Bytes the server may still send before we grant more. */
  #localWindow: number;
  readonly #windowMax: number;

  #out!: ReadableStreamDefaultController<Uint8Array>;
  #err!: ReadableStreamDefaultController<Uint8Array>;
  #outOpen = true;
  #errOpen = true;
  #windowWaiter: (() => void) | undefined;
  #pendingReplies: Array<{ request: string; done: PromiseWithResolvers<void> }> = [];
  #eofSent = false;
  #closeSent = false;
  #closeReceived = false;
  #exit = Promise.withResolvers<ExitStatus>();
  #exitStatus: ExitStatus | undefined;
  readonly #closed = Promise.withResolvers<void>();
  #error: Error | undefined;

  /** Channels are created by `SshClient`; this is not called directly. */
  constructor(
    readonly host: ChannelHost,
    readonly localId: number,
    readonly type: string,
    windowSize = DEFAULT_WINDOW,
    readonly maxPacket = DEFAULT_MAX_PACKET,
  ) {
    this.#localWindow = windowSize;
    this.#windowMax = windowSize;
    this.#exit.promise.catch(() => {});
    const strategy = { highWaterMark: windowSize / 2, size: (c: Uint8Array) => c.length };
    this.readable = new ReadableStream<Uint8Array>({
      start: (c) => {
        this.#out = c;
      },
      pull: () => this.#grantWindow(),
      cancel: () => {
        this.#outOpen = false;
        this.#grantWindow();
      },
    }, strategy);
    this.stderr = new ReadableStream<Uint8Array>({
      start: (c) => {
        this.#err = c;
      },
      pull: () => this.#grantWindow(),
      cancel: () => {
        this.#errOpen = false;
        this.#grantWindow();
      },
    }, strategy);
    this.writable = new WritableStream<Uint8Array>({
      write: (chunk) => this.#write(chunk),
      close: () => this.eof(),
      abort: () => this.close(),
    });
  }

  /** Resolves when the channel is closed in both directions. */
  get closed(): Promise<void> {
    return this.#closed.promise;
  }

  /** Resolves with the command's exit status once the server reports it. */
  get exit(): Promise<ExitStatus> {
    return this.#exit.promise;
  }

  /** Bytes the server may still send us (for tests and diagnostics). */
  get localWindow(): number {
    return this.#localWindow;
  }

  /** The largest data chunk sent per packet. */
  get remoteMaxPacket(): number {
    return this.#remoteMaxPacket;
  }

  // ------------------------------------------------------------------ from the connection

  /** @internal The server confirmed the open. */
  _confirm(remoteId: number, window: number, maxPacket: number): void {
    this.remoteId = remoteId;
    this.#remoteWindow = window;
    // Leave room for message headers in the transport packet.
    this.#remoteMaxPacket = Math.max(1024, Math.min(maxPacket, 128 * 1024));
  }

  /** @internal */
  _onMessage(type: number, r: SshReader): void {
    switch (type) {
      case CMSG.CHANNEL_WINDOW_ADJUST: {
        const add = r.uint32();
        this.#remoteWindow = Math.min(this.#remoteWindow + add, 0xffffffff);
        const w = this.#windowWaiter;
        this.#windowWaiter = undefined;
        w?.();
        return;
      }
      case CMSG.CHANNEL_DATA:
        return this.#onData(r.string(), 0);
      case CMSG.CHANNEL_EXTENDED_DATA: {
        const code = r.uint32();
        const data = r.string();
        return this.#onData(data, code === 1 ? 1 : -1);
      }
      case CMSG.CHANNEL_EOF:
        this.#endReadables();
        return;
      case CMSG.CHANNEL_CLOSE:
        this.#closeReceived = true;
        this.#endReadables();
        if (!this.#closeSent) this.#sendClose();
        this.#finish();
        return;
      case CMSG.CHANNEL_REQUEST:
        return this.#onRequest(r);
      case CMSG.CHANNEL_SUCCESS:
      case CMSG.CHANNEL_FAILURE: {
        const p = this.#pendingReplies.shift();
        if (!p) throw new ProtocolError("channel reply without a request");
        if (type === CMSG.CHANNEL_SUCCESS) p.done.resolve();
        else p.done.reject(new ChannelRequestFailed(p.request));
        return;
      }
    }
    throw new ProtocolError(`unexpected channel message ${type}`);
  }

  /** Hands data to the right stream; `stream` is 0 (data), 1 (stderr) or -1 (other). */
  #onData(data: Uint8Array, stream: number): void {
    if (data.length > this.#localWindow) {
      throw new ProtocolError(
        `server sent ${data.length} bytes on channel ${this.localId} with only ${this.#localWindow} of window`,
      );
    }
    if (data.length > this.maxPacket) {
      throw new ProtocolError(
        `server sent a ${data.length}-byte data packet (max ${this.maxPacket})`,
      );
    }
    this.#localWindow -= data.length;
    if (stream === 1) {
      if (this.#errOpen) this.#err.enqueue(data);
    } else if (stream === 0) {
      if (this.#outOpen) this.#out.enqueue(data);
    }
    this.#grantWindow();
  }

  #queued(): number {
    const q = (c: ReadableStreamDefaultController<Uint8Array>, open: boolean) =>
      open ? Math.max(0, this.#windowMax / 2 - (c.desiredSize ?? this.#windowMax / 2)) : 0;
    return q(this.#out, this.#outOpen) + q(this.#err, this.#errOpen);
  }

  /** Grants more window once the reader has consumed a quarter of it (RFC 4254 §5.2). */
  #grantWindow(): void {
    if (this.#closeSent || this.#closeReceived || this.remoteId < 0) return;
    const free = this.#windowMax - this.#localWindow - this.#queued();
    if (free >= this.#windowMax / 4) {
      this.#localWindow += free;
      this.host.send(
        new SshWriter(16).byte(CMSG.CHANNEL_WINDOW_ADJUST).uint32(this.remoteId).uint32(free)
          .bytes().slice(),
      ).catch(() => {});
    }
  }

  #onRequest(r: SshReader): void {
    const name = r.text();
    const wantReply = r.boolean();
    if (name === "exit-status") {
      this.#exitStatus = { code: r.uint32(), signal: null };
      this.#exit.resolve(this.#exitStatus);
    } else if (name === "exit-signal") {
      const signal = r.text();
      const coreDumped = r.boolean();
      const errorMessage = r.text();
      this.#exitStatus = { code: null, signal, coreDumped, errorMessage };
      this.#exit.resolve(this.#exitStatus);
    }
    if (wantReply) {
      this.host.send(
        new SshWriter(16).byte(CMSG.CHANNEL_FAILURE).uint32(this.remoteId).bytes().slice(),
      )
        .catch(() => {});
    }
  }

  #endReadables(): void {
    if (this.#outOpen) {
      this.#outOpen = false;
      try {
        this.#out.close();
      } catch { /* already closed */ }
    }
    if (this.#errOpen) {
      this.#errOpen = false;
      try {
        this.#err.close();
      } catch { /* already closed */ }
    }
  }

  /** @internal The connection died: fail everything still waiting. */
  _abort(err: Error): void {
    this.#error = err;
    if (this.#outOpen) {
      this.#outOpen = false;
      try {
        this.#out.error(err);
      } catch { /* ignore */ }
    }
    if (this.#errOpen) {
      this.#errOpen = false;
      try {
        this.#err.error(err);
      } catch { /* ignore */ }
    }
    for (const p of this.#pendingReplies) p.done.reject(err);
    this.#pendingReplies = [];
    this.#exit.reject(err);
    const w = this.#windowWaiter;
    this.#windowWaiter = undefined;
    w?.();
    this.#closeReceived = true;
    this.#closeSent = true;
    this.#closed.resolve();
  }

  #finish(): void {
    if (!(this.#closeSent && this.#closeReceived)) return;
    this.#endReadables();
    if (!this.#exitStatus) {
      this.#exit.reject(new SessionClosed("channel closed without an exit status"));
    }
    const w = this.#windowWaiter;
    this.#windowWaiter = undefined;
    w?.();
    for (const p of this.#pendingReplies) p.done.reject(new SessionClosed("channel closed"));
    this.#pendingReplies = [];
    this.host.release(this);
    this.#closed.resolve();
  }

  // ------------------------------------------------------------------ to the server

  async #write(chunk: Uint8Array): Promise<void> {
    let off = 0;
    while (off < chunk.length) {
      if (this.#error) throw this.#error;
      if (this.#eofSent || this.#closeSent) {
        throw new SessionClosed("channel is closed for writing");
      }
      if (this.#remoteWindow === 0) {
        await new Promise<void>((resolve) => (this.#windowWaiter = resolve));
        continue;
      }
      const n = Math.min(chunk.length - off, this.#remoteWindow, this.#remoteMaxPacket);
      const data = chunk.subarray(off, off + n);
      this.#remoteWindow -= n;
      off += n;
      const header = new Uint8Array(9);
      const view = new DataView(header.buffer);
      header[0] = CMSG.CHANNEL_DATA;
      view.setUint32(1, this.remoteId);
      view.setUint32(5, n);
      if (this.host.sendData) {
        // The data is copied once, straight into the packet; no await while the transport
        // has room, so a whole chunk's packets are queued before the transport writes.
        const wait = this.host.sendData(header, data);
        if (wait) await wait;
      } else {
        await this.host.send(concat(header, data));
      }
    }
  }

  /**
   * Sends a channel request (RFC 4254 §5.4); with `wantReply`, resolves on SUCCESS and
   * throws `ChannelRequestFailed` on FAILURE.
   */
  request(name: string, wantReply: boolean, body?: (w: SshWriter) => void): Promise<void> {
    if (this.#closeSent || this.#closeReceived) {
      return Promise.reject(this.#error ?? new SessionClosed("channel is closed"));
    }
    const w = new SshWriter(64).byte(CMSG.CHANNEL_REQUEST).uint32(this.remoteId).string(name)
      .boolean(wantReply);
    body?.(w);
    const sent = this.host.send(w.bytes().slice());
    if (!wantReply) return sent;
    const done = Promise.withResolvers<void>();
    this.#pendingReplies.push({ request: name, done });
    return sent.then(() => done.promise);
  }

  /** Sends EOF: no more data from us (RFC 4254 §5.3). */
  async eof(): Promise<void> {
    if (this.#eofSent || this.#closeSent) return;
    this.#eofSent = true;
    await this.host.send(
      new SshWriter(8).byte(CMSG.CHANNEL_EOF).uint32(this.remoteId).bytes().slice(),
    );
  }

  /** Sends a signal to the remote process (RFC 4254 §6.9), e.g. `"TERM"`. */
  signal(name: string): Promise<void> {
    return this.request("signal", false, (w) => w.string(name.replace(/^SIG/, "")));
  }

  /** Tells the server the terminal size changed (RFC 4254 §6.7). */
  resize(cols: number, rows: number, widthPx = 0, heightPx = 0): Promise<void> {
    return this.request(
      "window-change",
      false,
      (w) => w.uint32(cols).uint32(rows).uint32(widthPx).uint32(heightPx),
    );
  }

  #sendClose(): void {
    if (this.#closeSent) return;
    this.#closeSent = true;
    this.host.send(new SshWriter(8).byte(CMSG.CHANNEL_CLOSE).uint32(this.remoteId).bytes().slice())
      .catch(() => {});
  }

  /** Closes the channel and waits for the server's CLOSE. */
  async close(): Promise<void> {
    if (this.remoteId >= 0) this.#sendClose();
    this.#finish();
    await this.#closed.promise;
  }
}
