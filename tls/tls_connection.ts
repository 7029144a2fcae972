/**
 * A TLS 1.3 client connection over any {@linkcode Conn}: the thin I/O layer around the
 * sans-IO {@linkcode ClientHandshake} and record layer.
 *
 * Reads pull records from the transport in batches; all complete records in the buffer are
 * decrypted concurrently (WebCrypto AES-GCM runs off the main thread), then processed in
 * order. If a record changes the read keys (KeyUpdate), later records of the batch are
 * decrypted again with the new keys. Writes fragment into records of 2^14 bytes, seal them
 * concurrently and hand them to the transport in one write.
 *
 * @module
 */

import type { Conn } from "../net/conn.ts";
import { AlertDescription } from "./alert.ts";
import { CIPHER_SUITES, type CipherSuite, type CipherSuiteName } from "./cipher_suite.ts";
import {
  ClientHandshake,
  type HandshakeAction,
  type PeerCertificateResult,
} from "./client_handshake.ts";
import {
  DecodeError,
  TlsAlertReceived,
  TlsClosed,
  TlsError,
  TlsProtocolError,
  TlsTruncated,
  UnexpectedMessage,
} from "./errors.ts";
import { HandshakeReassembler } from "./handshake_reassembler.ts";
import { HandshakeType } from "./handshake_messages.ts";
import type { TlsHandshakeInfo } from "./handshake_info.ts";
import {
  DEFAULT_GROUPS,
  DEFAULT_KEY_SHARE_GROUPS,
  NAMED_GROUPS,
  type NamedGroupName,
} from "./key_exchange.ts";
import { concat } from "./_bytes.ts";
import { RecordProtection } from "./record_cipher.ts";
import {
  alertContent,
  ContentType,
  MAX_PLAINTEXT,
  type OpenedRecord,
  openRecord,
  RecordReader,
  sealHandshakeSend,
  sealRecords,
  type WireRecord,
} from "./record_layer.ts";
import type { TicketCache } from "./ticket_cache.ts";
import {
  CertificateError,
  CertificateExpired,
  CertificateNotYetValid,
  CertificateUsageNotAllowed,
  UnknownIssuer,
  UnsupportedCertificate,
} from "./x509/errors.ts";
import { parseIpAddress } from "./x509/hostname.ts";
import { TrustStore } from "./x509/trust_store.ts";
import { parseSentCertificates, verifyServerChain } from "./x509/verify_chain.ts";

/** Options for {@linkcode connect}. */
export interface ConnectOptions {
  /**
   * The server's DNS name (sent as SNI and matched against the certificate) or IP address
   * (matched against IP subjectAltNames; no SNI is sent).
   */
  serverName: string;
  /** ALPN protocols to offer, most preferred first, e.g. `["h2", "http/1.1"]`. */
  alpnProtocols?: string[];
  /**
   * Trusted CA certificates as PEM (one text with several blocks, or several texts). When
   * given, they replace the system trust store.
   */
  caCerts?: string | string[];
  /** A trust store to verify against (takes precedence over `caCerts`). */
  trustStore?: TrustStore;
  /**
   * Skip certificate chain and name verification. The server's CertificateVerify is still
   * checked against the key in its certificate. For tests only.
   */
  insecureSkipVerify?: boolean;
  /**
   * Where to find session tickets for resumption and store new ones (RFC 8446 §4.6.1,
   * §2.2). Share one cache between connections to resume.
   */
  sessionCache?: TicketCache;
  /**
   * The earlier name of `sessionCache`, kept so existing callers work. Giving both is a
   * `TypeError`.
   */
  ticketCache?: TicketCache;
  /**
   * Groups to offer in supported_groups, most preferred first (default: X25519MLKEM768,
   * x25519, secp256r1, secp384r1).
   */
  groups?: NamedGroupName[];
  /**
   * Groups that get a key share in the first ClientHello (default: X25519MLKEM768 and x25519).
   * A server preferring another offered group answers with a HelloRetryRequest.
   */
  keyShareGroups?: NamedGroupName[];
  /** Cipher suites to offer, most preferred first (default: all three). */
  cipherSuites?: CipherSuiteName[];
  /** The time used for certificate validity and ticket ages (default: the system clock). */
  now?: () => Date;
  /** Aborts the handshake (it has no effect once the connection is established). */
  signal?: AbortSignal;
}

