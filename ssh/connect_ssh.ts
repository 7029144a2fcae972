/**
 * `connectSsh(stack, { hostname, port, ... })`: a TCP connection through a usernet stack (or
 * anything else that dials like `Deno.connect`), then the SSH handshake and login on it.
 *
 * @module
 */

import type { Conn } from "../net/conn.ts";
import { connect, type ConnectOptions, type SshClient } from "./client.ts";

/** A TCP connection as a dialer returns it; `setNoDelay` is used when present. */
export interface DialedConn extends Conn {
  /** Turns Nagle's algorithm off (`true`) or on. */
  setNoDelay?(noDelay?: boolean): void;
}

/**
 * What {@linkcode connectSsh} needs from a stack: a `connect` shaped like `Deno.connect`.
 * usernet's `Stack` (and the stack of `hostNetwork()`) has it.
 */
export interface TcpDialer {
  /** Opens a TCP connection; resolves once it is established. */
  connect(options: { hostname: string; port: number; signal?: AbortSignal }): Promise<DialedConn>;
}

/** Options of {@linkcode connectSsh}: where to connect, and everything `connect` takes. */
export interface ConnectSshOptions extends Omit<ConnectOptions, "port"> {
  /** The server's IPv4 address or DNS name (resolved by the stack). */
  hostname: string;
  /** The server's TCP port (default 22); also the port of `[host]:port` known_hosts entries. */
  port?: number;
  /** Turn Nagle's algorithm off on the TCP connection (default true). */
  noDelay?: boolean;
}

/**
 * Opens a TCP connection through `stack` and logs in over SSH. The host key is checked
 * against known_hosts under `host` (default: `hostname`) and `port`. The TCP connection is
 * closed again if the handshake or the login fails.
 *
 * @example Run a command through usernet's own TCP
 * ```ts ignore
 * import { hostNetwork } from "../net/gateway/host_network.ts";
 * import { connectSsh, SshPrivateKey } from "./mod.ts";
 * const net = await hostNetwork();
 * const client = await connectSsh(net.stack, {
 *   hostname: "10.0.2.2", // the host's 127.0.0.1
 *   port: 22,
 *   host: "127.0.0.1", // as known_hosts lists it
 *   username: "me",
 *   knownHosts: `${Deno.env.get("HOME")}/.ssh/known_hosts`,
 *   auth: { privateKey: SshPrivateKey.parse(await Deno.readTextFile("id_ed25519")) },
 * });
 * console.log((await client.run("uname -a")).code);
 * await client.close();
 * await net.close();
 * ```
 */
export async function connectSsh(
  stack: TcpDialer,
  options: ConnectSshOptions,
): Promise<SshClient> {
  const { hostname, port = 22, noDelay, ...sshOptions } = options;
  options.signal?.throwIfAborted();
  const tcp = await stack.connect({ hostname, port, signal: options.signal });
  // Interactive keystrokes and small SFTP requests must not wait for Nagle's algorithm.
  if (noDelay ?? true) tcp.setNoDelay?.(true);
  try {
    return await connect(tcp, { ...sshOptions, host: sshOptions.host ?? hostname, port });
  } catch (error) {
    try {
      tcp.close();
    } catch { /* already closed by the transport */ }
    throw error;
  }
}
