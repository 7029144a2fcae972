/**
 * The transport `createFetch({ stack })` uses: TCP connections from a userspace stack (usernet's
 * `Stack`, or anything with its `connect`) and, for https URLs, usernet's TLS 1.3 client
 * (`tls/`) with ALPN `http/1.1` and certificate verification against the system trust store or
 * the CAs given.
 *
 * - {@linkcode stackConnector} turns a stack into `createFetch`'s `connect` function.
 * - {@linkcode usernetTls} makes `createFetch`'s `tls` function from {@linkcode TlsSettings};
 *   it works over any `Conn`, also with `connect: Deno.connect`-based transports.
 *
 * @example HTTPS through a stack behind the embedded gateway
 * ```ts ignore
 * import { createFetch } from "./fetch.ts";
 * import { hostNetwork } from "../net/gateway/host_network.ts";
 * const net = await hostNetwork({ dhcp: true });
 * const fetch = createFetch({ stack: net.stack });
 * const response = await fetch("https://example.com/");
 * console.log(response.status, (await response.text()).length);
 * fetch.close();
 * await net.close();
 * ```
 *
 * @module
 */

import type { Conn } from "../net/conn.ts";
import type { CipherSuiteName } from "../tls/cipher_suite.ts";
import type { NamedGroupName } from "../tls/key_exchange.ts";
import type { TicketCache } from "../tls/ticket_cache.ts";
import { startTls, type TlsConnection } from "../tls/tls_connection.ts";
import type { TrustStore } from "../tls/x509/trust_store.ts";

/**
 * What `createFetch` needs from a network stack: a `connect` shaped like usernet's
 * `Stack.connect` (and `Deno.connect`): host names or IPv4 addresses, a port, and a signal that
 * cancels the attempt.
 *
 * @example Both usernet's stack and Deno itself fit
 * ```ts ignore
 * import type { FetchStack } from "./stack_fetch.ts";
 * const viaUsernet: FetchStack = net.stack;
 * const viaKernel: FetchStack = { connect: (o) => Deno.connect(o) };
 * ```
 */
export interface FetchStack {
  /** Opens a TCP connection; resolves once it is established. */
  connect(options: { hostname: string; port: number; signal?: AbortSignal }): Promise<Conn>;
}

/**
 * How https connections are secured when `createFetch` makes the TLS layer itself (with
 * `stack`, or with any of these settings). Verification uses the system trust store
 * (`/etc/ssl/certs/ca-certificates.crt`, read once; needs read permission) unless `caCerts` or
 * `trustStore` is given.
 *
 * @example Trust one CA (PEM text) only
 * ```ts
 * import type { TlsSettings } from "./stack_fetch.ts";
 * const settings: TlsSettings = { caCerts: "-----BEGIN CERTIFICATE-----\n..." };
 * console.log(Object.keys(settings)); // ["caCerts"]
 * ```
 */
export interface TlsSettings {
  /** Trusted CA certificates as PEM; they replace the system trust store. */
  caCerts?: string | string[];
  /** A trust store to verify against (takes precedence over `caCerts`). */
  trustStore?: TrustStore;
  /**
   * Skip certificate chain and name verification (the server's CertificateVerify is still
   * checked against its certificate's key). For tests only, like curl's `-k`.
   */
  insecureSkipVerify?: boolean;
  /**
   * Session tickets for resumption: later connections to a server resume its session (no
   * certificate checks, a shorter handshake). Default: none, and the client asks for no
   * tickets (servers that send them apart from their first response can stall it behind
   * Nagle's algorithm when a proxy or NAT sits between).
   */
  ticketCache?: TicketCache;
  /** Key exchange groups to offer (default: tls/'s, X25519MLKEM768 first). */
  tlsGroups?: NamedGroupName[];
  /** Cipher suites to offer (default: all three TLS 1.3 suites). */
  tlsCipherSuites?: CipherSuiteName[];
}

/** `createFetch`'s `connect` function shape, with the signal that cancels an attempt. */
export type ConnectFunction = (host: string, port: number, signal?: AbortSignal) => Promise<Conn>;

/** `createFetch`'s `tls` function shape. */
export type TlsFunction = (
  conn: Conn,
  serverName: string,
  alpn: string[],
  signal?: AbortSignal,
) => Promise<Conn>;

/**
 * A `connect` function for `createFetch` that opens TCP connections through `stack`, with
 * Nagle's algorithm off where the connection supports it (`setNoDelay`): HTTP writes a request
 * in few writes and waits for the answer, so holding back a small write only adds a delayed-ACK
 * wait.
 *
 * @example
 * ```ts ignore
 * import { createFetch } from "./fetch.ts";
 * import { stackConnector, usernetTls } from "./stack_fetch.ts";
 * const fetch = createFetch({ connect: stackConnector(stack), tls: usernetTls({ caCerts }) });
 * ```
 */
export function stackConnector(stack: FetchStack): ConnectFunction {
  return async (hostname, port, signal) => {
    const conn = await stack.connect({ hostname, port, signal });
    (conn as { setNoDelay?: (on: boolean) => void }).setNoDelay?.(true);
    return conn;
  };
}

/**
 * A `tls` function for `createFetch`: usernet's TLS 1.3 client (`startTls`) with the ALPN list
 * `createFetch` asks for and the given verification settings. The connection it returns has
 * the handshake facts (`handshake`), which `createFetch` reports in its `tls-done` event.
 *
 * @example Over the kernel's TCP, trusting a CA made on the spot
 * ```ts ignore
 * import { createFetch } from "./fetch.ts";
 * import { usernetTls } from "./stack_fetch.ts";
 * const fetch = createFetch({
 *   connect: (hostname, port) => Deno.connect({ hostname, port }),
 *   tls: usernetTls({ caCerts: ca.certPem }),
 * });
 * ```
 */
export function usernetTls(settings: TlsSettings = {}): TlsFunction {
  const ticketCache = settings.ticketCache;
  return (conn, serverName, alpn, signal): Promise<TlsConnection> =>
    startTls(conn, {
      serverName,
      alpnProtocols: alpn,
      caCerts: settings.caCerts,
      trustStore: settings.trustStore,
      insecureSkipVerify: settings.insecureSkipVerify,
      ticketCache,
      groups: settings.tlsGroups,
      cipherSuites: settings.tlsCipherSuites,
      signal,
    });
}
