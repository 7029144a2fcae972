/**
 * Encoding and decoding of TLS 1.3 handshake messages and extensions (RFC 8446 §4).
 * Decoders are strict: lengths must match exactly, duplicate extensions are refused
 * (RFC 8446 §4.2), and every failure is a {@linkcode DecodeError} or a more specific
 * {@linkcode TlsProtocolError}.
 *
 * Server-side encoders and the ClientHello decoder exist for scripted test servers.
 *
 * @module
 */

import { ByteReader, ByteWriter, ShortInput } from "./_bytes.ts";
import { DecodeError, IllegalParameter, TlsProtocolError } from "./errors.ts";

/** Handshake message types (RFC 8446 §4). */
export const HandshakeType = {
  client_hello: 1,
  server_hello: 2,
  new_session_ticket: 4,
  end_of_early_data: 5,
  encrypted_extensions: 8,
  certificate: 11,
  certificate_request: 13,
  certificate_verify: 15,
  finished: 20,
  key_update: 24,
  message_hash: 254,
} as const;

/** Extension types used here (RFC 8446 §4.2, RFC 6066, RFC 7301). */
export const ExtensionType = {
  server_name: 0,
  supported_groups: 10,
  signature_algorithms: 13,
  application_layer_protocol_negotiation: 16,
  pre_shared_key: 41,
  early_data: 42,
  supported_versions: 43,
  cookie: 44,
  psk_key_exchange_modes: 45,
  signature_algorithms_cert: 50,
  key_share: 51,
} as const;

/** TLS 1.3's version number in supported_versions. */
export const TLS13 = 0x0304;

/** The ServerHello.random of a HelloRetryRequest: SHA-256("HelloRetryRequest"). */
export const HELLO_RETRY_REQUEST_RANDOM = new Uint8Array([
  0xcf,
  0x21,
  0xad,
  0x74,
  0xe5,
  0x9a,
  0x61,
  0x11,
  0xbe,
  0x1d,
  0x8c,
  0x02,
  0x1e,
  0x65,
  0xb8,
  0x91,
  0xc2,
  0xa2,
  0x11,
  0x16,
  0x7a,
  0xbb,
  0x8c,
  0x5e,
  0x07,
  0x9e,
  0x09,
  0xe2,
  0xc8,
  0xa8,
  0x33,
  0x9c,
]);

/** Last 8 bytes of ServerHello.random from a TLS 1.3 server negotiating TLS 1.2 / 1.1 or below. */
export const DOWNGRADE_TLS12 = new Uint8Array([0x44, 0x4f, 0x57, 0x4e, 0x47, 0x52, 0x44, 0x01]);
/** See {@linkcode DOWNGRADE_TLS12}. */
export const DOWNGRADE_TLS11 = new Uint8Array([0x44, 0x4f, 0x57, 0x4e, 0x47, 0x52, 0x44, 0x00]);

/** Runs a decoder, turning truncation and trailing bytes into {@linkcode DecodeError}. */
export function decoding<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof ShortInput) throw new DecodeError(`${what}: ${e.message}`, { cause: e });
    throw e;
  }
}

/** Wraps a body in a handshake header. */
export function handshakeMessage(type: number, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + body.length);
  out[0] = type;
  out[1] = body.length >>> 16;
  out[2] = body.length >>> 8;
  out[3] = body.length;
  out.set(body, 4);
  return out;
}

/** An extension list in wire order. */
export type Extensions = Map<number, Uint8Array>;

/** Reads an extension block (u16 length), refusing duplicates. */
export function readExtensions(r: ByteReader, what: string): Extensions {
  const block = r.sub(2, `${what} extensions`);
  const out: Extensions = new Map();
  while (block.remaining) {
    const type = block.u16("extension type");
    const data = block.vector(2, "extension data");
    if (out.has(type)) throw new IllegalParameter(`duplicate extension ${type} in ${what}`);
    out.set(type, data);
  }
  return out;
}

function writeExtensions(w: ByteWriter, exts: Array<[number, Uint8Array]>): void {
  w.begin(2);
  for (const [type, data] of exts) w.u16(type).vector(2, data);
  w.end();
}

// ---------------------------------------------------------------------------------------------
// ClientHello

/** A PSK identity offered for resumption. */
export interface OfferedPsk {
  /** The ticket. */
  identity: Uint8Array;
  /** obfuscated_ticket_age. */
  obfuscatedTicketAge: number;
  /** Length of the binder (the PSK hash's output length). */
  binderLength: number;
}

