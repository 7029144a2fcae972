/**
 * The TLS 1.3 client handshake as a sans-IO state machine (RFC 8446 §2, §4, Appendix A.1).
 *
 * The caller feeds whole handshake messages to {@linkcode ClientHandshake.handle} and applies
 * the returned actions in order: send bytes (under the write keys current at that point),
 * install new read or write keys, report the connection as established. The machine never
 * touches I/O or timers. Any message not allowed in the current state is refused with
 * `unexpected_message`; every check that fails names the alert to send.
 *
 *   START ─ClientHello→ WAIT_SH ─(HRR: ClientHello again)→ WAIT_SH
 *   WAIT_SH → WAIT_EE → WAIT_CERT_CR → [WAIT_CERT] → WAIT_CV → WAIT_FINISHED → CONNECTED
 *   (resumed with a PSK: WAIT_EE → WAIT_FINISHED)
 *   CONNECTED: NewSessionTicket, KeyUpdate; anything else (renegotiation) is refused.
 *
 * @module
 */

import { sha256 } from "@noble/hashes/sha2.js";
import { ByteReader, bytesEqual, constantTimeEqual, randomBytes, toHex } from "./_bytes.ts";
import { AlertDescription } from "./alert.ts";
import type { CipherSuite } from "./cipher_suite.ts";
import {
  AlpnMismatch,
  DecodeError,
  HandshakeSignatureInvalid,
  IllegalParameter,
  MissingExtension,
  ProtocolVersionRefused,
  UnexpectedMessage,
  UnsupportedExtension,
} from "./errors.ts";
import {
  certificateVerifyContent,
  decodeCertificate,
  decodeCertificateRequest,
  decodeCertificateVerify,
  decodeClientHello,
  decodeEncryptedExtensions,
  decodeKeyUpdate,
  decodeNewSessionTicket,
  decodeServerHello,
  decoding,
  DOWNGRADE_TLS11,
  DOWNGRADE_TLS12,
  encodeCertificate,
  encodeClientHello,
  encodeFinished,
  encodeKeyUpdate,
  type Extensions,
  ExtensionType,
  handshakeMessage,
  HandshakeType,
  type OfferedPsk,
  type ServerHello,
  setPskBinder,
  TLS13,
} from "./handshake_messages.ts";
import type { HandshakeMessage } from "./handshake_reassembler.ts";
import type { HandshakeEvent, PeerCertificateInfo, TlsHandshakeInfo } from "./handshake_info.ts";
import {
  type ClientKeyShare,
  generateKeyShare,
  groupName,
  NAMED_GROUPS,
  type NamedGroupName,
} from "./key_exchange.ts";
import { finishedVerifyData, KeySchedule, nextTrafficSecret, ticketPsk } from "./key_schedule.ts";
import { ContentType } from "./record_layer.ts";
import { schemeMatchesKey, SIGNATURE_SCHEMES, signatureScheme } from "./signature_scheme.ts";
import type { SessionTicket, TicketCache } from "./ticket_cache.ts";
import { cipherSuite } from "./cipher_suite.ts";
import type { Certificate } from "./x509/certificate.ts";
import { describePublicKey, verifySignature } from "./x509/public_key.ts";
import { formatIpAddress } from "./x509/hostname.ts";

/** The result of checking the server's certificate list. */
export interface PeerCertificateResult {
  /** The parsed end-entity certificate (its key signs CertificateVerify). */
  leaf: Certificate;
  /** Every certificate the server sent that parses, in the order sent (leaf first). */
  certificates: Certificate[];
  /** Validated path length (0 when not verified). */
  pathLength: number;
  /** Whether the chain was verified against a trust store. */
  verified: boolean;
}

/** Configuration of one client handshake. */
export interface ClientHandshakeConfig {
  /** Name for SNI, certificate checks and the ticket cache. */
  serverName: string;
  /** Whether to send SNI (not for IP address literals, RFC 6066 §3). */
  sendServerName: boolean;
  /** ALPN protocols to offer, most preferred first. */
  alpnProtocols: string[];
  /** Cipher suites to offer, most preferred first. */
  cipherSuites: readonly CipherSuite[];
  /** supported_groups, most preferred first. */
  groups: readonly NamedGroupName[];
  /** Groups that get a key share in the first ClientHello (a subset of `groups`). */
  keyShareGroups: readonly NamedGroupName[];
  /** Checks the server's certificates (DER, leaf first); throws on failure. */
  verifyCertificates: (certificates: Uint8Array[]) => Promise<PeerCertificateResult>;
  /** Tickets to resume from and to store new ones in. */
  ticketCache?: TicketCache;
  /** Wall-clock time in ms (ticket ages). */
  now: () => number;
  /** Monotonic clock in ms (durations). */
  clock?: () => number;
  /**
   * Random bytes for ClientHello.random, legacy_session_id and the key shares' secret keys
   * (tests inject fixed values; see {@linkcode generateKeyShare}).
   */
  random?: (n: number) => Uint8Array;
}