/**
 * The earlier name of {@linkcode ConnectOptions}.
 *
 * @example
 * ```ts
 * import type { StartTlsOptions } from "./tls_connection.ts";
 * const options: StartTlsOptions = { serverName: "example.com", alpnProtocols: ["h2"] };
 * console.log(options.serverName);
 * ```
 */
export type StartTlsOptions = ConnectOptions;

/** Counters of one connection's traffic after the handshake. */
export interface TlsConnectionStats {
  /** Application data bytes received. */
  bytesReceived: number;
  /** Application data bytes sent. */
  bytesSent: number;
  /** KeyUpdate messages received from the server. */
  keyUpdatesReceived: number;
  /** KeyUpdate messages sent (answers and our own). */
  keyUpdatesSent: number;
  /** NewSessionTicket messages received. */
  ticketsReceived: number;
}

/** Records processed per batch: bounds the decrypted data held at once (≤ 32 × 16 KiB). */
const MAX_BATCH = 64;
/** Records sealed per transport write. */
const MAX_WRITE_RECORDS = 16;
/**
 * Records sent under one key before we update it ourselves: far below the AES-GCM limit of
 * 2^24.5 records (RFC 8446 §5.5).
 */
const KEY_UPDATE_AFTER_RECORDS = 2 ** 23;

/**
 * Runs a TLS 1.3 handshake over `conn` (an open byte stream to the server) and resolves to
 * the protected connection. Rejects with a {@linkcode TlsError} subclass for protocol
 * failures (after sending the matching alert), a `CertificateError` subclass when the
 * server's certificate is not acceptable, or a `TypeError` for invalid options.
 *
 * @example Fetch a page over TLS, resuming later connections
 * ```ts ignore
 * import { connect } from "./tls_connection.ts";
 * import { TicketCache } from "./ticket_cache.ts";
 * const sessionCache = new TicketCache();
 * const tcp = await Deno.connect({ hostname: "example.com", port: 443 });
 * const tls = await connect(tcp, {
 *   serverName: "example.com",
 *   alpnProtocols: ["http/1.1"],
 *   sessionCache,
 * });
 * console.log(tls.handshake.cipherSuite, tls.handshake.group, tls.handshake.resumed);
 * await tls.write(new TextEncoder().encode("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n"));
 * ```
 */
export async function connect(conn: Conn, options: ConnectOptions): Promise<TlsConnection> {
  const connection = new TlsConnection(conn, options);
  await connection.handshakeComplete;
  return connection;
}

/**
 * The earlier name of {@linkcode connect}; the same function.
 *
 * @example
 * ```ts ignore
 * import { startTls } from "./tls_connection.ts";
 * const tcp = await Deno.connect({ hostname: "example.com", port: 443 });
 * const tls = await startTls(tcp, { serverName: "example.com" });
 * ```
 */
export const startTls: (conn: Conn, options: ConnectOptions) => Promise<TlsConnection> = connect;

/**
 * A TLS 1.3 client connection. It has the shape of a {@linkcode Conn} (read, write,
 * closeWrite, close) and also offers web streams and the handshake facts.
 *
 * Create it with {@linkcode connect}.
 *
 * @example
 * ```ts ignore
 * const tls = await connect(tcp, { serverName: "localhost", caCerts: caPem });
 * await tls.write(new TextEncoder().encode("ping"));
 * const buf = new Uint8Array(1024);
 * const n = await tls.read(buf);
 * await tls.closeWrite();
 * tls.close();
 * ```
 */
export class TlsConnection implements Conn {
  readonly #conn: Conn;
  readonly #handshake: ClientHandshake;
  readonly #reader = new RecordReader();
  readonly #reassembler = new HandshakeReassembler();
  #readProtection: RecordProtection | undefined;
  #writeProtection: RecordProtection | undefined;
  #info: TlsHandshakeInfo | undefined;