/** The fields of a ClientHello this client sends. */
export interface ClientHelloParams {
  random: Uint8Array;
  sessionId: Uint8Array;
  cipherSuites: number[];
  serverName?: string;
  alpnProtocols?: string[];
  groups: number[];
  keyShares: Array<{ group: number; keyExchange: Uint8Array }>;
  signatureSchemes: number[];
  cookie?: Uint8Array;
  psk?: OfferedPsk;
  /**
   * Send psk_key_exchange_modes (psk_dhe_ke); default true. A client that keeps no tickets
   * leaves it out, so that servers send none (RFC 8446 §4.2.9, §4.6.1).
   */
  pskModes?: boolean;
  /** Extra extensions (tests only), inserted before pre_shared_key. */
  extraExtensions?: Array<[number, Uint8Array]>;
}

/**
 * Encodes a ClientHello message (with header). When a PSK is offered, its binder is zeros;
 * {@linkcode setPskBinder} fills it in. Returns the message and the length of the binders
 * list at its end (0 without PSK).
 */
export function encodeClientHello(
  p: ClientHelloParams,
): { message: Uint8Array; bindersLength: number } {
  const w = new ByteWriter(512 + p.keyShares.reduce((n, k) => n + k.keyExchange.length, 0));
  w.u16(0x0303).bytes(p.random).vector(1, p.sessionId);
  w.begin(2);
  for (const s of p.cipherSuites) w.u16(s);
  w.end();
  w.vector(1, new Uint8Array([0])); // legacy_compression_methods: null
  const exts: Array<[number, Uint8Array]> = [];
  if (p.serverName) {
    const name = new TextEncoder().encode(p.serverName);
    exts.push([
      ExtensionType.server_name,
      new ByteWriter().begin(2).u8(0).vector(2, name).end().finish(),
    ]);
  }
  exts.push([ExtensionType.supported_versions, new Uint8Array([2, 0x03, 0x04])]);
  exts.push([ExtensionType.supported_groups, u16List(p.groups)]);
  exts.push([ExtensionType.signature_algorithms, u16List(p.signatureSchemes)]);
  if (p.alpnProtocols?.length) {
    const a = new ByteWriter().begin(2);
    for (const proto of p.alpnProtocols) a.vector(1, new TextEncoder().encode(proto));
    exts.push([ExtensionType.application_layer_protocol_negotiation, a.end().finish()]);
  }
  const ks = new ByteWriter().begin(2);
  for (const share of p.keyShares) ks.u16(share.group).vector(2, share.keyExchange);
  exts.push([ExtensionType.key_share, ks.end().finish()]);
  if (p.pskModes !== false || p.psk) {
    exts.push([ExtensionType.psk_key_exchange_modes, new Uint8Array([1, 1])]); // psk_dhe_ke
  }
  if (p.cookie) exts.push([ExtensionType.cookie, new ByteWriter().vector(2, p.cookie).finish()]);
  if (p.extraExtensions) exts.push(...p.extraExtensions);
  let bindersLength = 0;
  if (p.psk) {
    // pre_shared_key MUST be the last extension (RFC 8446 §4.2.11).
    const psk = new ByteWriter();
    psk.begin(2).vector(2, p.psk.identity).u32(p.psk.obfuscatedTicketAge).end();
    psk.begin(2).vector(1, new Uint8Array(p.psk.binderLength)).end();
    bindersLength = 2 + 1 + p.psk.binderLength;
    exts.push([ExtensionType.pre_shared_key, psk.finish()]);
  }
  writeExtensions(w, exts);
  return { message: handshakeMessage(HandshakeType.client_hello, w.finish()), bindersLength };
}

/** Writes the single PSK binder into an encoded ClientHello (in place). */
export function setPskBinder(clientHello: Uint8Array, binder: Uint8Array): void {
  clientHello.set(binder, clientHello.length - binder.length);
}

function u16List(values: number[]): Uint8Array {
  const w = new ByteWriter().begin(2);
  for (const v of values) w.u16(v);
  return w.end().finish();
}

/** A ClientHello as a server sees it (for scripted test servers). */
export interface ClientHelloFields {
  random: Uint8Array;
  sessionId: Uint8Array;
  cipherSuites: number[];
  extensions: Extensions;
  keyShares: Map<number, Uint8Array>;
  supportedGroups: number[];
  signatureSchemes: number[];
  alpnProtocols: string[];
  serverName: string | undefined;
}