/**
 * Test-only inputs of {@linkcode ClientHandshake}: its constructor's second argument, which
 * nothing in the library passes. They let a test replay a published trace (RFC 8448) whose
 * ClientHello this client would not build itself (other extensions, an empty session ID).
 */
export interface ClientHandshakeTestHooks {
  /**
   * Sent and hashed into the transcript in place of the ClientHellos this client builds, in
   * order (the first, then the one after a HelloRetryRequest). Each is checked against the
   * client's state: every key share in it must be one this client generated (shares it
   * lacks are forgotten), and it may not offer a PSK the built one did not. Its random and
   * legacy_session_id become the client's. EncryptedExtensions may then answer, besides what
   * the built ClientHello offers, the extensions only the replacement offers (RFC 8446
   * §4.2 forbids responses only to extensions not sent); their contents are ignored.
   */
  clientHellos?: Uint8Array[];
}

/**
 * What the caller must do after feeding a message, in order. change_cipher_spec is always
 * sent unprotected, whatever write keys are installed (RFC 8446 §5).
 */
export type HandshakeAction =
  | { kind: "send"; contentType: number; data: Uint8Array; legacyVersion?: number }
  | { kind: "installReadKeys"; secret: Uint8Array }
  | { kind: "installWriteKeys"; secret: Uint8Array }
  | { kind: "connected"; info: TlsHandshakeInfo };

/** States of the client (RFC 8446 Appendix A.1). */
export type HandshakeState =
  | "START"
  | "WAIT_SH"
  | "WAIT_EE"
  | "WAIT_CERT_CR"
  | "WAIT_CERT"
  | "WAIT_CV"
  | "WAIT_FINISHED"
  | "CONNECTED";

const LEGACY_CLIENT_HELLO_VERSION = 0x0301;
const MAX_TICKET_LIFETIME_S = 604800;

/**
 * The client side of the TLS 1.3 handshake.
 *
 * @example
 * ```ts ignore
 * const hs = new ClientHandshake(config);
 * for (const action of await hs.start()) apply(action);
 * for (const message of incoming) for (const action of await hs.handle(message)) apply(action);
 * ```
 */
export class ClientHandshake {
  readonly #config: ClientHandshakeConfig;
  readonly #random: (n: number) => Uint8Array;
  readonly #replacementHellos: Uint8Array[];
  /** Extensions only a test's replacement ClientHello offered (see ClientHandshakeTestHooks). */
  #replacementOnlyExtensions: number[] = [];
  readonly #clock: () => number;
  #state: HandshakeState = "START";
  #startedAt = 0;
  readonly #timeline: HandshakeEvent[] = [];

  #clientRandom: Uint8Array = new Uint8Array(32);
  #sessionId: Uint8Array = new Uint8Array(32);
  #keyShares: ClientKeyShare[] = [];
  #ticket: SessionTicket | undefined;
  #pskOffered = false;
  #cookie: Uint8Array | undefined;
  #changeCipherSpecSent = false;
  #helloRetry: ServerHello | undefined;
  /** Raw handshake messages until the hash is known; then fed to the running hash. */
  #transcript: Uint8Array[] = [];
  #hash: ReturnType<CipherSuite["hash"]["create"]> | undefined;

  #suite: CipherSuite | undefined;
  #group: NamedGroupName | undefined;
  #schedule: KeySchedule | undefined;
  #clientHandshakeSecret: Uint8Array | undefined;
  #serverHandshakeSecret: Uint8Array | undefined;
  #clientTrafficSecret: Uint8Array | undefined;
  #serverTrafficSecret: Uint8Array | undefined;
  #resumptionSecret: Uint8Array | undefined;
  #resumed = false;
  #alpn: string | undefined;
  #certificateRequestContext: Uint8Array | undefined;
  #peer: PeerCertificateResult | undefined;
  #peerInfo: PeerCertificateInfo | undefined;
  #peerCertificates: Certificate[] = [];
  #verified = false;
  #signatureScheme: string | undefined;
  #info: TlsHandshakeInfo | undefined;

