/**
 * The SSH transport layer (RFC 4253) on top of any `Conn`: version exchange, algorithm
 * negotiation, key exchange with strict-KEX (kex-strict-c-v00@openssh.com), rekeying by bytes
 * and time, packet protection, and ordered, back-pressured packet writing.
 *
 * @module
 */

import type { Conn } from "../net/conn.ts";
import { concat, fromUtf8, SshReader, SshWriter, utf8 } from "./_wire.ts";
import {
  CIPHERS,
  createOpener,
  createSealer,
  type DirectionKeys,
  MACS,
  MAX_PACKET_LENGTH,
  NoneOpener,
  NoneSealer,
  type PacketOpener,
  type PacketSealer,
} from "./_cipher.ts";
import { createKeyExchange, deriveKey, KEX_ALGORITHMS, type KeyExchange } from "./kex.ts";
import { fingerprint, parsePublicKey, SIGNATURE_ALGORITHMS, verifySignature } from "./host_key.ts";
import {
  ConnectionLost,
  DisconnectError,
  HostKeyMismatch,
  KeyExchangeFailed,
  NoCommonAlgorithm,
  ProtocolError,
  SessionClosed,
  SshError,
  StrictKexViolation,
} from "./errors.ts";

/** Transport message numbers (RFC 4250 §4.1.2). */
export const MSG = {
  DISCONNECT: 1,
  IGNORE: 2,
  UNIMPLEMENTED: 3,
  DEBUG: 4,
  SERVICE_REQUEST: 5,
  SERVICE_ACCEPT: 6,
  EXT_INFO: 7,
  KEXINIT: 20,
  NEWKEYS: 21,
} as const;

/** Our identification string (RFC 4253 §4.2). */
export const CLIENT_VERSION = "SSH-2.0-usernet_0.1";

/** Ciphers in default preference order. */
export const DEFAULT_CIPHERS = [
  "aes128-gcm@openssh.com",
  "aes256-gcm@openssh.com",
  "chacha20-poly1305@openssh.com",
  "aes128-ctr",
  "aes192-ctr",
  "aes256-ctr",
];

/** MACs in default preference order (encrypt-then-MAC first). */
export const DEFAULT_MACS = [
  "hmac-sha2-256-etm@openssh.com",
  "hmac-sha2-512-etm@openssh.com",
  "hmac-sha2-256",
  "hmac-sha2-512",
];

const STRICT_KEX_CLIENT = "kex-strict-c-v00@openssh.com";
const STRICT_KEX_SERVER = "kex-strict-s-v00@openssh.com";
const EXT_INFO_CLIENT = "ext-info-c";

/** Algorithm preference lists; each replaces the default list for its category. */
export interface AlgorithmPreferences {
  /** Key exchange methods, e.g. `["curve25519-sha256"]`. */
  kex?: string[];
  /** Host key signature algorithms, e.g. `["ssh-ed25519", "rsa-sha2-512"]`. */
  hostKey?: string[];
  /** Ciphers (both directions). */
  cipher?: string[];
  /** MACs (both directions; unused with AEAD ciphers). */
  mac?: string[];
}

/** When the client starts a new key exchange by itself (RFC 4253 §9). */
export interface RekeyLimits {
  /** Bytes sent plus received under one set of keys (default 1 GiB). */
  bytes?: number;
  /** Seconds under one set of keys (default 3600). */
  seconds?: number;
}

/** The algorithms negotiated by the last key exchange. */
export interface NegotiatedAlgorithms {
  /** Key exchange method. */
  kex: string;
  /** Host key signature algorithm. */
  hostKey: string;
  /** Cipher from us to the server. */
  cipherClientToServer: string;
  /** Cipher from the server to us. */
  cipherServerToClient: string;
  /** MAC from us to the server (empty with AEAD ciphers). */
  macClientToServer: string;
  /** MAC from the server to us (empty with AEAD ciphers). */
  macServerToClient: string;
  /** Always `none`. */
  compression: string;
}

/** The server's host key as presented in the key exchange. */
export interface ServerHostKey {
  /** Key type from the blob, e.g. `ssh-ed25519`, `ssh-rsa`. */
  type: string;
  /** Negotiated signature algorithm, e.g. `rsa-sha2-512`. */
  algorithm: string;
  /** The key as sent (the known_hosts base64 field decoded). */
  blob: Uint8Array;
  /** `SHA256:...` as OpenSSH prints it. */
  fingerprint: string;
}

