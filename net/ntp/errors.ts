/**
 * Typed SNTP errors (RFC 4330 §5, §8).
 *
 * @module
 */

/**
 * The reply is not a usable SNTP server reply: wrong length, mode or version, an originate
 * timestamp that is not our transmit timestamp, or a zero transmit timestamp.
 *
 * @example
 * ```ts
 * import { SntpBadReply } from "./errors.ts";
 * console.log(new SntpBadReply("mode 3, expected 4 (server)").message);
 * ```
 */
export class SntpBadReply extends Error {
  /** Always "SntpBadReply". */
  override name = "SntpBadReply";
}

/**
 * The server sent a kiss-o'-death (stratum 0, RFC 4330 §8): `code` is its four-letter reason
 * ("DENY" and "RSTR": stop asking this server; "RATE": ask less often).
 *
 * @example
 * ```ts
 * import { SntpKissOfDeath } from "./errors.ts";
 * const e = new SntpKissOfDeath("RATE");
 * console.assert(e.code === "RATE");
 * ```
 */
export class SntpKissOfDeath extends Error {
  /** Always "SntpKissOfDeath". */
  override name = "SntpKissOfDeath";
  /** The kiss code from the reference identifier. */
  readonly code: string;
  /** Creates the error; the message says what went wrong and where. */
  constructor(code: string) {
    super(`server sent kiss-o'-death "${code}"`);
    this.code = code;
  }
}

/**
 * The server's clock is not synchronized (leap indicator 3, or stratum 16 and above).
 *
 * @example
 * ```ts
 * import { SntpUnsynchronized } from "./errors.ts";
 * console.log(new SntpUnsynchronized("leap indicator 3").message);
 * ```
 */
export class SntpUnsynchronized extends Error {
  /** Always "SntpUnsynchronized". */
  override name = "SntpUnsynchronized";
}

/**
 * No reply arrived within the retry schedule.
 *
 * @example
 * ```ts
 * import { SntpTimeout } from "./errors.ts";
 * console.log(new SntpTimeout("no reply from 10.0.2.2:123 after 3 attempts").message);
 * ```
 */
export class SntpTimeout extends Error {
  /** Always "SntpTimeout". */
  override name = "SntpTimeout";
}