  constructor(config: ClientHandshakeConfig, testHooks?: ClientHandshakeTestHooks) {
    if (!config.cipherSuites.length) throw new RangeError("no cipher suites configured");
    if (!config.groups.length) throw new RangeError("no groups configured");
    this.#config = config;
    this.#random = config.random ?? randomBytes;
    this.#replacementHellos = [...(testHooks?.clientHellos ?? [])];
    this.#clock = config.clock ?? (() => performance.now());
  }

  /** The current state. */
  get state(): HandshakeState {
    return this.#state;
  }

  /** The negotiated cipher suite, once the ServerHello has been processed. */
  get suite(): CipherSuite | undefined {
    return this.#suite;
  }

  /** The handshake facts, once connected. */
  get info(): TlsHandshakeInfo | undefined {
    return this.#info;
  }

  /**
   * Whether a plaintext change_cipher_spec record may arrive now: after the first
   * ClientHello and before the server's Finished (RFC 8446 §5).
   */
  get acceptsChangeCipherSpec(): boolean {
    return this.#state !== "START" && this.#state !== "CONNECTED";
  }

  #event(event: string): void {
    this.#timeline.push({
      event,
      atMs: Math.round((this.#clock() - this.#startedAt) * 1000) / 1000,
    });
  }

  /** Builds the first ClientHello. */
  async start(): Promise<HandshakeAction[]> {
    if (this.#state !== "START") throw new Error("ClientHandshake.start() called twice");
    this.#startedAt = this.#clock();
    const c = this.#config;
    this.#clientRandom = this.#random(32);
    // A non-empty legacy_session_id for middlebox compatibility (RFC 8446 Appendix D.4).
    this.#sessionId = this.#random(32);
    const shareGroups = c.keyShareGroups.filter((g) => c.groups.includes(g));
    if (!shareGroups.length) shareGroups.push(c.groups[0]);
    this.#keyShares = await Promise.all(
      shareGroups.map((g) => generateKeyShare(g, this.#config.random)),
    );
    if (c.ticketCache) {
      this.#ticket = c.ticketCache.take(
        c.serverName,
        c.now(),
        (name) => c.cipherSuites.some((s) => s.name === name),
      );
    }
    const hello = this.#replaceForTest(this.#clientHello([]));
    this.#transcript.push(hello);
    this.#state = "WAIT_SH";
    this.#event(
      `ClientHello sent (key shares: ${shareGroups.join(", ")}${
        this.#pskOffered ? "; offering a session ticket" : ""
      })`,
    );
    return [{
      kind: "send",
      contentType: ContentType.handshake,
      data: hello,
      legacyVersion: LEGACY_CLIENT_HELLO_VERSION,
    }];
  }

  /** Encodes a ClientHello; `prefix` is the transcript before it (after an HRR). */
  #clientHello(prefix: Uint8Array[]): Uint8Array {
    const c = this.#config;
    let psk: OfferedPsk | undefined;
    const ticketSuite = this.#ticket && cipherSuite(this.#ticket.cipherSuite);
    if (this.#ticket && ticketSuite) {
      const age = Math.max(0, c.now() - this.#ticket.receivedAt);
      psk = {
        identity: this.#ticket.ticket,
        obfuscatedTicketAge: (age + this.#ticket.ageAdd) >>> 0,
        binderLength: ticketSuite.hashLength,
      };
    }
    this.#pskOffered = !!psk;
    const { message, bindersLength } = encodeClientHello({
      random: this.#clientRandom,
      sessionId: this.#sessionId,
      cipherSuites: c.cipherSuites.map((s) => s.id),
      serverName: c.sendServerName ? c.serverName : undefined,
      alpnProtocols: c.alpnProtocols,
      groups: c.groups.map((g) => NAMED_GROUPS[g]),
      keyShares: this.#keyShares.map((k) => ({
        group: NAMED_GROUPS[k.group],
        keyExchange: k.publicKey,
      })),
      signatureSchemes: SIGNATURE_SCHEMES.map((s) => s.id),
      cookie: this.#cookie,
      psk,
      // Without a ticket cache, invite no tickets: they would be dropped, and a server that
      // sends them separately before its first response can stall it on Nagle's algorithm.
      pskModes: c.ticketCache !== undefined,
    });
    if (psk && ticketSuite && this.#ticket) {
      // The binder covers the transcript up to and including the truncated ClientHello
      // (RFC 8446 §4.2.11.2).
      const h = ticketSuite.hash.create();
      for (const m of prefix) h.update(m);
      h.update(message.subarray(0, message.length - bindersLength));
      const binderKey = new KeySchedule(ticketSuite.hash, this.#ticket.psk).resumptionBinderKey();
      setPskBinder(message, finishedVerifyData(ticketSuite.hash, binderKey, h.digest()));
    }
    return message;
  }

  /**
   * Returns `built`, or the test's replacement for it (see {@linkcode ClientHandshakeTestHooks})
   * after adopting its random and legacy_session_id and checking its key shares.
   */
  #replaceForTest(built: Uint8Array): Uint8Array {
    const replacement = this.#replacementHellos.shift();
    if (!replacement) return built;
    if (replacement[0] !== HandshakeType.client_hello) {
      throw new TypeError("test ClientHello replacement is not a ClientHello");
    }
    const ours = decodeClientHello(built.subarray(4));
    const ch = decodeClientHello(replacement.subarray(4));
    const shares: ClientKeyShare[] = [];
    for (const [group, keyExchange] of ch.keyShares) {
      const share = this.#keyShares.find((k) =>
        NAMED_GROUPS[k.group] === group && bytesEqual(k.publicKey, keyExchange)
      );
      if (!share) {
        throw new TypeError(
          `test ClientHello carries a key share for group 0x${
            group.toString(16)
          } this client did not generate`,
        );
      }
      shares.push(share);
    }
    const psk = ExtensionType.pre_shared_key;
    if (ch.extensions.has(psk) !== ours.extensions.has(psk)) {
      throw new TypeError("test ClientHello and the built one differ in offering a PSK");
    }
    this.#keyShares = shares;
    this.#clientRandom = ch.random.slice();
    this.#sessionId = ch.sessionId.slice();
    this.#replacementOnlyExtensions = [...ch.extensions.keys()].filter((t) =>
      !ours.extensions.has(t)
    );
    return replacement.slice();
  }

  /** Processes one handshake message from the server. */
  handle(message: HandshakeMessage): Promise<HandshakeAction[]> {
    switch (this.#state) {
      case "WAIT_SH":
        return this.#onServerHello(this.#expect(message, HandshakeType.server_hello));
      case "WAIT_EE":
        return Promise.resolve(
          this.#onEncryptedExtensions(this.#expect(message, HandshakeType.encrypted_extensions)),
        );
      case "WAIT_CERT_CR":
        if (message.type === HandshakeType.certificate_request) {
          return Promise.resolve(this.#onCertificateRequest(message));
        }
        return this.#onCertificate(this.#expect(message, HandshakeType.certificate));
      case "WAIT_CERT":
        return this.#onCertificate(this.#expect(message, HandshakeType.certificate));
      case "WAIT_CV":
        return this.#onCertificateVerify(this.#expect(message, HandshakeType.certificate_verify));
      case "WAIT_FINISHED":
        return Promise.resolve(this.#onFinished(this.#expect(message, HandshakeType.finished)));
      case "CONNECTED":
        return Promise.resolve(this.#onPostHandshake(message));
      default:
        throw new UnexpectedMessage(`handshake message ${message.type} before ClientHello`);
    }
  }

  #expect(message: HandshakeMessage, type: number): HandshakeMessage {
    if (message.type !== type) {
      throw new UnexpectedMessage(
        `handshake message ${messageName(message.type)} in state ${this.#state} (expected ${
          messageName(type)
        })`,
      );
    }
    return message;
  }

  #addToTranscript(raw: Uint8Array): void {
    if (this.#hash) this.#hash.update(raw);
    else this.#transcript.push(raw.slice());
  }

  #transcriptHash(): Uint8Array {
    return this.#hash!.clone().digest();
  }

  // -------------------------------------------------------------------------------------------

  async #onServerHello(message: HandshakeMessage): Promise<HandshakeAction[]> {
    const sh = decodeServerHello(message.body);
    const tail = sh.random.subarray(24);
    // RFC 8446 §4.1.3: a TLS 1.3 server negotiating an older version marks its random.
    if (bytesEqual(tail, DOWNGRADE_TLS12) || bytesEqual(tail, DOWNGRADE_TLS11)) {
      throw new ProtocolVersionRefused(
        "ServerHello.random carries a downgrade sentinel: the server (or an attacker) negotiated TLS 1.2 or older",
        AlertDescription.illegal_parameter,
      );
    }
    const versions = sh.extensions.get(ExtensionType.supported_versions);
    if (!versions) {
      throw new ProtocolVersionRefused(
        `server does not support TLS 1.3 (it answered with version 0x${
          sh.legacyVersion.toString(16)
        })`,
      );
    }
    if (versions.length !== 2 || ((versions[0] << 8) | versions[1]) !== TLS13) {
      throw new IllegalParameter("server selected a version other than TLS 1.3");
    }
    if (sh.legacyVersion !== 0x0303) {
      throw new IllegalParameter("ServerHello legacy_version is not 0x0303");
    }
    if (!bytesEqual(sh.sessionIdEcho, this.#sessionId)) {
      throw new IllegalParameter("ServerHello does not echo our legacy_session_id");
    }
    if (sh.compressionMethod !== 0) {
      throw new IllegalParameter("ServerHello compression method is not null");
    }
    const suite = this.#config.cipherSuites.find((s) => s.id === sh.cipherSuite);
    if (!suite) {
      throw new IllegalParameter(
        `server chose cipher suite 0x${sh.cipherSuite.toString(16)} we did not offer`,
      );
    }
    return sh.isHelloRetryRequest
      ? this.#onHelloRetryRequest(message, sh, suite)
      : await this.#onRealServerHello(message, sh, suite);
  }

  async #onHelloRetryRequest(
    message: HandshakeMessage,
    hrr: ServerHello,
    suite: CipherSuite,
  ): Promise<HandshakeAction[]> {
    if (this.#helloRetry) throw new UnexpectedMessage("second HelloRetryRequest");
    this.#helloRetry = hrr;
    allowOnly(hrr.extensions, "HelloRetryRequest", [
      ExtensionType.supported_versions,
      ExtensionType.key_share,
      ExtensionType.cookie,
    ]);
    let changed = false;
    const ks = hrr.extensions.get(ExtensionType.key_share);
    let newGroup: NamedGroupName | undefined;
    if (ks) {
      const selected = decoding("HelloRetryRequest key_share", () => {
        const r = new ByteReader(ks);
        const g = r.u16();
        r.end();
        return g;
      });
      const name = groupName(selected);
      if (!name || !this.#config.groups.includes(name)) {
        throw new IllegalParameter(
          `HelloRetryRequest selected group 0x${selected.toString(16)} we did not offer`,
        );
      }
      if (this.#keyShares.some((k) => k.group === name)) {
        throw new IllegalParameter(
          `HelloRetryRequest selected ${name}, for which we already sent a share`,
        );
      }
      newGroup = name;
      changed = true;
    }
    const cookie = hrr.extensions.get(ExtensionType.cookie);
    if (cookie) {
      this.#cookie = decoding("cookie", () => {
        const r = new ByteReader(cookie);
        const v = r.vector(2);
        r.end();
        if (!v.length) throw new DecodeError("empty cookie");
        return v;
      });
      changed = true;
    }
    if (!changed) throw new IllegalParameter("HelloRetryRequest would not change the ClientHello");
    this.#suite = suite;
    const asked = [
      ...(newGroup ? [`group ${newGroup}`] : []),
      ...(cookie ? [`cookie of ${this.#cookie!.length} bytes`] : []),
    ];
    this.#event(`HelloRetryRequest received (${asked.join(", ")}; ${suite.name})`);

    // Transcript: message_hash(ClientHello1) || HelloRetryRequest (RFC 8446 §4.4.1).
    const ch1Hash = suite.hash(this.#transcript[0]);
    const prefix = [handshakeMessage(HandshakeType.message_hash, ch1Hash), message.raw.slice()];
    this.#transcript = [...prefix];
    if (newGroup) this.#keyShares = [await generateKeyShare(newGroup, this.#config.random)];
    // A PSK whose hash differs from the suite the server chose cannot be offered again.
    if (this.#ticket && cipherSuite(this.#ticket.cipherSuite)?.hash !== suite.hash) {
      this.#ticket = undefined;
    }
    const hello = this.#replaceForTest(this.#clientHello(prefix));
    this.#transcript.push(hello);
    const actions: HandshakeAction[] = [];
    if (!this.#changeCipherSpecSent) {
      this.#changeCipherSpecSent = true;
      actions.push({
        kind: "send",
        contentType: ContentType.change_cipher_spec,
        data: new Uint8Array([1]),
      });
    }
    actions.push({ kind: "send", contentType: ContentType.handshake, data: hello });
    this.#event("second ClientHello sent");
    return actions;
  }

  async #onRealServerHello(
    message: HandshakeMessage,
    sh: ServerHello,
    suite: CipherSuite,
  ): Promise<HandshakeAction[]> {
    if (this.#helloRetry && this.#suite !== suite) {
      throw new IllegalParameter("ServerHello cipher suite differs from the HelloRetryRequest's");
    }
    allowOnly(sh.extensions, "ServerHello", [
      ExtensionType.supported_versions,
      ExtensionType.key_share,
      ExtensionType.pre_shared_key,
    ]);
    let psk: Uint8Array | undefined;
    const pskExt = sh.extensions.get(ExtensionType.pre_shared_key);
    if (pskExt) {
      if (!this.#pskOffered || !this.#ticket) {
        throw new UnsupportedExtension("server accepted a PSK we did not offer");
      }
      const selected = decoding("pre_shared_key", () => {
        const r = new ByteReader(pskExt);
        const v = r.u16();
        r.end();
        return v;
      });
      if (selected !== 0) {
        throw new IllegalParameter(`server selected PSK identity ${selected} of 1`);
      }
      if (cipherSuite(this.#ticket.cipherSuite)?.hash !== suite.hash) {
        throw new IllegalParameter("server resumed with a cipher suite of a different hash");
      }
      psk = this.#ticket.psk;
      this.#resumed = true;
    }
    const ks = sh.extensions.get(ExtensionType.key_share);
    // We offer only psk_dhe_ke, so a key share is always required.
    if (!ks) throw new MissingExtension("key_share");
    const { group, keyExchange } = decoding("ServerHello key_share", () => {
      const r = new ByteReader(ks);
      const group = r.u16();
      const keyExchange = r.vector(2);
      r.end();
      return { group, keyExchange };
    });
    const share = this.#keyShares.find((k) => NAMED_GROUPS[k.group] === group);
    if (!share) {
      throw new IllegalParameter(
        `server key share for group 0x${group.toString(16)} we sent no share for`,
      );
    }
    const sharedSecret = await share.complete(keyExchange);

    this.#suite = suite;
    this.#group = share.group;
    this.#hash = suite.hash.create();
    for (const m of this.#transcript) this.#hash.update(m);
    this.#transcript = [];
    this.#addToTranscript(message.raw);
    this.#schedule = new KeySchedule(suite.hash, psk);
    const hs = this.#schedule.handshake(sharedSecret, this.#transcriptHash());
    this.#clientHandshakeSecret = hs.clientSecret;
    this.#serverHandshakeSecret = hs.serverSecret;
    this.#state = "WAIT_EE";
    this.#event(
      `ServerHello received (${suite.name}, ${share.group}${
        this.#resumed ? ", PSK accepted" : ""
      })`,
    );
    // Our writes switch to the handshake keys now too: the server expects anything we send
    // after its ServerHello (our Finished, or an alert) to be protected.
    return [
      { kind: "installReadKeys", secret: hs.serverSecret },
      { kind: "installWriteKeys", secret: hs.clientSecret },
    ];
  }

  #onEncryptedExtensions(message: HandshakeMessage): HandshakeAction[] {
    const exts = decodeEncryptedExtensions(message.body);
    const allowed: number[] = [ExtensionType.supported_groups];
    if (this.#config.sendServerName) allowed.push(ExtensionType.server_name);
    if (this.#config.alpnProtocols.length) {
      allowed.push(ExtensionType.application_layer_protocol_negotiation);
    }
    allowed.push(...this.#replacementOnlyExtensions);
    allowOnly(exts, "EncryptedExtensions", allowed);
    const sni = exts.get(ExtensionType.server_name);
    if (sni && sni.length) {
      throw new DecodeError("server_name in EncryptedExtensions must be empty");
    }
    const alpn = exts.get(ExtensionType.application_layer_protocol_negotiation);
    if (alpn) {
      const proto = decoding("ALPN", () => {
        const r = new ByteReader(alpn);
        const list = r.sub(2);
        r.end();
        const p = list.vector(1);
        list.end();
        return new TextDecoder().decode(p);
      });
      if (!this.#config.alpnProtocols.includes(proto)) throw new AlpnMismatch(proto);
      this.#alpn = proto;
    }
    this.#addToTranscript(message.raw);
    this.#state = this.#resumed ? "WAIT_FINISHED" : "WAIT_CERT_CR";
    this.#event(`EncryptedExtensions received${this.#alpn ? ` (ALPN ${this.#alpn})` : ""}`);
    return [];
  }

  #onCertificateRequest(message: HandshakeMessage): HandshakeAction[] {
    const { context } = decodeCertificateRequest(message.body);
    this.#certificateRequestContext = context.slice();
    this.#addToTranscript(message.raw);
    this.#state = "WAIT_CERT";
    this.#event("CertificateRequest received (we will send no certificate)");
    return [];
  }

  async #onCertificate(message: HandshakeMessage): Promise<HandshakeAction[]> {
    const cert = decodeCertificate(message.body);
    if (cert.context.length) {
      throw new IllegalParameter("server Certificate with a request context");
    }
    // RFC 8446 §4.4.2.4: an empty server Certificate is a decode_error.
    if (!cert.entries.length) throw new DecodeError("server sent an empty Certificate message");
    for (const e of cert.entries) {
      if (e.extensions.size) {
        throw new UnsupportedExtension("CertificateEntry extension we did not request");
      }
    }
    this.#addToTranscript(message.raw);
    this.#event(`Certificate received (${cert.entries.length} certificate(s))`);
    const certificates = cert.entries.map((e) => e.data.slice());
    this.#peer = await this.#config.verifyCertificates(certificates);
    this.#verified = this.#peer.verified;
    this.#peerInfo = describeCertificate(this.#peer.leaf, this.#peer.pathLength);
    this.#peerCertificates = this.#peer.certificates;
    this.#event(
      this.#verified
        ? `certificate chain verified (${this.#peer.pathLength} certificates to a trust anchor)`
        : "certificate chain NOT verified (insecureSkipVerify)",
    );
    this.#state = "WAIT_CV";
    return [];
  }

  async #onCertificateVerify(message: HandshakeMessage): Promise<HandshakeAction[]> {
    const { scheme: id, signature } = decodeCertificateVerify(message.body);
    const scheme = signatureScheme(id);
    if (!scheme || !scheme.handshake) {
      throw new IllegalParameter(
        `CertificateVerify with signature scheme 0x${id.toString(16)} we did not offer`,
      );
    }
    const leaf = this.#peer!.leaf;
    if (!schemeMatchesKey(scheme, leaf.publicKey)) {
      throw new IllegalParameter(
        `CertificateVerify scheme ${scheme.name} does not fit the ${
          describePublicKey(leaf.publicKey)
        } key`,
      );
    }
    const content = certificateVerifyContent(this.#transcriptHash(), true);
    if (!(await verifySignature(leaf.publicKey, scheme.algorithm, content, signature))) {
      throw new HandshakeSignatureInvalid(
        `server CertificateVerify (${scheme.name}) does not verify`,
      );
    }
    this.#signatureScheme = scheme.name;
    this.#addToTranscript(message.raw);
    this.#state = "WAIT_FINISHED";
    this.#event(`CertificateVerify verified (${scheme.name})`);
    return [];
  }

  #onFinished(message: HandshakeMessage): HandshakeAction[] {
    const suite = this.#suite!;
    if (message.body.length !== suite.hashLength) {
      throw new DecodeError("Finished of the wrong length");
    }
    const expected = finishedVerifyData(
      suite.hash,
      this.#serverHandshakeSecret!,
      this.#transcriptHash(),
    );
    if (!constantTimeEqual(expected, message.body)) {
      throw new HandshakeSignatureInvalid("server Finished does not verify");
    }
    this.#addToTranscript(message.raw);
    this.#event("server Finished verified");
    const app = this.#schedule!.application(this.#transcriptHash());
    this.#serverTrafficSecret = app.serverSecret;
    this.#clientTrafficSecret = app.clientSecret;

    const actions: HandshakeAction[] = [{ kind: "installReadKeys", secret: app.serverSecret }];
    if (!this.#changeCipherSpecSent) {
      this.#changeCipherSpecSent = true;
      actions.push({
        kind: "send",
        contentType: ContentType.change_cipher_spec,
        data: new Uint8Array([1]),
      });
    }
    const flight: Uint8Array[] = [];
    if (this.#certificateRequestContext) {
      const empty = encodeCertificate(this.#certificateRequestContext, []);
      this.#addToTranscript(empty);
      flight.push(empty);
    }
    const finished = encodeFinished(
      finishedVerifyData(suite.hash, this.#clientHandshakeSecret!, this.#transcriptHash()),
    );
    this.#addToTranscript(finished);
    flight.push(finished);
    this.#resumptionSecret = this.#schedule!.resumption(this.#transcriptHash());
    const data = flight.length === 1 ? flight[0] : concatAll(flight);
    actions.push({ kind: "send", contentType: ContentType.handshake, data });
    actions.push({ kind: "installWriteKeys", secret: app.clientSecret });
    this.#state = "CONNECTED";
    this.#event("client Finished sent");
    if (this.#resumed && this.#ticket) {
      this.#peerInfo = this.#ticket.peerCertificate;
      this.#peerCertificates = this.#ticket.peerCertificates;
      this.#verified = this.#ticket.verified;
    }
    this.#info = {
      protocol: "TLSv1.3",
      cipherSuite: suite.name,
      group: this.#group!,
      alpnProtocol: this.#alpn,
      resumed: this.#resumed,
      helloRetryRequest: !!this.#helloRetry,
      signatureScheme: this.#signatureScheme,
      serverName: this.#config.serverName,
      peerCertificate: this.#peerInfo,
      peerCertificates: this.#peerCertificates,
      verified: this.#verified,
      durationMs: Math.round((this.#clock() - this.#startedAt) * 1000) / 1000,
      timeline: this.#timeline,
    };
    actions.push({ kind: "connected", info: this.#info });
    return actions;
  }

  #onPostHandshake(message: HandshakeMessage): HandshakeAction[] {
    switch (message.type) {
      case HandshakeType.new_session_ticket:
        this.#onNewSessionTicket(message);
        return [];
      case HandshakeType.key_update: {
        const requested = decodeKeyUpdate(message.body);
        const suite = this.#suite!;
        this.#serverTrafficSecret = nextTrafficSecret(suite.hash, this.#serverTrafficSecret!);
        const actions: HandshakeAction[] = [
          { kind: "installReadKeys", secret: this.#serverTrafficSecret },
        ];
        // RFC 8446 §4.6.3: answer a request with our own update (not requesting another).
        if (requested) actions.push(...this.keyUpdate(false));
        return actions;
      }
      default:
        throw new UnexpectedMessage(
          `handshake message ${
            messageName(message.type)
          } after the handshake (no renegotiation in TLS 1.3)`,
        );
    }
  }

  #onNewSessionTicket(message: HandshakeMessage): void {
    const t = decodeNewSessionTicket(message.body);
    if (t.lifetime > MAX_TICKET_LIFETIME_S) {
      throw new IllegalParameter(`ticket lifetime ${t.lifetime} s exceeds 7 days`);
    }
    const cache = this.#config.ticketCache;
    if (!cache || t.lifetime === 0) return;
    const suite = this.#suite!;
    cache.put({
      serverName: this.#config.serverName,
      cipherSuite: suite.name,
      psk: ticketPsk(suite.hash, this.#resumptionSecret!, t.nonce),
      ticket: t.ticket.slice(),
      ageAdd: t.ageAdd,
      receivedAt: this.#config.now(),
      lifetimeMs: t.lifetime * 1000,
      alpnProtocol: this.#alpn,
      peerCertificate: this.#peerInfo,
      peerCertificates: this.#peerCertificates,
      verified: this.#verified,
    });
  }

  /**
   * Starts a key update of our sending direction; with `requestPeer` the server is asked to
   * update its direction too (RFC 8446 §4.6.3).
   */
  keyUpdate(requestPeer: boolean): HandshakeAction[] {
    if (this.#state !== "CONNECTED") throw new Error("KeyUpdate before the handshake completed");
    this.#clientTrafficSecret = nextTrafficSecret(this.#suite!.hash, this.#clientTrafficSecret!);
    return [
      { kind: "send", contentType: ContentType.handshake, data: encodeKeyUpdate(requestPeer) },
      { kind: "installWriteKeys", secret: this.#clientTrafficSecret },
    ];
  }
}

function allowOnly(exts: Extensions, where: string, allowed: number[]): void {
  for (const type of exts.keys()) {
    if (!allowed.includes(type)) {
      throw new UnsupportedExtension(
        `extension ${type} is not allowed in ${where} (we did not offer it)`,
      );
    }
  }
}

function concatAll(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const MESSAGE_NAMES = new Map<number, string>(
  Object.entries(HandshakeType).map(([name, code]) => [code, name]),
);

function messageName(type: number): string {
  return MESSAGE_NAMES.get(type) ?? `type ${type}`;
}

/** Summarizes a certificate for {@linkcode TlsHandshakeInfo}. */
export function describeCertificate(cert: Certificate, pathLength: number): PeerCertificateInfo {
  return {
    subject: cert.subject.text,
    issuer: cert.issuer.text,
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    altNames: cert.subjectAltNames.flatMap((n) =>
      n.kind === "dns" ? [n.value] : n.kind === "ip" ? [formatIpAddress(n.value)] : []
    ),
    publicKey: describePublicKey(cert.publicKey),
    sha256Fingerprint: toHex(sha256(cert.der)),
    pathLength,
  };
}