/** Options of the transport layer. */
export interface TransportOptions {
  /** Algorithm preference lists. */
  algorithms?: AlgorithmPreferences;
  /** When to start a new key exchange. */
  rekey?: RekeyLimits;
  /** Called once, on the first key exchange, after the signature is verified; throw to refuse. */
  verifyHostKey: (key: ServerHostKey) => Promise<void>;
  /** Receives every message the transport does not handle itself (service, auth, connection). */
  onMessage: (payload: Uint8Array) => void;
  /** Called once when the transport stops, with the reason (undefined for a clean close). */
  onClose?: (error?: Error) => void;
  /** Key types to try first (e.g. those known_hosts lists for this host). */
  preferredHostKeyTypes?: string[];
  /** Queued outgoing bytes above which `send` waits (default 4 MiB). */
  writeHighWaterMark?: number;
}

interface KexState {
  ourKexInit: Uint8Array;
  theirKexInit?: Uint8Array;
  method?: KeyExchange;
  algorithms?: NegotiatedAlgorithms;
  /** The server guessed its first kex packet wrongly: skip one packet (RFC 4253 §7). */
  skipNext?: boolean;
  newKeysSent: boolean;
  newKeysReceived: boolean;
  pendingOpener?: PacketOpener;
  done: PromiseWithResolvers<void>;
}

/**
 * One entry of the write queue: a packet sealed asynchronously (WebCrypto), or a write buffer
 * that synchronously sealed packets are appended to until the pump takes it.
 */
interface WriteItem {
  /** The sealed packet, or a promise of it (unset for a write buffer). */
  data?: Uint8Array | Promise<Uint8Array>;
  /** The sealed packet once known. */
  ready?: Uint8Array;
  /** A write buffer and the bytes of packets in it. */
  buffer?: Uint8Array;
  used: number;
  /** Bytes counted against the high-water mark. */
  size: number;
}

/** Size of the buffers that synchronously sealed packets are written into. */
const WRITE_BUFFER = 512 * 1024;
/** Write buffers kept for reuse (bounded memory). */
const SPARE_WRITE_BUFFERS = 4;

function validate(category: string, list: string[] | undefined, known: readonly string[]) {
  if (!list) return;
  for (const name of list) {
    if (!known.includes(name)) throw new SshError(`unsupported ${category} algorithm "${name}"`);
  }
  if (list.length === 0) throw new SshError(`empty ${category} algorithm list`);
}

function choose(category: string, ours: readonly string[], theirs: readonly string[]): string {
  for (const name of ours) if (theirs.includes(name)) return name;
  throw new NoCommonAlgorithm(category, ours, theirs);
}

/**
 * One SSH transport connection. Create with `new Transport(conn, options)`, then `await
 * start()` for the version exchange and first key exchange.
 *
 * @example
 * ```ts ignore
 * import { Transport } from "./transport.ts";
 * const t = new Transport(conn, { verifyHostKey: async () => {}, onMessage: (m) => {} });
 * await t.start();
 * await t.send(payload);
 * ```
 */
export class Transport {
  readonly #conn: Conn;
  readonly #opts: TransportOptions;
  readonly #kexList: string[];
  readonly #hostKeyList: string[];
  readonly #cipherList: string[];
  readonly #macList: string[];
  readonly #rekeyBytes: number;
  readonly #rekeySeconds: number;
  readonly #highWater: number;

  #serverVersion = "";
  #sessionId: Uint8Array | undefined;
  #hostKey: ServerHostKey | undefined;
  #algorithms: NegotiatedAlgorithms | undefined;
  #strict = false;
  #firstKex = true;
  #kex: KexState | undefined;
  #serverSigAlgs: string[] | undefined;
  #rekeyCount = 0;

  #sealer: PacketSealer = new NoneSealer();
  #opener: PacketOpener = new NoneOpener();
  #sendSeq = 0;
  #recvSeq = 0;
  #bytesSinceKex = 0;
  #kexStartedAt = 0;
  #rekeyTimer: ReturnType<typeof setTimeout> | undefined;

  #held: Array<{ payload: Uint8Array; done: PromiseWithResolvers<void> }> = [];
  #writeQueue: WriteItem[] = [];
  #spareBuffers: Uint8Array[] = [];
  #queuedBytes = 0;
  #pumping = false;
  #drainWaiters: Array<() => void> = [];
  #closed = false;
  #closeError: Error | undefined;
  readonly #closedPromise = Promise.withResolvers<void>();
  #firstKexDone = Promise.withResolvers<void>();

