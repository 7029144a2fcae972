/**
 * A scripted TLS 1.3 server for unit tests. It runs the server side of the handshake with
 * this library's own building blocks and exposes hooks to misbehave on purpose (downgrade
 * sentinels, unexpected messages, odd fragmentation, padding, HelloRetryRequest, tickets,
 * KeyUpdate). It speaks X25519MLKEM768, which Debian's OpenSSL 3.0 cannot, so the hybrid
 * group is tested here.
 *
 * Not part of the public API.
 *
 * @module
 */

import type { Conn } from "../net/conn.ts";
import { buf, ByteReader, bytesEqual, concat, randomBytes } from "./_bytes.ts";
import { AlertDescription } from "./alert.ts";
import { CIPHER_SUITES, type CipherSuite } from "./cipher_suite.ts";
import {
  certificateVerifyContent,
  type ClientHelloFields,
  decodeClientHello,
  encodeCertificate,
  encodeCertificateVerify,
  encodeEncryptedExtensions,
  encodeFinished,
  encodeKeyUpdate,
  encodeNewSessionTicket,
  encodeServerHello,
  ExtensionType,
  handshakeMessage,
  HandshakeType,
  HELLO_RETRY_REQUEST_RANDOM,
} from "./handshake_messages.ts";
import { type HandshakeMessage, HandshakeReassembler } from "./handshake_reassembler.ts";
import { groupName, NAMED_GROUPS, type NamedGroupName, respondToKeyShare } from "./key_exchange.ts";
import { finishedVerifyData, KeySchedule, nextTrafficSecret, ticketPsk } from "./key_schedule.ts";
import { RecordProtection } from "./record_cipher.ts";
import {
  alertContent,
  ContentType,
  openRecord,
  RecordReader,
  sealRecords,
} from "./record_layer.ts";
import type { GeneratedCertificate } from "./x509/generate.ts";
import { derInteger, derSequence } from "./x509/der_writer.ts";

/** A ServerHello about to be encoded; hooks may change any field. */
export interface ServerHelloDraft {
  legacyVersion: number;
  random: Uint8Array;
  cipherSuite: number;
  extensions: Array<[number, Uint8Array]>;
}

/** Options and hooks of the scripted server. */
export interface ScriptedServerOptions {
  /** Certificate chain to send (leaf first) and the leaf's key. */
  chain: GeneratedCertificate[];
  /** Cipher suites in server preference order (default: the client's first offered). */
  cipherSuites?: number[];
  /** Groups in server preference order; HRR when the client sent no share for the first match. */
  groups?: NamedGroupName[];
  /** Send a cookie in a HelloRetryRequest. */
  cookie?: Uint8Array;
  /** ALPN protocol to select (if the client offered it). */
  alpn?: string;
  /** NewSessionTickets to send after the handshake. */
  tickets?: number;
  /** Accept PSK resumption for tickets this server issued. */
  acceptResumption?: boolean;
  /** Send a CertificateRequest. */
  requestClientCertificate?: boolean;
  /** Split handshake messages into records of at most this many bytes. */
  handshakeFragment?: number;
  /** Zero padding added to each protected record. */
  padding?: number;
  /** Change the ServerHello before it is sent. */
  serverHello?: (draft: ServerHelloDraft) => void;
  /** Called after the ServerHello and keys, before EncryptedExtensions. */
  afterServerHello?: (server: ScriptedServer) => Promise<void>;
  /** Extra EncryptedExtensions. */
  extraEncryptedExtensions?: Array<[number, Uint8Array]>;
  /** Sign CertificateVerify over the wrong content. */
  badCertificateVerify?: boolean;
  /** Send a wrong Finished. */
  badFinished?: boolean;
  /** Bytes appended to the ServerHello's record (a handshake message spanning a key change). */
  serverHelloRecordSuffix?: Uint8Array;
  /**
   * Called before each encrypted handshake message of the server's first flight
   * (EncryptedExtensions, CertificateRequest, Certificate, CertificateVerify, Finished) with its
   * type: a test can inject something the client must not accept in that state.
   */
  beforeMessage?: (type: number, server: ScriptedServer) => Promise<void>;
}