/** Decodes a ClientHello body. */
export function decodeClientHello(body: Uint8Array): ClientHelloFields {
  return decoding("ClientHello", () => {
    const r = new ByteReader(body);
    r.u16();
    const random = r.bytes(32);
    const sessionId = r.vector(1);
    const suites = r.sub(2);
    const cipherSuites: number[] = [];
    while (suites.remaining) cipherSuites.push(suites.u16());
    r.vector(1);
    const extensions = readExtensions(r, "ClientHello");
    r.end("ClientHello");
    const list16 = (data: Uint8Array | undefined, prefix: 1 | 2 = 2) => {
      const out: number[] = [];
      if (!data) return out;
      const l = new ByteReader(data).sub(prefix);
      while (l.remaining) out.push(l.u16());
      return out;
    };
    const keyShares = new Map<number, Uint8Array>();
    const ks = extensions.get(ExtensionType.key_share);
    if (ks) {
      const l = new ByteReader(ks).sub(2);
      while (l.remaining) keyShares.set(l.u16(), l.vector(2));
    }
    const alpnProtocols: string[] = [];
    const alpn = extensions.get(ExtensionType.application_layer_protocol_negotiation);
    if (alpn) {
      const l = new ByteReader(alpn).sub(2);
      while (l.remaining) alpnProtocols.push(new TextDecoder().decode(l.vector(1)));
    }
    let serverName: string | undefined;
    const sni = extensions.get(ExtensionType.server_name);
    if (sni) {
      const l = new ByteReader(sni).sub(2);
      l.u8();
      serverName = new TextDecoder().decode(l.vector(2));
    }
    return {
      random,
      sessionId,
      cipherSuites,
      extensions,
      keyShares,
      supportedGroups: list16(extensions.get(ExtensionType.supported_groups)),
      signatureSchemes: list16(extensions.get(ExtensionType.signature_algorithms)),
      alpnProtocols,
      serverName,
    };
  });
}

// ---------------------------------------------------------------------------------------------
// ServerHello / HelloRetryRequest

/** A decoded ServerHello or HelloRetryRequest. */
export interface ServerHello {
  /** legacy_version. */
  legacyVersion: number;
  random: Uint8Array;
  sessionIdEcho: Uint8Array;
  cipherSuite: number;
  compressionMethod: number;
  extensions: Extensions;
  /** Whether random is the HelloRetryRequest value. */
  isHelloRetryRequest: boolean;
}

/** Decodes a ServerHello body. */
export function decodeServerHello(body: Uint8Array): ServerHello {
  return decoding("ServerHello", () => {
    const r = new ByteReader(body);
    const legacyVersion = r.u16("legacy_version");
    const random = r.bytes(32, "random");
    const sessionIdEcho = r.vector(1, "legacy_session_id_echo");
    if (sessionIdEcho.length > 32) throw new DecodeError("session id longer than 32 bytes");
    const cipherSuite = r.u16("cipher_suite");
    const compressionMethod = r.u8("legacy_compression_method");
    // A TLS 1.2 ServerHello may have no extensions at all.
    const extensions = r.remaining ? readExtensions(r, "ServerHello") : new Map();
    r.end("ServerHello");
    let isHelloRetryRequest = true;
    for (let i = 0; i < 32; i++) {
      if (random[i] !== HELLO_RETRY_REQUEST_RANDOM[i]) isHelloRetryRequest = false;
    }
    return {
      legacyVersion,
      random,
      sessionIdEcho,
      cipherSuite,
      compressionMethod,
      extensions,
      isHelloRetryRequest,
    };
  });
}

/** Encodes a ServerHello (or, with the HRR random, a HelloRetryRequest), for test servers. */
export function encodeServerHello(p: {
  random: Uint8Array;
  sessionIdEcho: Uint8Array;
  cipherSuite: number;
  extensions: Array<[number, Uint8Array]>;
  legacyVersion?: number;
}): Uint8Array {
  const w = new ByteWriter();
  w.u16(p.legacyVersion ?? 0x0303).bytes(p.random).vector(1, p.sessionIdEcho).u16(p.cipherSuite)
    .u8(0);
  writeExtensions(w, p.extensions);
  return handshakeMessage(HandshakeType.server_hello, w.finish());
}

// ---------------------------------------------------------------------------------------------
// EncryptedExtensions, CertificateRequest, Certificate, CertificateVerify, Finished

/** Decodes EncryptedExtensions. */
export function decodeEncryptedExtensions(body: Uint8Array): Extensions {
  return decoding("EncryptedExtensions", () => {
    const r = new ByteReader(body);
    const exts = readExtensions(r, "EncryptedExtensions");
    r.end("EncryptedExtensions");
    return exts;
  });
}

/** Encodes EncryptedExtensions, for test servers. */
export function encodeEncryptedExtensions(exts: Array<[number, Uint8Array]>): Uint8Array {
  const w = new ByteWriter();
  writeExtensions(w, exts);
  return handshakeMessage(HandshakeType.encrypted_extensions, w.finish());
}

/** Decodes CertificateRequest: its context and extensions. */
export function decodeCertificateRequest(
  body: Uint8Array,
): { context: Uint8Array; extensions: Extensions } {
  return decoding("CertificateRequest", () => {
    const r = new ByteReader(body);
    const context = r.vector(1, "certificate_request_context");
    const extensions = readExtensions(r, "CertificateRequest");
    r.end("CertificateRequest");
    if (!extensions.has(ExtensionType.signature_algorithms)) {
      throw new TlsProtocolError("CertificateRequest without signature_algorithms", 109);
    }
    return { context, extensions };
  });
}