  /** Prepares a transport over `conn`; nothing is sent until `start()`. */
  constructor(conn: Conn, options: TransportOptions) {
    this.#conn = conn;
    this.#opts = options;
    const a = options.algorithms ?? {};
    validate("kex", a.kex, KEX_ALGORITHMS);
    validate("host key", a.hostKey, SIGNATURE_ALGORITHMS);
    validate("cipher", a.cipher, Object.keys(CIPHERS));
    validate("MAC", a.mac, Object.keys(MACS));
    this.#kexList = a.kex ?? [...KEX_ALGORITHMS];
    let hk = a.hostKey ?? [...SIGNATURE_ALGORITHMS];
    if (!a.hostKey && options.preferredHostKeyTypes?.length) {
      // Prefer algorithms for keys we already know, so a known host is not reported unknown
      // just because it also has a key of a type we like better.
      const known = (alg: string) =>
        options.preferredHostKeyTypes!.includes(alg.startsWith("rsa-sha2-") ? "ssh-rsa" : alg);
      hk = [...hk.filter(known), ...hk.filter((x) => !known(x))];
    }
    this.#hostKeyList = hk;
    this.#cipherList = a.cipher ?? DEFAULT_CIPHERS;
    this.#macList = a.mac ?? DEFAULT_MACS;
    this.#rekeyBytes = options.rekey?.bytes ?? 1 << 30;
    this.#rekeySeconds = options.rekey?.seconds ?? 3600;
    this.#highWater = options.writeHighWaterMark ?? 4 << 20;
    this.#firstKexDone.promise.catch(() => {});
  }

  /** The server's identification string, e.g. `SSH-2.0-OpenSSH_9.2p1 Debian-2`. */
  get serverVersion(): string {
    return this.#serverVersion;
  }

