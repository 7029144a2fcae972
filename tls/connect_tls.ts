/**
 * `connectTls(stack, { hostname, port, ... })`: a TCP connection through a usernet stack (or
 * anything else that dials like `Deno.connect`), then the TLS 1.3 handshake on it.
 *
 * @module
 */

import type { Conn } from "../net/conn.ts";
import { connect, type ConnectOptions, type TlsConnection } from "./tls_connection.ts";

/** A TCP connection as a dialer returns it; `setNoDelay` is used when present. */
export interface DialedConn extends Conn {
  /** Turns Nagle's algorithm off (`true`) or on. */
  setNoDelay?(noDelay?: boolean): void;
}

/**
 * What {@linkcode connectTls} needs from a stack: a `connect` shaped like `Deno.connect`.
 * usernet's `Stack` (and the stack of `hostNetwork()`) has it.
 */
export interface TcpDialer {
  /** Opens a TCP connection; resolves once it is established. */
  connect(options: { hostname: string; port: number; signal?: AbortSignal }): Promise<DialedConn>;
}

/** Options of {@linkcode connectTls}: where to connect, and everything `connect` takes. */
export interface ConnectTlsOptions extends Omit<ConnectOptions, "serverName"> {
  /** The server's IPv4 address or DNS name (resolved by the stack). */
  hostname: string;
  /** The server's TCP port. */
  port: number;
  /**
   * Name sent as SNI and matched against the certificate (default: `hostname`; an IP address
   * is matched against IP subjectAltNames and sends no SNI).
   */
  serverName?: string;
  /**
   * Turn Nagle's algorithm off on the TCP connection (default true): TLS writes whole records,
   * and a small request must not wait for the ACK of the previous one.
   */
  noDelay?: boolean;
}

/**
 * Opens a TCP connection through `stack` and runs a TLS 1.3 handshake on it. The TCP
 * connection is closed again if the handshake fails. Rejects like `stack.connect` for TCP
 * failures (`ConnectionRefused`, ...), and like {@linkcode connect} for TLS and certificate
 * failures.
 *
 * @example HTTPS request through usernet's own TCP
 * ```ts ignore
 * import { hostNetwork } from "../net/gateway/host_network.ts";
 * import { connectTls } from "./mod.ts";
 * const net = await hostNetwork();
 * const tls = await connectTls(net.stack, {
 *   hostname: "10.0.2.2", // the host's 127.0.0.1
 *   port: 8443,
 *   serverName: "localhost",
 *   caCerts: await Deno.readTextFile("ca.pem"),
 * });
 * await tls.write(new TextEncoder().encode("GET / HTTP/1.0\r\n\r\n"));
 * tls.close();
 * await net.close();
 * ```
 */
export async function connectTls(
  stack: TcpDialer,
  options: ConnectTlsOptions,
): Promise<TlsConnection> {
  const { hostname, port, serverName, noDelay, ...tlsOptions } = options;
  options.signal?.throwIfAborted();
  const tcp = await stack.connect({ hostname, port, signal: options.signal });
  if (noDelay ?? true) tcp.setNoDelay?.(true);
  try {
    return await connect(tcp, { ...tlsOptions, serverName: serverName ?? hostname });
  } catch (error) {
    try {
      tcp.close();
    } catch { /* already closed by the TLS layer */ }
    throw error;
  }
}
