/**
 * Errors the stack's API throws. Each says what happened and to what, in words a user can act
 * on; each has a `code` matching the errno Deno uses for the same condition where there is one.
 *
 * @module
 */

/**
 * Base class of every usernet networking error.
 *
 * @example
 * ```ts
 * import { NetError, ConnectionRefused } from "./errors.ts";
 * const e = new ConnectionRefused("10.0.2.2:22 refused the connection (RST)");
 * console.log(e instanceof NetError, e.code); // true "ECONNREFUSED"
 * ```
 */
export class NetError extends Error {
  /** An errno-style code (`ECONNREFUSED`, `ETIMEDOUT`, ...). */
  readonly code: string = "EIO";
  /** Creates the error with a message saying what happened and to what. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/**
 * The peer answered a connection attempt with RST.
 *
 * @example
 * ```ts
 * import { ConnectionRefused } from "./errors.ts";
 * throw new ConnectionRefused("10.0.0.1:80 refused the connection (RST)");
 * ```
 */
export class ConnectionRefused extends NetError {
  /** An errno-style code for this error. */
  override readonly code = "ECONNREFUSED";
}

/**
 * The peer reset an established connection.
 *
 * @example
 * ```ts
 * import { ConnectionReset } from "./errors.ts";
 * const e = new ConnectionReset("10.0.0.1:80 reset the connection");
 * ```
 */
export class ConnectionReset extends NetError {
  /** An errno-style code for this error. */
  override readonly code = "ECONNRESET";
}

/**
 * An operation gave up after its deadline (retransmissions, ARP, DNS, ping).
 *
 * @example
 * ```ts
 * import { TimedOut } from "./errors.ts";
 * const e = new TimedOut("no echo reply from 10.0.0.1 within 1000 ms");
 * ```
 */
export class TimedOut extends NetError {
  /** An errno-style code for this error. */
  override readonly code = "ETIMEDOUT";
}

/**
 * The caller aborted the operation (AbortSignal) or closed the object under it.
 *
 * @example
 * ```ts
 * import { Aborted } from "./errors.ts";
 * const e = new Aborted("connect to 10.0.0.1:80 aborted");
 * ```
 */
export class Aborted extends NetError {
  /** An errno-style code for this error. */
  override readonly code = "ECONNABORTED";
}

/**
 * No route to the host, or its link-layer address could not be resolved, or an ICMP host
 * unreachable came back.
 *
 * @example
 * ```ts
 * import { HostUnreachable } from "./errors.ts";
 * const e = new HostUnreachable("10.0.0.9 did not answer ARP");
 * ```
 */
export class HostUnreachable extends NetError {
  /** An errno-style code for this error. */
  override readonly code = "EHOSTUNREACH";
}

/**
 * No route to the destination network (no gateway configured, or ICMP net unreachable).
 *
 * @example
 * ```ts
 * import { NetworkUnreachable } from "./errors.ts";
 * const e = new NetworkUnreachable("no route to 8.8.8.8: no gateway configured");
 * ```
 */
export class NetworkUnreachable extends NetError {
  /** An errno-style code for this error. */
  override readonly code = "ENETUNREACH";
}

/**
 * An ICMP port unreachable came back for a datagram this socket sent.
 *
 * @example
 * ```ts
 * import { PortUnreachable } from "./errors.ts";
 * const e = new PortUnreachable("10.0.0.1:53 port unreachable");
 * ```
 */
export class PortUnreachable extends NetError {
  /** An errno-style code for this error. */
  override readonly code = "ECONNREFUSED";
}

/**
 * The local address and port are already bound.
 *
 * @example
 * ```ts
 * import { AddressInUse } from "./errors.ts";
 * const e = new AddressInUse("UDP port 53 is already bound");
 * ```
 */
export class AddressInUse extends NetError {
  /** An errno-style code for this error. */
  override readonly code = "EADDRINUSE";
}

/**
 * A message is larger than the path can carry (DF set, or over 65535 bytes).
 *
 * @example
 * ```ts
 * import { MessageTooLong } from "./errors.ts";
 * const e = new MessageTooLong("datagram of 70000 bytes exceeds 65507");
 * ```
 */
export class MessageTooLong extends NetError {
  /** An errno-style code for this error. */
  override readonly code = "EMSGSIZE";
}

/**
 * The socket, listener or stack is closed.
 *
 * @example
 * ```ts
 * import { Closed } from "./errors.ts";
 * const e = new Closed("UDP socket on port 5000 is closed");
 * ```
 */
export class Closed extends NetError {
  /** An errno-style code for this error. */
  override readonly code = "EBADF";
}

/**
 * An argument was malformed (address text, port number, option value).
 *
 * @example
 * ```ts
 * import { InvalidArgument } from "./errors.ts";
 * const e = new InvalidArgument('"10.0.0.300" is not an IPv4 address');
 * ```
 */
export class InvalidArgument extends NetError {
  /** An errno-style code for this error. */
  override readonly code = "EINVAL";
}