  /** The session identifier (H of the first key exchange). */
  get sessionId(): Uint8Array {
    if (!this.#sessionId) throw new SshError("no session id before the key exchange");
    return this.#sessionId;
  }

  /** The algorithms negotiated by the latest key exchange. */
  get algorithms(): NegotiatedAlgorithms {
    if (!this.#algorithms) throw new SshError("no algorithms before the key exchange");
    return this.#algorithms;
  }

  /** The server's host key. */
  get hostKey(): ServerHostKey {
    if (!this.#hostKey) throw new SshError("no host key before the key exchange");
    return this.#hostKey;
  }

  /** Whether strict key exchange (Terrapin countermeasure) is in force. */
  get strictKex(): boolean {
    return this.#strict;
  }

  /** Signature algorithms from the server's ext-info `server-sig-algs`, if sent (RFC 8308). */
  get serverSigAlgs(): string[] | undefined {
    return this.#serverSigAlgs;
  }

  /** Number of completed key exchanges after the first. */
  get rekeyCount(): number {
    return this.#rekeyCount;
  }

  /** Resolves when the transport has stopped. */
  get closed(): Promise<void> {
    return this.#closedPromise.promise;
  }

  /** Whether the transport has stopped. */
  get isClosed(): boolean {
    return this.#closed;
  }

  /** Version exchange and first key exchange; resolves once keys are in use both ways. */
  async start(): Promise<void> {
    await this.#writeRaw(utf8(CLIENT_VERSION + "\r\n"));
    this.#startKex();
    this.#readLoop().catch((e) => this.#fail(e));
    await this.#firstKexDone.promise;
  }

  // ------------------------------------------------------------------ sending

  /**
   * Sends a message. During a key exchange, messages above the transport range are held until
   * the new keys are in use (RFC 4253 §7.1). Resolves when the packet is queued under the
   * high-water mark (back-pressure), rejects if the transport is closed.
   */
  send(payload: Uint8Array): Promise<void> {
    if (this.#closed) return Promise.reject(this.#closedError());
    if (this.#kex && !this.#kex.newKeysSent && payload[0] >= 50) {
      const done = Promise.withResolvers<void>();
      this.#held.push({ payload, done });
      return done.promise;
    }
    this.#enqueue(payload);
    this.#maybeRekey();
    return this.#waitForRoom();
  }

  /**
   * Sends the message `header || data` (e.g. CHANNEL_DATA's fields, then the data) with one
   * copy of `data`, which may be reused once this returns. Returns `undefined` when the
   * packet is queued under the high-water mark, else a promise to await as with `send`.
   */
  sendData(header: Uint8Array, data: Uint8Array): Promise<void> | undefined {
    if (this.#closed) return Promise.reject(this.#closedError());
    if (this.#kex && !this.#kex.newKeysSent && header[0] >= 50) {
      return this.send(concat(header, data));
    }
    this.#enqueue(header, data);
    this.#maybeRekey();
    return this.#queuedBytes <= this.#highWater ? undefined : this.#waitForRoom();
  }

  #waitForRoom(): Promise<void> {
    if (this.#queuedBytes <= this.#highWater) return Promise.resolve();
    return new Promise((resolve) => this.#drainWaiters.push(resolve));
  }

  #enqueue(payload: Uint8Array, data?: Uint8Array): void {
    const seq = this.#sendSeq;
    this.#sendSeq = (this.#sendSeq + 1) >>> 0;
    const n = payload.length + (data?.length ?? 0);
    const size = n + 64;
    const sealer = this.#sealer;
    const wire = sealer.sealedSize?.(n) ?? -1;
    if (wire > 0) {
      // Sealed in place at the end of the current write buffer: no allocation or copy per
      // packet beyond the payload's one copy. Packets are appended to a write buffer only
      // while it is the queue's tail (the pump takes it out of the queue before writing it).
      let item = this.#writeQueue.at(-1);
      if (!item?.buffer || item.used + wire > item.buffer.length) {
        item = { buffer: this.#takeBuffer(wire), used: 0, size: 0 };
        this.#writeQueue.push(item);
      }
      sealer.sealInto!(seq, payload, data, item.buffer!.subarray(item.used, item.used + wire));
      item.used += wire;
      item.size += size;
    } else {
      const item: WriteItem = { data: sealer.seal(seq, payload, data), used: 0, size };
      if (item.data instanceof Uint8Array) item.ready = item.data;
      else item.data!.then((b) => (item.ready = b), () => {});
      this.#writeQueue.push(item);
    }
    this.#queuedBytes += size;
    if (this.#queuedBytes > Math.max(16 << 20, 4 * this.#highWater)) {
      // Replies we owe a server that does not read (bounded memory).
      throw new ProtocolError("server is not reading: outgoing queue exceeds its limit");
    }
    this.#bytesSinceKex += size;
    if (!this.#pumping) {
      // Start writing after the current task's other packets are queued too: one write for a
      // burst (e.g. a 256 KiB SFTP WRITE in 32 KiB channel packets) instead of one for its
      // first packet and one for the rest.
      this.#pumping = true;
      queueMicrotask(() => this.#pump().catch((e) => this.#fail(e)));
    }
  }

  #takeBuffer(atLeast: number): Uint8Array {
    if (atLeast > WRITE_BUFFER) return new Uint8Array(atLeast);
    return this.#spareBuffers.pop() ?? new Uint8Array(WRITE_BUFFER);
  }

  async #pump(): Promise<void> {
    try {
      while (this.#writeQueue.length) {
        const head = this.#writeQueue[0];
        if (head.buffer) {
          // A write buffer: out of the queue (no more appending), written whole, then kept
          // for reuse.
          this.#writeQueue.shift();
          await this.#writeRaw(head.buffer.subarray(0, head.used));
          if (
            head.buffer.length === WRITE_BUFFER && this.#spareBuffers.length < SPARE_WRITE_BUFFERS
          ) {
            this.#spareBuffers.push(head.buffer);
          }
          this.#released(head.size);
          continue;
        }
        const first = head.ready ?? await head.data!;
        // Coalesce packets that are already sealed into one write.
        const batch = [first];
        let size = first.length;
        let n = 1;
        while (n < this.#writeQueue.length && size < 256 * 1024) {
          const r = this.#writeQueue[n].ready;
          if (!r) break;
          batch.push(r);
          size += r.length;
          n++;
        }
        let released = 0;
        for (let i = 0; i < n; i++) released += this.#writeQueue[i].size;
        this.#writeQueue.splice(0, n);
        await this.#writeRaw(batch.length === 1 ? first : concat(...batch));
        this.#released(released);
      }
    } finally {
      this.#pumping = false;
    }
  }

  #released(bytes: number): void {
    this.#queuedBytes -= bytes;
    if (this.#queuedBytes <= this.#highWater && this.#drainWaiters.length) {
      const waiters = this.#drainWaiters;
      this.#drainWaiters = [];
      for (const w of waiters) w();
    }
  }

  async #writeRaw(bytes: Uint8Array): Promise<void> {
    let off = 0;
    while (off < bytes.length) {
      if (this.#closed && this.#closeError) throw this.#closeError;
      try {
        off += await this.#conn.write(bytes.subarray(off));
      } catch (e) {
        throw transportError(e, "sending");
      }
    }
  }

  // ------------------------------------------------------------------ receiving

  async #readLoop(): Promise<void> {
    const buf = new Uint8Array(512 * 1024);
    let start = 0;
    let end = 0;
    const fill = async (): Promise<void> => {
      if (start > 0 && (buf.length - end < 64 * 1024 || start === end)) {
        buf.copyWithin(0, start, end);
        end -= start;
        start = 0;
      }
      // The buffer (512 KiB) holds the largest packet (256 KiB) with room to spare.
      if (end === buf.length) throw new ProtocolError("receive buffer full");
      let n: number | null;
      try {
        n = await this.#conn.read(buf.subarray(end));
      } catch (e) {
        throw transportError(e, "receiving");
      }
      if (n === null) {
        throw new ConnectionLost(
          this.#firstKex
            ? "server closed the connection during the handshake"
            : "server closed the connection",
        );
      }
      end += n;
    };

    // Version exchange: the server may send other lines first (RFC 4253 §4.2).
    let lines = 0;
    for (;;) {
      const nl = buf.subarray(start, end).indexOf(10);
      if (nl < 0) {
        if (end - start > 8192) throw new ProtocolError("server identification line too long");
        await fill();
        continue;
      }
      const line = fromUtf8(buf.subarray(start, start + nl)).replace(/\r$/, "");
      start += nl + 1;
      if (line.startsWith("SSH-")) {
        if (!line.startsWith("SSH-2.0-") && !line.startsWith("SSH-1.99-")) {
          throw new ProtocolError(`server speaks an unsupported protocol version: ${line}`);
        }
        this.#serverVersion = line;
        break;
      }
      if (++lines > 1024) {
        throw new ProtocolError("too many lines before the server identification");
      }
    }

    // Packets are opened (decrypted) ahead of dispatch so WebCrypto can work on several at
    // once; dispatch stays in order. A small packet may be NEWKEYS, which changes the keys for
    // the packets after it, so nothing is opened past a small packet until it is dispatched.
    const inflight: Array<{ seq: number; payload: Promise<Uint8Array> | Uint8Array }> = [];
    let pendingSize = -1;
    let barrier = false;
    let reading: Promise<unknown> | undefined;
    let readError: unknown;
    for (;;) {
      if (this.#closed) return;
      while (!barrier && inflight.length < 16) {
        const opener = this.#opener;
        if (pendingSize < 0) {
          if (end - start < opener.headerLength) break;
          pendingSize = opener.packetSize(
            this.#recvSeq,
            buf.subarray(start, start + opener.headerLength),
          );
        }
        if (end - start < pendingSize) break;
        const seq = this.#recvSeq;
        let payload = opener.open(seq, buf.subarray(start, start + pendingSize));
        if (payload instanceof Uint8Array) {
          if (opener instanceof NoneOpener) payload = payload.slice();
        } else payload.catch(() => {}); // awaited below, in order
        inflight.push({ seq, payload });
        start += pendingSize;
        this.#bytesSinceKex += pendingSize;
        this.#recvSeq = (seq + 1) >>> 0;
        barrier = pendingSize < 512;
        pendingSize = -1;
      }
      // Keep one read outstanding while earlier packets are decrypted and dispatched, unless
      // more than a whole packet is already waiting (bounded memory).
      if (!reading && !readError && end - start < MAX_PACKET_LENGTH + 1024) {
        reading = fill().then(
          () => (reading = undefined),
          (e) => {
            reading = undefined;
            readError = e;
          },
        );
      }
      const head = inflight.shift();
      if (!head) {
        if (readError) throw readError;
        await reading;
        continue;
      }
      const payload = await head.payload;
      if (inflight.length === 0) barrier = false;
      if (payload.length === 0) throw new ProtocolError("empty packet payload");
      await this.#dispatch(payload, head.seq);
    }
  }

  async #dispatch(payload: Uint8Array, seq: number): Promise<void> {
    const type = payload[0];
    const kex = this.#kex;
    if (
      this.#firstKex && this.#strict &&
      !(type === MSG.KEXINIT || type === MSG.NEWKEYS || (type >= 30 && type <= 49))
    ) {
      // Strict KEX: nothing but the exchange itself before the first NEWKEYS.
      throw new StrictKexViolation(`message ${type} during the initial key exchange (strict KEX)`);
    }
    if (kex?.skipNext && type >= 30 && type <= 49) {
      kex.skipNext = false;
      return;
    }
    switch (type) {
      case MSG.DISCONNECT: {
        const r = new SshReader(payload, 1);
        const code = r.uint32();
        const text = r.text();
        throw new DisconnectError(code, text);
      }
      case MSG.IGNORE:
      case MSG.DEBUG:
      case MSG.UNIMPLEMENTED:
        // Harmless outside a strict initial exchange (refused above when strict).
        return;
      case MSG.KEXINIT:
        return this.#onKexInit(payload, seq);
      case MSG.NEWKEYS:
        return this.#onNewKeys();
      case MSG.EXT_INFO:
        return this.#onExtInfo(payload);
    }
    if (type >= 30 && type <= 49) {
      if (!kex?.method) {
        throw new ProtocolError(`key exchange message ${type} outside a key exchange`);
      }
      const { send, result } = kex.method.handle(payload);
      for (const m of send) this.#enqueue(m);
      if (result) await this.#finishKex(kex, result);
      return;
    }
    // Connection messages during a rekey violate RFC 4253 §7.1, but some servers (asyncssh)
    // send them and OpenSSH accepts them: they are authenticated under the current keys.
    if (this.#firstKex) throw new ProtocolError(`message ${type} before the key exchange finished`);
    this.#opts.onMessage(payload);
  }

  // ------------------------------------------------------------------ key exchange

  #buildKexInit(): Uint8Array {
    const kexNames = [...this.#kexList];
    if (this.#firstKex) kexNames.push(EXT_INFO_CLIENT, STRICT_KEX_CLIENT);
    return new SshWriter(1024)
      .byte(MSG.KEXINIT)
      .raw(crypto.getRandomValues(new Uint8Array(16)))
      .nameList(kexNames)
      .nameList(this.#hostKeyList)
      .nameList(this.#cipherList)
      .nameList(this.#cipherList)
      .nameList(this.#macList)
      .nameList(this.#macList)
      .nameList(["none"])
      .nameList(["none"])
      .nameList([])
      .nameList([])
      .boolean(false)
      .uint32(0)
      .bytes()
      .slice();
  }

  #startKex(): KexState {
    if (this.#kex) return this.#kex;
    const ourKexInit = this.#buildKexInit();
    const done = Promise.withResolvers<void>();
    done.promise.catch(() => {});
    this.#kex = { ourKexInit, newKeysSent: false, newKeysReceived: false, done };
    this.#kexStartedAt = Date.now();
    this.#enqueue(ourKexInit);
    return this.#kex;
  }

  /** Starts a key exchange now (no-op if one is running); resolves when it completes. */
  rekey(): Promise<void> {
    if (this.#closed) return Promise.reject(this.#closedError());
    if (this.#firstKex) return this.#firstKexDone.promise;
    return this.#startKex().done.promise;
  }

  #maybeRekey(): void {
    if (this.#kex || this.#firstKex || this.#closed) return;
    if (this.#bytesSinceKex >= this.#rekeyBytes) this.#startKex();
  }

  #armRekeyTimer(): void {
    if (this.#rekeyTimer !== undefined) clearTimeout(this.#rekeyTimer);
    this.#rekeyTimer = setTimeout(() => {
      this.#rekeyTimer = undefined;
      if (!this.#closed && !this.#kex) this.#startKex();
    }, this.#rekeySeconds * 1000);
    Deno.unrefTimer(this.#rekeyTimer);
  }

  #onKexInit(payload: Uint8Array, seq: number): void {
    const kex = this.#kex ?? this.#startKex();
    if (kex.theirKexInit) throw new ProtocolError("second KEXINIT during a key exchange");
    kex.theirKexInit = payload.slice();
    const r = new SshReader(payload, 17);
    const kexAlgs = r.nameList();
    const hostKeyAlgs = r.nameList();
    const encC2S = r.nameList();
    const encS2C = r.nameList();
    const macC2S = r.nameList();
    const macS2C = r.nameList();
    const compC2S = r.nameList();
    const compS2C = r.nameList();
    r.nameList();
    r.nameList();
    const follows = r.boolean();
    if (this.#firstKex) {
      this.#strict = kexAlgs.includes(STRICT_KEX_SERVER);
      if (this.#strict && seq !== 0) {
        throw new StrictKexViolation(
          "KEXINIT was not the first packet from the server (strict KEX)",
        );
      }
    }
    const kexName = choose("kex", this.#kexList, kexAlgs);
    const hostKey = choose("host key", this.#hostKeyList, hostKeyAlgs);
    const cipherC2S = choose("cipher (client to server)", this.#cipherList, encC2S);
    const cipherS2C = choose("cipher (server to client)", this.#cipherList, encS2C);
    const macC = CIPHERS[cipherC2S].aead
      ? ""
      : choose("MAC (client to server)", this.#macList, macC2S);
    const macS = CIPHERS[cipherS2C].aead
      ? ""
      : choose("MAC (server to client)", this.#macList, macS2C);
    choose("compression", ["none"], compC2S);
    choose("compression", ["none"], compS2C);
    if (follows && (kexAlgs[0] !== kexName || hostKeyAlgs[0] !== hostKey)) kex.skipNext = true;
    kex.algorithms = {
      kex: kexName,
      hostKey,
      cipherClientToServer: cipherC2S,
      cipherServerToClient: cipherS2C,
      macClientToServer: macC,
      macServerToClient: macS,
      compression: "none",
    };
    kex.method = createKeyExchange(kexName, {
      clientVersion: CLIENT_VERSION,
      serverVersion: this.#serverVersion,
      clientKexInit: kex.ourKexInit,
      serverKexInit: kex.theirKexInit,
    });
    for (const m of kex.method.start()) this.#enqueue(m);
  }

  async #finishKex(
    kex: KexState,
    result: {
      sharedSecret: Uint8Array;
      exchangeHash: Uint8Array;
      hostKey: Uint8Array;
      signature: Uint8Array;
      hash: (d: Uint8Array) => Uint8Array;
    },
  ): Promise<void> {
    const algs = kex.algorithms!;
    let key;
    try {
      key = parsePublicKey(result.hostKey);
    } catch (e) {
      throw new KeyExchangeFailed("server sent an unusable host key", { cause: e });
    }
    const ok = await verifySignature(key, result.signature, result.exchangeHash, [algs.hostKey]);
    if (!ok) {
      throw new KeyExchangeFailed(
        `server's ${algs.hostKey} signature over the exchange hash does not verify`,
      );
    }
    const presented: ServerHostKey = {
      type: key.type,
      algorithm: algs.hostKey,
      blob: result.hostKey.slice(),
      fingerprint: fingerprint(result.hostKey),
    };
    if (this.#firstKex) {
      await this.#opts.verifyHostKey(presented);
      this.#hostKey = presented;
      this.#sessionId = result.exchangeHash.slice();
    } else if (
      this.#hostKey!.fingerprint !== presented.fingerprint
    ) {
      throw new HostKeyMismatch(
        { host: "(rekey)", keyType: presented.type, fingerprint: presented.fingerprint },
        [this.#hostKey!.fingerprint],
      );
    }
    const derive = (letter: string, len: number) =>
      deriveKey(
        result.hash,
        result.sharedSecret,
        result.exchangeHash,
        letter,
        this.#sessionId!,
        len,
      );
    const c2s = CIPHERS[algs.cipherClientToServer];
    const s2c = CIPHERS[algs.cipherServerToClient];
    const c2sKeys: DirectionKeys = {
      cipher: algs.cipherClientToServer,
      mac: algs.macClientToServer || undefined,
      iv: derive("A", c2s.ivLength),
      key: derive("C", c2s.keyLength),
      macKey: algs.macClientToServer
        ? derive("E", MACS[algs.macClientToServer].keyLength)
        : undefined,
    };
    const s2cKeys: DirectionKeys = {
      cipher: algs.cipherServerToClient,
      mac: algs.macServerToClient || undefined,
      iv: derive("B", s2c.ivLength),
      key: derive("D", s2c.keyLength),
      macKey: algs.macServerToClient
        ? derive("F", MACS[algs.macServerToClient].keyLength)
        : undefined,
    };
    kex.pendingOpener = createOpener(s2cKeys);
    // NEWKEYS goes out under the old keys; everything after it under the new ones.
    this.#enqueue(new Uint8Array([MSG.NEWKEYS]));
    this.#sealer = createSealer(c2sKeys);
    if (this.#strict) this.#sendSeq = 0;
    kex.newKeysSent = true;
    const held = this.#held;
    this.#held = [];
    for (const h of held) {
      this.#enqueue(h.payload);
      this.#waitForRoom().then(h.done.resolve);
    }
    this.#algorithms = algs;
    if (kex.newKeysReceived) this.#endKex(kex);
  }

  #onNewKeys(): void {
    const kex = this.#kex;
    if (!kex?.pendingOpener) throw new ProtocolError("NEWKEYS before the key exchange finished");
    this.#opener = kex.pendingOpener;
    kex.pendingOpener = undefined;
    if (this.#strict) this.#recvSeq = 0; // strict KEX: numbering restarts after NEWKEYS
    kex.newKeysReceived = true;
    if (kex.newKeysSent) this.#endKex(kex);
  }

  #endKex(kex: KexState): void {
    this.#kex = undefined;
    this.#bytesSinceKex = 0;
    if (this.#firstKex) {
      this.#firstKex = false;
      this.#firstKexDone.resolve();
    } else {
      this.#rekeyCount++;
    }
    this.#armRekeyTimer();
    kex.done.resolve();
  }

  #onExtInfo(payload: Uint8Array): void {
    const r = new SshReader(payload, 1);
    const n = r.uint32();
    for (let i = 0; i < n && i < 64; i++) {
      const name = r.text();
      const value = r.string();
      if (name === "server-sig-algs") {
        const s = fromUtf8(value);
        this.#serverSigAlgs = s ? s.split(",") : [];
      }
    }
  }

  // ------------------------------------------------------------------ closing

  #closedError(): Error {
    return this.#closeError ?? new SessionClosed("the SSH connection is closed");
  }

  #fail(e: unknown): void {
    if (this.#closed) return;
    const err = e instanceof Error ? e : new SshError(String(e));
    let reason = 0;
    if (err instanceof StrictKexViolation || err instanceof ProtocolError) reason = 2;
    else if (err instanceof KeyExchangeFailed || err instanceof NoCommonAlgorithm) reason = 3;
    else if (err.name === "IntegrityError") reason = 5;
    else if (err.name.startsWith("HostKey")) reason = 9;
    else if (err.name === "AuthenticationFailed") reason = 14;
    if (reason && !(err instanceof DisconnectError) && !(err instanceof ConnectionLost)) {
      // Best effort: tell the server why before dropping the connection.
      const msg = new SshWriter().byte(MSG.DISCONNECT).uint32(reason).string(
        err.message.slice(0, 200),
      )
        .string("").bytes().slice();
      try {
        const sealed = this.#sealer.seal(this.#sendSeq, msg);
        if (sealed instanceof Uint8Array) this.#conn.write(sealed).catch(() => {});
      } catch { /* ignore */ }
    }
    this.#shutdown(err);
  }

  #shutdown(err?: Error): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#closeError = err ?? new SessionClosed("the SSH connection is closed");
    if (this.#rekeyTimer !== undefined) clearTimeout(this.#rekeyTimer);
    try {
      this.#conn.close();
    } catch { /* already closed */ }
    this.#firstKexDone.reject(this.#closeError);
    this.#kex?.done.reject(this.#closeError);
    for (const h of this.#held) h.done.reject(this.#closeError);
    this.#held = [];
    for (const w of this.#drainWaiters) w();
    this.#drainWaiters = [];
    this.#opts.onClose?.(err);
    this.#closedPromise.resolve();
  }

  /** Aborts the transport with an error (no DISCONNECT unless it is a protocol failure). */
  abort(err: Error): void {
    this.#fail(err);
  }

  /** Sends DISCONNECT (BY_APPLICATION), flushes, and closes the connection. */
  async close(description = "closed by client"): Promise<void> {
    if (this.#closed) return;
    try {
      const msg = new SshWriter().byte(MSG.DISCONNECT).uint32(11).string(description).string("")
        .bytes().slice();
      this.#enqueue(msg);
      const drained = new Promise<void>((resolve) => {
        const check = () => (this.#writeQueue.length === 0 && !this.#pumping
          ? resolve()
          : setTimeout(check, 5));
        check();
      });
      await Promise.race([drained, new Promise((r) => setTimeout(r, 1000))]);
    } catch { /* closing anyway */ }
    this.#shutdown();
  }
}

/**
 * A failure of the underlying connection (reset, broken pipe, closed) as a typed
 * {@linkcode ConnectionLost}, keeping the original as the cause; SSH errors pass through.
 */
function transportError(e: unknown, doing: string): Error {
  if (e instanceof SshError) return e;
  const message = e instanceof Error ? e.message : String(e);
  return new ConnectionLost(`connection lost while ${doing}: ${message}`, { cause: e });
}