/** A decoded Certificate message. */
export interface CertificateMessage {
  context: Uint8Array;
  entries: Array<{ data: Uint8Array; extensions: Extensions }>;
}

/** Decodes a Certificate message. */
export function decodeCertificate(body: Uint8Array): CertificateMessage {
  return decoding("Certificate", () => {
    const r = new ByteReader(body);
    const context = r.vector(1, "certificate_request_context");
    const list = r.sub(3, "certificate_list");
    r.end("Certificate");
    const entries: CertificateMessage["entries"] = [];
    while (list.remaining) {
      const data = list.vector(3, "cert_data");
      if (!data.length) throw new DecodeError("empty cert_data");
      entries.push({ data, extensions: readExtensions(list, "CertificateEntry") });
    }
    return { context, entries };
  });
}

/** Encodes a Certificate message (an empty one is how a client declines a request). */
export function encodeCertificate(context: Uint8Array, certificates: Uint8Array[]): Uint8Array {
  const w = new ByteWriter().vector(1, context).begin(3);
  for (const c of certificates) w.vector(3, c).u16(0);
  return handshakeMessage(HandshakeType.certificate, w.end().finish());
}

/** Decodes CertificateVerify. */
export function decodeCertificateVerify(
  body: Uint8Array,
): { scheme: number; signature: Uint8Array } {
  return decoding("CertificateVerify", () => {
    const r = new ByteReader(body);
    const scheme = r.u16("algorithm");
    const signature = r.vector(2, "signature");
    r.end("CertificateVerify");
    return { scheme, signature };
  });
}

/** Encodes CertificateVerify, for test servers. */
export function encodeCertificateVerify(scheme: number, signature: Uint8Array): Uint8Array {
  return handshakeMessage(
    HandshakeType.certificate_verify,
    new ByteWriter().u16(scheme).vector(2, signature).finish(),
  );
}

/** The content a CertificateVerify signature covers (RFC 8446 §4.4.3). */
export function certificateVerifyContent(transcriptHash: Uint8Array, server: boolean): Uint8Array {
  const label = new TextEncoder().encode(
    server ? "TLS 1.3, server CertificateVerify" : "TLS 1.3, client CertificateVerify",
  );
  const out = new Uint8Array(64 + label.length + 1 + transcriptHash.length);
  out.fill(0x20, 0, 64);
  out.set(label, 64);
  out.set(transcriptHash, 64 + label.length + 1);
  return out;
}

/** Encodes Finished. */
export function encodeFinished(verifyData: Uint8Array): Uint8Array {
  return handshakeMessage(HandshakeType.finished, verifyData);
}

// ---------------------------------------------------------------------------------------------
// Post-handshake: NewSessionTicket, KeyUpdate

/** A decoded NewSessionTicket. */
export interface NewSessionTicket {
  lifetime: number;
  ageAdd: number;
  nonce: Uint8Array;
  ticket: Uint8Array;
  extensions: Extensions;
}

/** Decodes NewSessionTicket (RFC 8446 §4.6.1). */
export function decodeNewSessionTicket(body: Uint8Array): NewSessionTicket {
  return decoding("NewSessionTicket", () => {
    const r = new ByteReader(body);
    const lifetime = r.u32("ticket_lifetime");
    const ageAdd = r.u32("ticket_age_add");
    const nonce = r.vector(1, "ticket_nonce");
    const ticket = r.vector(2, "ticket");
    if (!ticket.length) throw new DecodeError("empty ticket");
    const extensions = readExtensions(r, "NewSessionTicket");
    r.end("NewSessionTicket");
    return { lifetime, ageAdd, nonce, ticket, extensions };
  });
}

/** Encodes NewSessionTicket, for test servers. */
export function encodeNewSessionTicket(t: Omit<NewSessionTicket, "extensions">): Uint8Array {
  const w = new ByteWriter().u32(t.lifetime).u32(t.ageAdd).vector(1, t.nonce).vector(2, t.ticket)
    .u16(0);
  return handshakeMessage(HandshakeType.new_session_ticket, w.finish());
}

/** Decodes KeyUpdate; true when the peer requests an update in return. */
export function decodeKeyUpdate(body: Uint8Array): boolean {
  if (body.length !== 1) throw new DecodeError("KeyUpdate body must be one byte");
  if (body[0] > 1) throw new IllegalParameter(`KeyUpdate request_update ${body[0]}`);
  return body[0] === 1;
}

/** Encodes KeyUpdate. */
export function encodeKeyUpdate(requestUpdate: boolean): Uint8Array {
  return handshakeMessage(HandshakeType.key_update, new Uint8Array([requestUpdate ? 1 : 0]));
}