  /** Decrypted application data not yet returned to the caller. */
  #plain: Uint8Array[] = [];
  #receivedCloseNotify = false;
  #sentCloseNotify = false;
  #closed = false;
  #error: unknown;
  #readBusy: Promise<void> = Promise.resolve();
  #writeChain: Promise<void> = Promise.resolve();
  #writesInFlight = 0;
  readonly #stats: TlsConnectionStats = {
    bytesReceived: 0,
    bytesSent: 0,
    keyUpdatesReceived: 0,
    keyUpdatesSent: 0,
    ticketsReceived: 0,
  };

  /** Resolves when the handshake completes; rejects if it fails. */
  readonly handshakeComplete: Promise<TlsHandshakeInfo>;

  /** Use {@linkcode connect}. */
  constructor(conn: Conn, options: ConnectOptions) {
    this.#conn = conn;
    const sessionCache = sessionCacheOption(options);
    const serverName = normalizeServerName(options.serverName);
    const ip = parseIpAddress(serverName);
    const now = options.now ?? (() => new Date());
    const suites = resolveSuites(options.cipherSuites);
    const groups = options.groups ?? [...DEFAULT_GROUPS];
    for (const g of [...groups, ...(options.keyShareGroups ?? [])]) {
      if (!(g in NAMED_GROUPS)) throw new TypeError(`unsupported group "${g}"`);
    }
    this.#handshake = new ClientHandshake({
      serverName,
      sendServerName: !ip,
      alpnProtocols: options.alpnProtocols ?? [],
      cipherSuites: suites,
      groups,
      keyShareGroups: options.keyShareGroups ??
        DEFAULT_KEY_SHARE_GROUPS.filter((g) => groups.includes(g)),
      verifyCertificates: certificateVerifier(serverName, options, now),
      ticketCache: sessionCache,
      now: () => now().getTime(),
    });
    this.handshakeComplete = this.#runHandshake(options.signal);
    // The caller awaits handshakeComplete through connect; avoid an unhandled rejection
    // report if it is dropped.
    this.handshakeComplete.catch(() => {});
  }

  /** Traffic counters (a live object; read it any time). */
  get stats(): Readonly<TlsConnectionStats> {
    return this.#stats;
  }

  /** Facts about the handshake (throws before it completes). */
  get handshake(): TlsHandshakeInfo {
    if (!this.#info) throw new TlsError("handshake not complete");
    return this.#info;
  }

  // -------------------------------------------------------------------------------------------
  // Handshake

  async #runHandshake(signal: AbortSignal | undefined): Promise<TlsHandshakeInfo> {
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<never>((_, reject) => {
      if (!signal) return;
      onAbort = () => {
        this.#closed = true;
        try {
          this.#conn.close();
        } catch { /* already closed */ }
        reject(signal.reason ?? new DOMException("TLS handshake aborted", "AbortError"));
      };
      if (signal.aborted) onAbort();
      else signal.addEventListener("abort", onAbort, { once: true });
    });
    aborted.catch(() => {});
    try {
      const run = async () => {
        await this.#apply(await this.#handshake.start(), true);
        while (!this.#info) await this.#pump();
        return this.#info;
      };
      return await Promise.race([run(), aborted]);
    } catch (e) {
      if (signal?.aborted) throw signal.reason ?? e;
      await this.#fail(e);
      throw e;
    } finally {
      if (onAbort) signal!.removeEventListener("abort", onAbort);
    }
  }

  /** Applies handshake actions. During the handshake, sends are written immediately. */
  async #apply(actions: HandshakeAction[], inHandshake: boolean): Promise<void> {
    const out: Uint8Array[] = [];
    for (const action of actions) {
      switch (action.kind) {
        case "send":
          if (inHandshake) {
            out.push(await sealHandshakeSend(this.#writeProtection, action));
          } else {
            this.#enqueueWrite(() => this.#sendRecords(action.contentType, action.data));
          }
          break;
        case "installReadKeys":
          // RFC 8446 §5.1: handshake messages must not span a key change.
          if (this.#reassembler.hasPartial) {
            throw new UnexpectedMessage("handshake data continues across a key change");
          }
          this.#readProtection = await RecordProtection.fromSecret(this.#suite, action.secret);
          break;
        case "installWriteKeys": {
          const secret = action.secret;
          if (inHandshake) {
            this.#writeProtection = await RecordProtection.fromSecret(this.#suite, secret);
          } else {
            this.#enqueueWrite(async () => {
              this.#writeProtection = await RecordProtection.fromSecret(this.#suite, secret);
            });
          }
          break;
        }
        case "connected":
          this.#info = action.info;
          break;
      }
    }
    // One transport write for the whole flight (e.g. change_cipher_spec + Finished): separate
    // small writes meet Nagle's algorithm and the server's delayed ACK, which costs ~40 ms
    // per flight on a TCP without TCP_NODELAY.
    if (out.length === 1) await this.#writeAll(out[0]);
    else if (out.length > 1) await this.#writeAll(concat(...out));
  }

  get #suite(): CipherSuite {
    return this.#handshake.suite!;
  }

  // -------------------------------------------------------------------------------------------
  // Reading

  /**
   * Reads from the transport until at least one record is complete, then processes every
   * complete record in the buffer (up to {@linkcode MAX_BATCH}).
   */
  async #pump(): Promise<void> {
    let first = this.#reader.next();
    while (!first) {
      const n = await this.#conn.read(this.#reader.space());
      if (n === null) return this.#onTransportEof();
      this.#reader.commit(n);
      first = this.#reader.next();
    }
    const batch: WireRecord[] = [first];
    while (batch.length < MAX_BATCH) {
      const r = this.#reader.next();
      if (!r) break;
      batch.push(r);
    }
    const launchedWith: Array<RecordProtection | undefined> = [];
    const opened: Promise<OpenedRecord>[] = [];
    const launch = (from: number) => {
      for (let i = from; i < batch.length; i++) {
        launchedWith[i] = this.#readProtection;
        opened[i] = openRecord(this.#readProtection, batch[i]);
        opened[i].catch(() => {}); // speculative results may be discarded
      }
    };
    launch(0);
    for (let i = 0; i < batch.length; i++) {
      if (launchedWith[i] !== this.#readProtection) launch(i);
      await this.#onRecord(batch[i], await opened[i]);
      if (this.#receivedCloseNotify) break;
    }
  }

  async #onRecord(wire: WireRecord, record: OpenedRecord): Promise<void> {
    if (record.type !== ContentType.handshake && this.#reassembler.hasPartial) {
      throw new UnexpectedMessage("record of another type inside a fragmented handshake message");
    }
    switch (record.type) {
      case ContentType.handshake: {
        this.#reassembler.push(record.content);
        for (let m = this.#reassembler.next(); m; m = this.#reassembler.next()) {
          if (this.#info) {
            if (m.type === HandshakeType.key_update) this.#stats.keyUpdatesReceived++;
            if (m.type === HandshakeType.new_session_ticket) this.#stats.ticketsReceived++;
          }
          const actions = await this.#handshake.handle(m);
          await this.#apply(actions, !this.#info || actions.some((a) => a.kind === "connected"));
        }
        return;
      }
      case ContentType.application_data:
        if (!this.#info) {
          throw new UnexpectedMessage("application data before the handshake completed");
        }
        if (record.content.length) {
          this.#plain.push(record.content);
          this.#stats.bytesReceived += record.content.length;
        }
        return;
      case ContentType.alert:
        return this.#onAlert(record.content);
      case ContentType.change_cipher_spec:
        // RFC 8446 §5: a single 0x01 byte, unprotected, only during the handshake.
        if (
          wire.type !== ContentType.change_cipher_spec ||
          !this.#handshake.acceptsChangeCipherSpec ||
          record.content.length !== 1 || record.content[0] !== 1
        ) {
          throw new UnexpectedMessage("change_cipher_spec outside the handshake");
        }
        return;
      default:
        throw new UnexpectedMessage(`record of content type ${record.type}`);
    }
  }

  #onAlert(content: Uint8Array): void {
    if (content.length !== 2) throw new DecodeError("alert record is not two bytes");
    const description = content[1];
    if (description === AlertDescription.close_notify) {
      if (!this.#info) throw new TlsAlertReceived(description);
      this.#receivedCloseNotify = true;
      return;
    }
    // user_canceled is a warning announcing a close_notify (RFC 8446 §6.1).
    if (description === AlertDescription.user_canceled) return;
    throw new TlsAlertReceived(description);
  }

  #onTransportEof(): void {
    if (this.#reader.buffered) {
      throw new TlsTruncated("transport closed in the middle of a TLS record");
    }
    if (!this.#info) {
      throw new TlsTruncated("server closed the connection during the TLS handshake");
    }
    throw new TlsTruncated();
  }

  /** The next chunk of application data, or null after close_notify. */
  async #nextChunk(): Promise<Uint8Array | null> {
    while (true) {
      if (this.#plain.length) return this.#plain.shift()!;
      if (this.#error) throw this.#error;
      if (this.#receivedCloseNotify) return null;
      if (this.#closed) throw new TlsClosed();
      try {
        await this.#pump();
      } catch (e) {
        // A transport error caused by our own close() is just "closed".
        if (this.#closed && !this.#error) {
          throw new TlsClosed("connection closed locally", { cause: e });
        }
        await this.#fail(e);
        throw e;
      }
    }
  }

  /**
   * Reads decrypted application data into `p`. Resolves to the number of bytes, or `null`
   * once the server has sent close_notify. A transport EOF without close_notify rejects with
   * {@linkcode TlsTruncated}.
   */
  async read(p: Uint8Array): Promise<number | null> {
    if (p.length === 0) return 0;
    const previous = this.#readBusy;
    let release!: () => void;
    this.#readBusy = new Promise((r) => release = r);
    await previous;
    try {
      const chunk = await this.#nextChunk();
      if (chunk === null) return null;
      if (chunk.length <= p.length) {
        p.set(chunk);
        return chunk.length;
      }
      p.set(chunk.subarray(0, p.length));
      this.#plain.unshift(chunk.subarray(p.length));
      return p.length;
    } finally {
      release();
    }
  }

  // -------------------------------------------------------------------------------------------
  // Writing

  /** Runs `task` after every earlier write task; failures poison the connection. */
  #enqueueWrite(task: () => Promise<void>): Promise<void> {
    this.#writesInFlight++;
    const run = this.#writeChain.then(() => {
      if (this.#error) throw this.#error;
      return task();
    }).catch((e) => {
      // A transport error caused by our own close() is just "closed".
      if (this.#closed && !(e instanceof TlsError)) {
        throw new TlsClosed("connection closed locally", { cause: e });
      }
      throw e;
    });
    this.#writeChain = run.then(
      () => {
        this.#writesInFlight--;
      },
      (e) => {
        this.#writesInFlight--;
        this.#error ??= e;
      },
    );
    return run;
  }

  async #sendRecords(type: number, data: Uint8Array): Promise<void> {
    if (type === ContentType.application_data) this.#stats.bytesSent += data.length;
    else if (type === ContentType.handshake && data[0] === HandshakeType.key_update) {
      this.#stats.keyUpdatesSent++;
    }
    const wire = await sealRecords(this.#writeProtection, type, data);
    await this.#writeAll(wire);
  }

  async #writeAll(bytes: Uint8Array): Promise<void> {
    let off = 0;
    while (off < bytes.length) off += await this.#conn.write(bytes.subarray(off));
  }

  /**
   * Encrypts and sends all of `p`; resolves to `p.length`. Writes are queued in call order.
   */
  write(p: Uint8Array): Promise<number> {
    if (this.#error) return Promise.reject(this.#error);
    if (this.#closed || this.#sentCloseNotify) {
      return Promise.reject(new TlsClosed("write after close"));
    }
    if (!this.#info) return Promise.reject(new TlsError("write before the handshake completed"));
    const data = p;
    return this.#enqueueWrite(async () => {
      const perWrite = MAX_PLAINTEXT * MAX_WRITE_RECORDS;
      this.#stats.bytesSent += data.length;
      // Seal the next batch while the previous one is being written (double buffering).
      let writing: Promise<void> | undefined;
      let off = 0;
      do {
        if (this.#writeProtection!.seq >= KEY_UPDATE_AFTER_RECORDS) {
          await writing;
          writing = undefined;
          await this.#updateWriteKey(false);
        }
        const wire = await sealRecords(
          this.#writeProtection,
          ContentType.application_data,
          data.subarray(off, off + perWrite),
        );
        await writing;
        writing = this.#writeAll(wire);
        off += perWrite;
      } while (off < data.length);
      await writing;
    }).then(() => p.length);
  }

  async #updateWriteKey(requestPeer: boolean): Promise<void> {
    for (const action of this.#handshake.keyUpdate(requestPeer)) {
      if (action.kind === "send") await this.#sendRecords(action.contentType, action.data);
      else if (action.kind === "installWriteKeys") {
        this.#writeProtection = await RecordProtection.fromSecret(this.#suite, action.secret);
      }
    }
  }

  /**
   * Sends a KeyUpdate and switches to the next sending key (RFC 8446 §4.6.3). With
   * `requestPeer` the server is asked to update its sending key as well.
   */
  keyUpdate(requestPeer = false): Promise<void> {
    if (!this.#info) {
      return Promise.reject(new TlsError("KeyUpdate before the handshake completed"));
    }
    if (this.#closed || this.#sentCloseNotify) return Promise.reject(new TlsClosed());
    return this.#enqueueWrite(() => this.#updateWriteKey(requestPeer));
  }

  /**
   * Lets pending reads keep the process alive again (forwarded to the transport when it has
   * `ref`, as `Deno.Conn` does).
   */
  ref(): void {
    (this.#conn as { ref?: () => void }).ref?.();
  }

  /**
   * Lets the process exit while a read is pending, e.g. on an idle pooled connection
   * (forwarded to the transport when it has `unref`, as `Deno.Conn` does).
   */
  unref(): void {
    (this.#conn as { unref?: () => void }).unref?.();
  }

  // -------------------------------------------------------------------------------------------
  // Closing

  /** Sends close_notify and shuts down the transport's writing half. */
  closeWrite(): Promise<void> {
    if (this.#sentCloseNotify || this.#closed) return Promise.resolve();
    this.#sentCloseNotify = true;
    return this.#enqueueWrite(async () => {
      await this.#sendRecords(ContentType.alert, alertContent(AlertDescription.close_notify));
      await this.#conn.closeWrite();
    });
  }

  /**
   * Closes the connection. If nothing is being written, a close_notify alert is sent first;
   * pending writes are abandoned otherwise.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const closeTransport = () => {
      try {
        this.#conn.close();
      } catch { /* already closed */ }
    };
    if (!this.#info || this.#sentCloseNotify || this.#error || this.#writesInFlight) {
      closeTransport();
      return;
    }
    this.#sentCloseNotify = true;
    const timer = setTimeout(closeTransport, 2000);
    Deno.unrefTimer(timer);
    this.#sendRecords(ContentType.alert, alertContent(AlertDescription.close_notify))
      .catch(() => {})
      .finally(() => {
        clearTimeout(timer);
        closeTransport();
      });
  }

  /** Records a fatal error: sends the matching alert (best effort) and closes the transport. */
  async #fail(error: unknown): Promise<void> {
    if (this.#error) return;
    this.#error = error;
    const alert = alertFor(error);
    if (alert !== undefined && !this.#closed) {
      try {
        // Alerts go out under the current write keys; skip if a write is mid-flight.
        if (!this.#writesInFlight) {
          const wire = await sealRecords(
            this.#writeProtection,
            ContentType.alert,
            alertContent(alert),
          );
          // A peer that stopped reading must not keep us here: give up after a second.
          let timer: ReturnType<typeof setTimeout> | undefined;
          const timeout = new Promise<void>((resolve) => {
            timer = setTimeout(resolve, 1000);
            Deno.unrefTimer(timer);
          });
          await Promise.race([this.#writeAll(wire).catch(() => {}), timeout]);
          clearTimeout(timer);
        }
      } catch { /* the transport may be gone */ }
    }
    this.#closed = true;
    try {
      this.#conn.close();
    } catch { /* already closed */ }
  }

  // -------------------------------------------------------------------------------------------
  // Streams

  #readable: ReadableStream<Uint8Array> | undefined;
  #writable: WritableStream<Uint8Array> | undefined;

  /** Decrypted application data as a stream (chunks are not copied). */
  get readable(): ReadableStream<Uint8Array> {
    this.#readable ??= new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        const previous = this.#readBusy;
        let release!: () => void;
        this.#readBusy = new Promise((r) => release = r);
        await previous;
        try {
          const chunk = await this.#nextChunk();
          if (chunk === null) controller.close();
          else controller.enqueue(chunk);
        } finally {
          release();
        }
      },
      cancel: () => this.close(),
    });
    return this.#readable;
  }

  /** A stream that encrypts and sends what is written; closing it sends close_notify. */
  get writable(): WritableStream<Uint8Array> {
    this.#writable ??= new WritableStream<Uint8Array>({
      write: async (chunk) => {
        await this.write(chunk);
      },
      close: () => this.closeWrite(),
      abort: () => this.close(),
    });
    return this.#writable;
  }
}