/** Tickets issued by scripted servers: identity (hex) → PSK and suite. */
const issuedTickets = new Map<string, { psk: Uint8Array; suite: CipherSuite }>();

/** The server end of a scripted TLS session. */
export class ScriptedServer {
  readonly conn: Conn;
  readonly options: ScriptedServerOptions;
  readonly #reader = new RecordReader();
  readonly #reassembler = new HandshakeReassembler();
  #readProtection: RecordProtection | undefined;
  #writeProtection: RecordProtection | undefined;
  #transcript: Uint8Array[] = [];
  suite!: CipherSuite;
  group!: NamedGroupName;
  clientHello!: ClientHelloFields;
  /** Whether a HelloRetryRequest was sent. */
  helloRetry = false;
  /** Whether the client resumed. */
  resumed = false;
  /** The alert the client sent during the handshake, if any. */
  alertReceived: number | undefined;
  #serverSecret!: Uint8Array;
  #clientSecret!: Uint8Array;
  #resumptionSecret!: Uint8Array;

  constructor(conn: Conn, options: ScriptedServerOptions) {
    this.conn = conn;
    this.options = options;
  }

  #hash(): Uint8Array {
    return this.suite.hash(concat(...this.#transcript));
  }

  /** Reads one record, decrypting it if keys are installed. Skips the client's CCS. */
  async readRecord(): Promise<{ type: number; content: Uint8Array } | null> {
    while (true) {
      const wire = this.#reader.next();
      if (!wire) {
        const n = await this.conn.read(this.#reader.space());
        if (n === null) return null;
        this.#reader.commit(n);
        continue;
      }
      const rec = await openRecord(this.#readProtection, {
        ...wire,
        header: wire.header.slice(),
        fragment: wire.fragment.slice(),
      });
      if (rec.type === ContentType.change_cipher_spec) continue;
      return { type: rec.type, content: rec.content.slice() };
    }
  }

  /** Reads the next handshake message. */
  async readHandshake(): Promise<HandshakeMessage> {
    while (true) {
      const m = this.#reassembler.next();
      if (m) return { type: m.type, body: m.body.slice(), raw: m.raw.slice() };
      const rec = await this.readRecord();
      if (!rec) throw new Error("client closed during the handshake");
      if (rec.type === ContentType.alert) {
        this.alertReceived = rec.content[1];
        throw new Error(`client sent alert ${rec.content[1]}`);
      }
      if (rec.type !== ContentType.handshake) throw new Error(`unexpected record ${rec.type}`);
      this.#reassembler.push(rec.content);
    }
  }

  /** Sends `data` as records of `type` (protected once keys are installed). */
  async send(type: number, data: Uint8Array, plaintext = false): Promise<void> {
    const protection = plaintext ? undefined : this.#writeProtection;
    const fragment = type === ContentType.handshake ? this.options.handshakeFragment : undefined;
    const parts: Uint8Array[] = [];
    if (fragment) {
      for (let i = 0; i < data.length; i += fragment) {
        parts.push(
          await sealRecords(protection, type, data.subarray(i, i + fragment), {
            padding: protection ? this.options.padding : 0,
          }),
        );
      }
    } else {
      parts.push(
        await sealRecords(protection, type, data, {
          padding: protection ? this.options.padding : 0,
        }),
      );
    }
    const all = concat(...parts);
    let off = 0;
    while (off < all.length) off += await this.conn.write(all.subarray(off));
  }

  /** Sends a handshake message and adds it to the transcript. */
  async sendHandshake(message: Uint8Array, plaintext = false): Promise<void> {
    this.#transcript.push(message);
    await this.send(ContentType.handshake, message, plaintext);
  }

  /** Runs the server handshake; resolves once the client's Finished was verified. */
  async handshake(): Promise<void> {
    const o = this.options;
    let ch1 = await this.readHandshake();
    if (ch1.type !== HandshakeType.client_hello) throw new Error("expected ClientHello");
    let hello = decodeClientHello(ch1.body);
    const suiteIds = o.cipherSuites ?? hello.cipherSuites;
    const suite = CIPHER_SUITES.find((s) =>
      s.id === suiteIds.find((id) => hello.cipherSuites.includes(id))
    );
    if (!suite) throw new Error("no common cipher suite");
    this.suite = suite;
    const prefs = o.groups ??
      (hello.supportedGroups.map(groupName).filter(Boolean) as NamedGroupName[]);
    const group = prefs.find((g) => hello.supportedGroups.includes(NAMED_GROUPS[g]));
    if (!group) throw new Error("no common group");
    this.group = group;

    if (!hello.keyShares.has(NAMED_GROUPS[group]) || o.cookie) {
      // HelloRetryRequest.
      this.helloRetry = true;
      const exts: Array<[number, Uint8Array]> = [[
        ExtensionType.supported_versions,
        new Uint8Array([3, 4]),
      ]];
      if (!hello.keyShares.has(NAMED_GROUPS[group])) {
        exts.push([
          ExtensionType.key_share,
          new Uint8Array([NAMED_GROUPS[group] >> 8, NAMED_GROUPS[group] & 0xff]),
        ]);
      }
      if (o.cookie) {
        exts.push([
          ExtensionType.cookie,
          concat(new Uint8Array([o.cookie.length >> 8, o.cookie.length]), o.cookie),
        ]);
      }
      const hrr = encodeServerHello({
        random: HELLO_RETRY_REQUEST_RANDOM,
        sessionIdEcho: hello.sessionId,
        cipherSuite: suite.id,
        extensions: exts,
      });
      this.#transcript = [handshakeMessage(HandshakeType.message_hash, suite.hash(ch1.raw)), hrr];
      await this.send(ContentType.handshake, hrr, true);
      await this.send(ContentType.change_cipher_spec, new Uint8Array([1]), true);
      ch1 = await this.readHandshake();
      hello = decodeClientHello(ch1.body);
      if (o.cookie) {
        const c = hello.extensions.get(ExtensionType.cookie);
        if (!c || !bytesEqual(c.subarray(2), o.cookie)) throw new Error("cookie not echoed");
      }
    }
    this.clientHello = hello;
    this.#transcript.push(ch1.raw);

    // Resumption.
    let psk: Uint8Array | undefined;
    const pskExt = hello.extensions.get(ExtensionType.pre_shared_key);
    if (pskExt && o.acceptResumption) {
      const r = new ByteReader(pskExt);
      const ids = r.sub(2);
      const identity = ids.vector(2);
      ids.u32();
      const binders = r.sub(2);
      const binder = binders.vector(1);
      const known = issuedTickets.get(Array.from(identity).join(","));
      if (known && known.suite.hash === suite.hash) {
        // Check the binder over the truncated ClientHello.
        const bindersLength = 2 + 1 + binder.length;
        const truncated = ch1.raw.subarray(0, ch1.raw.length - bindersLength);
        const prefix = this.#transcript.slice(0, -1);
        const binderKey = new KeySchedule(suite.hash, known.psk).resumptionBinderKey();
        const expected = finishedVerifyData(
          suite.hash,
          binderKey,
          suite.hash(concat(...prefix, truncated)),
        );
        if (!bytesEqual(expected, binder)) throw new Error("bad PSK binder");
        psk = known.psk;
        this.resumed = true;
      }
    }

    const share = await respondToKeyShare(group, hello.keyShares.get(NAMED_GROUPS[group])!);
    const draft: ServerHelloDraft = {
      legacyVersion: 0x0303,
      random: randomBytes(32),
      cipherSuite: suite.id,
      extensions: [
        [ExtensionType.supported_versions, new Uint8Array([3, 4])],
        [
          ExtensionType.key_share,
          concat(
            new Uint8Array([
              NAMED_GROUPS[group] >> 8,
              NAMED_GROUPS[group] & 0xff,
              share.publicKey.length >> 8,
              share.publicKey.length & 0xff,
            ]),
            share.publicKey,
          ),
        ],
        ...(psk
          ? [[ExtensionType.pre_shared_key, new Uint8Array([0, 0])] as [number, Uint8Array]]
          : []),
      ],
    };
    o.serverHello?.(draft);
    const sh = encodeServerHello({ ...draft, sessionIdEcho: hello.sessionId });
    this.#transcript.push(sh);
    await this.send(
      ContentType.handshake,
      o.serverHelloRecordSuffix ? concat(sh, o.serverHelloRecordSuffix) : sh,
      true,
    );
    if (!this.helloRetry) {
      await this.send(ContentType.change_cipher_spec, new Uint8Array([1]), true);
    }

    const schedule = new KeySchedule(suite.hash, psk);
    const hs = schedule.handshake(share.sharedSecret, this.#hash());
    this.#writeProtection = await RecordProtection.fromSecret(suite, hs.serverSecret);
    this.#readProtection = await RecordProtection.fromSecret(suite, hs.clientSecret);
    await o.afterServerHello?.(this);

    const ee: Array<[number, Uint8Array]> = [];
    if (o.alpn && hello.alpnProtocols.includes(o.alpn)) {
      const p = new TextEncoder().encode(o.alpn);
      ee.push([
        ExtensionType.application_layer_protocol_negotiation,
        concat(new Uint8Array([0, p.length + 1, p.length]), p),
      ]);
    }
    ee.push(...(o.extraEncryptedExtensions ?? []));
    await o.beforeMessage?.(HandshakeType.encrypted_extensions, this);
    await this.sendHandshake(encodeEncryptedExtensions(ee));
    if (!psk) {
      if (o.requestClientCertificate) {
        await o.beforeMessage?.(HandshakeType.certificate_request, this);
        await this.sendHandshake(
          handshakeMessage(
            HandshakeType.certificate_request,
            // empty context; signature_algorithms with ecdsa_secp256r1_sha256
            new Uint8Array([0, 0, 8, 0, 13, 0, 4, 0, 2, 4, 3]),
          ),
        );
      }
      await o.beforeMessage?.(HandshakeType.certificate, this);
      await this.sendHandshake(encodeCertificate(new Uint8Array(0), o.chain.map((c) => c.der)));
      const content = certificateVerifyContent(
        o.badCertificateVerify ? new Uint8Array(suite.hashLength) : this.#hash(),
        true,
      );
      const { scheme, signature } = await signCertificateVerify(o.chain[0], content);
      await o.beforeMessage?.(HandshakeType.certificate_verify, this);
      await this.sendHandshake(encodeCertificateVerify(scheme, signature));
    }
    const verify = finishedVerifyData(suite.hash, hs.serverSecret, this.#hash());
    if (o.badFinished) verify[0] ^= 1;
    await o.beforeMessage?.(HandshakeType.finished, this);
    await this.sendHandshake(encodeFinished(verify));
    const app = schedule.application(this.#hash());
    this.#writeProtection = await RecordProtection.fromSecret(suite, app.serverSecret);
    this.#serverSecret = app.serverSecret;
    this.#clientSecret = app.clientSecret;

    if (o.requestClientCertificate && !psk) {
      const cert = await this.readHandshake();
      if (cert.type !== HandshakeType.certificate) throw new Error("expected empty Certificate");
      this.#transcript.push(cert.raw);
    }
    const fin = await this.readHandshake();
    if (fin.type !== HandshakeType.finished) throw new Error("expected client Finished");
    const expected = finishedVerifyData(suite.hash, hs.clientSecret, this.#hash());
    if (!bytesEqual(expected, fin.body)) throw new Error("client Finished does not verify");
    this.#transcript.push(fin.raw);
    this.#resumptionSecret = schedule.resumption(this.#hash());
    this.#readProtection = await RecordProtection.fromSecret(suite, app.clientSecret);
    for (let i = 0; i < (o.tickets ?? 0); i++) await this.sendTicket(i);
  }

  /** Issues a NewSessionTicket. */
  async sendTicket(n: number): Promise<void> {
    const ticket = randomBytes(32);
    const nonce = new Uint8Array([n]);
    issuedTickets.set(Array.from(ticket).join(","), {
      psk: ticketPsk(this.suite.hash, this.#resumptionSecret, nonce),
      suite: this.suite,
    });
    await this.send(
      ContentType.handshake,
      encodeNewSessionTicket({ lifetime: 3600, ageAdd: 12345, nonce, ticket }),
    );
  }

  /** Sends application data. */
  sendData(data: Uint8Array): Promise<void> {
    return this.send(ContentType.application_data, data);
  }

  /** Reads application data until `n` bytes arrived (handling the client's KeyUpdates). */
  async readData(n: number): Promise<Uint8Array> {
    const parts: Uint8Array[] = [];
    let got = 0;
    while (got < n) {
      const rec = await this.readRecord();
      if (!rec) throw new Error("EOF");
      if (rec.type === ContentType.handshake) {
        this.#reassembler.push(rec.content);
        for (let m = this.#reassembler.next(); m; m = this.#reassembler.next()) {
          await this.#onClientKeyUpdate(m);
        }
        continue;
      }
      if (rec.type !== ContentType.application_data) throw new Error(`record type ${rec.type}`);
      parts.push(rec.content);
      got += rec.content.length;
    }
    return concat(...parts);
  }

  /** KeyUpdates received from the client. */
  keyUpdatesReceived = 0;

  async #onClientKeyUpdate(m: HandshakeMessage): Promise<void> {
    if (m.type !== HandshakeType.key_update) throw new Error(`handshake type ${m.type}`);
    this.keyUpdatesReceived++;
    this.#clientSecret = nextTrafficSecret(this.suite.hash, this.#clientSecret);
    this.#readProtection = await RecordProtection.fromSecret(this.suite, this.#clientSecret);
    if (m.body[0] === 1) await this.sendKeyUpdate(false);
  }

  /** Sends a KeyUpdate and switches to the next write key. */
  async sendKeyUpdate(requestUpdate: boolean): Promise<void> {
    await this.send(ContentType.handshake, encodeKeyUpdate(requestUpdate));
    this.#serverSecret = nextTrafficSecret(this.suite.hash, this.#serverSecret);
    this.#writeProtection = await RecordProtection.fromSecret(this.suite, this.#serverSecret);
  }

  /** Sends an alert. */
  sendAlert(description: number): Promise<void> {
    return this.send(ContentType.alert, alertContent(description));
  }

  /** Sends close_notify. */
  sendCloseNotify(): Promise<void> {
    return this.sendAlert(AlertDescription.close_notify);
  }

  /** Reads records until an alert arrives; returns its description (null at EOF). */
  async readAlert(): Promise<number | null> {
    while (true) {
      let rec;
      try {
        rec = await this.readRecord();
      } catch {
        return null;
      }
      if (!rec) return null;
      if (rec.type === ContentType.alert) return rec.content[1];
    }
  }

  /** Writes raw bytes to the client. */
  async sendRaw(bytes: Uint8Array): Promise<void> {
    let off = 0;
    while (off < bytes.length) off += await this.conn.write(bytes.subarray(off));
  }
}

async function signCertificateVerify(
  cert: GeneratedCertificate,
  content: Uint8Array,
): Promise<{ scheme: number; signature: Uint8Array }> {
  switch (cert.keyType) {
    case "P-256":
    case "P-384": {
      const hash = cert.keyType === "P-256" ? "SHA-256" : "SHA-384";
      const raw = new Uint8Array(
        await crypto.subtle.sign({ name: "ECDSA", hash }, cert.privateKey, buf(content)),
      );
      const half = raw.length / 2;
      return {
        scheme: cert.keyType === "P-256" ? 0x0403 : 0x0503,
        signature: derSequence(derInteger(raw.subarray(0, half)), derInteger(raw.subarray(half))),
      };
    }
    case "Ed25519":
      return {
        scheme: 0x0807,
        signature: new Uint8Array(
          await crypto.subtle.sign("Ed25519", cert.privateKey, buf(content)),
        ),
      };
    case "RSA": {
      const pkcs8 = await crypto.subtle.exportKey("pkcs8", cert.privateKey);
      const key = await crypto.subtle.importKey(
        "pkcs8",
        pkcs8,
        { name: "RSA-PSS", hash: "SHA-256" },
        false,
        [
          "sign",
        ],
      );
      return {
        scheme: 0x0804,
        signature: new Uint8Array(
          await crypto.subtle.sign({ name: "RSA-PSS", saltLength: 32 }, key, buf(content)),
        ),
      };
    }
  }
}
