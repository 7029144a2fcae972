/**
 * usernet's TLS 1.3 client. It runs over any byte stream with the {@linkcode Conn} shape
 * (usernet's userspace TCP or `Deno.connect`), verifies the server with its own X.509 code,
 * and offers the hybrid post-quantum key exchange X25519MLKEM768 first.
 *
 * - Key exchange: X25519MLKEM768, X25519, P-256, P-384 (HelloRetryRequest handled).
 * - Cipher suites: TLS_AES_128_GCM_SHA256, TLS_CHACHA20_POLY1305_SHA256, TLS_AES_256_GCM_SHA384.
 * - Server signatures: ECDSA P-256/P-384, RSA-PSS, Ed25519; RSA PKCS#1 in certificates.
 * - Session tickets and PSK resumption (psk_dhe_ke) through a {@linkcode TicketCache}.
 * - KeyUpdate in both directions, close_notify, alerts with the RFC 8446 codes.
 * - TLS 1.3 only: downgrades are refused, renegotiation does not exist.
 *
 * `connect(conn, options)` runs the handshake over a connection you opened; `connectTls(stack,
 * options)` opens the TCP connection on a usernet stack first. (`startTls` is the earlier name
 * of `connect`, and the option `ticketCache` the earlier name of `sessionCache`.)
 *
 * @example Connect, send a request, read the response
 * ```ts ignore
 * import { connect } from "./mod.ts";
 * const tcp = await Deno.connect({ hostname: "example.com", port: 443 });
 * const tls = await connect(tcp, { serverName: "example.com", alpnProtocols: ["http/1.1"] });
 * console.log(tls.handshake.cipherSuite, tls.handshake.group, tls.handshake.durationMs);
 * for (const cert of tls.handshake.peerCertificates) console.log(cert.subject.text);
 * await tls.write(new TextEncoder().encode(
 *   "GET / HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n",
 * ));
 * for await (const chunk of tls.readable) console.log(new TextDecoder().decode(chunk));
 * ```
 *
 * @example Trust a CA generated on the spot, resume with a ticket
 * ```ts ignore
 * import { connect, generateCertificateAuthority, issueCertificate, TicketCache } from "./mod.ts";
 * const ca = await generateCertificateAuthority();
 * const { certPem, keyPem } = await issueCertificate(ca, { dnsNames: ["localhost"] });
 * Deno.serve({ port: 8443, cert: certPem, key: keyPem }, () => new Response("hi"));
 * const sessionCache = new TicketCache();
 * for (const round of [1, 2]) {
 *   const tcp = await Deno.connect({ hostname: "127.0.0.1", port: 8443 });
 *   const tls = await connect(tcp, { serverName: "localhost", caCerts: ca.certPem, sessionCache });
 *   const request = "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
 *   await tls.write(new TextEncoder().encode(request));
 *   await new Response(tls.readable).text(); // session tickets arrive with the response
 *   console.log(round, tls.handshake.resumed); // 1 false, 2 true
 * }
 * ```
 *
 * @module
 */

export type { Conn } from "../net/conn.ts";
export { AlertDescription, type AlertName, alertName } from "./alert.ts";
export { CIPHER_SUITES, type CipherSuiteName } from "./cipher_suite.ts";
export {
  connectTls,
  type ConnectTlsOptions,
  type DialedConn,
  type TcpDialer,
} from "./connect_tls.ts";
export {
  AlpnMismatch,
  BadRecordMac,
  DecodeError,
  HandshakeSignatureInvalid,
  IllegalParameter,
  MissingExtension,
  ProtocolVersionRefused,
  RecordOverflow,
  TlsAlertReceived,
  TlsClosed,
  TlsError,
  TlsProtocolError,
  TlsTruncated,
  UnexpectedMessage,
  UnsupportedExtension,
} from "./errors.ts";
export type { HandshakeEvent, PeerCertificateInfo, TlsHandshakeInfo } from "./handshake_info.ts";
export { DEFAULT_GROUPS, DEFAULT_KEY_SHARE_GROUPS, type NamedGroupName } from "./key_exchange.ts";
export { type SessionTicket, TicketCache, type TicketCacheOptions } from "./ticket_cache.ts";
export {
  connect,
  type ConnectOptions,
  startTls,
  type StartTlsOptions,
  TlsConnection,
  type TlsConnectionStats,
} from "./tls_connection.ts";
export * from "./x509/mod.ts";