function resolveSuites(names: CipherSuiteName[] | undefined): CipherSuite[] {
  if (!names) return [...CIPHER_SUITES];
  return names.map((n) => {
    const suite = CIPHER_SUITES.find((s) => s.name === n);
    if (!suite) throw new TypeError(`unsupported cipher suite "${n}"`);
    return suite;
  });
}

/** `sessionCache`, or its earlier name `ticketCache`; never both. */
function sessionCacheOption(options: ConnectOptions): TicketCache | undefined {
  if (options.sessionCache !== undefined && options.ticketCache !== undefined) {
    throw new TypeError(
      "both sessionCache and ticketCache are given: they are the same option (ticketCache is " +
        "the earlier name of sessionCache), give only sessionCache",
    );
  }
  return options.sessionCache ?? options.ticketCache;
}

function normalizeServerName(name: string): string {
  if (typeof name !== "string" || !name) throw new TypeError("serverName is required");
  let n = name.trim().toLowerCase();
  if (n.startsWith("[") && n.endsWith("]")) n = n.slice(1, -1);
  if (n.endsWith(".")) n = n.slice(0, -1);
  if (parseIpAddress(n)) return n;
  // SNI carries ASCII host names only (RFC 6066 §3): IDNs must be given as A-labels.
  if (!/^[a-z0-9_]([a-z0-9_-]{0,62})(\.[a-z0-9_]([a-z0-9_-]{0,62}))*$/.test(n) || n.length > 253) {
    throw new TypeError(
      `serverName "${name}" is not a DNS name or IP address (use the punycode A-label form for IDNs)`,
    );
  }
  return n;
}

function certificateVerifier(
  serverName: string,
  options: ConnectOptions,
  now: () => Date,
): (certificates: Uint8Array[]) => Promise<PeerCertificateResult> {
  if (options.insecureSkipVerify) {
    return (certificates) => {
      const sent = parseSentCertificates(certificates);
      return Promise.resolve({ leaf: sent[0], certificates: sent, pathLength: 0, verified: false });
    };
  }
  let store: Promise<TrustStore>;
  if (options.trustStore) store = Promise.resolve(options.trustStore);
  else if (options.caCerts) store = Promise.resolve(TrustStore.fromPem(options.caCerts));
  else store = TrustStore.system();
  store.catch(() => {});
  return async (certificates) => {
    const { leaf, path, certificates: sent } = await verifyServerChain(certificates, {
      trustStore: await store,
      serverName,
      now: now(),
    });
    return { leaf, certificates: sent, pathLength: path.length, verified: true };
  };
}

/** The alert to send for an error, or undefined when none should be sent. */
function alertFor(error: unknown): number | undefined {
  if (error instanceof TlsAlertReceived || error instanceof TlsTruncated) return undefined;
  if (error instanceof TlsProtocolError) return error.alert;
  if (error instanceof CertificateError) {
    if (error instanceof CertificateExpired || error instanceof CertificateNotYetValid) {
      return AlertDescription.certificate_expired;
    }
    if (error instanceof UnknownIssuer) return AlertDescription.unknown_ca;
    if (error instanceof UnsupportedCertificate || error instanceof CertificateUsageNotAllowed) {
      return AlertDescription.unsupported_certificate;
    }
    return AlertDescription.bad_certificate;
  }
  if (error instanceof TlsError) return error.alert;
  if (error instanceof Deno.errors.BadResource || error instanceof Deno.errors.ConnectionReset) {
    return undefined;
  }
  if (error instanceof Error && error.name === "BrokenPipe") return undefined;
  return AlertDescription.internal_error;
}
