/**
 * Typed errors of the DNS wire format and the DNS resolver.
 *
 * Wire errors ({@link DnsFormatError}) say which byte made a message invalid. Resolution errors
 * ({@link DnsResolveError} and its subclasses) say what the servers answered, so a caller can
 * tell "no such name" from "no answer at all".
 *
 * @module
 */

/**
 * A DNS message or name is malformed: truncated, over a length limit, or with a bad pointer.
 *
 * @example
 * ```ts
 * import { DnsFormatError, parseMessage } from "./mod.ts";
 * try {
 *   parseMessage(new Uint8Array(5));
 * } catch (e) {
 *   if (!(e instanceof DnsFormatError)) throw e;
 * }
 * ```
 */
export class DnsFormatError extends Error {
  /** Always "DnsFormatError". */
  override name = "DnsFormatError";
  /** Byte offset in the message where the problem was found (-1 when not known). */
  readonly offset: number;
  /** Creates the error; the message says what went wrong and where. */
  constructor(message: string, offset = -1) {
    super(offset >= 0 ? `${message} (at byte ${offset})` : message);
    this.offset = offset;
  }
}

/**
 * A name was followed through compression pointers that loop or point forward (RFC 1035 §4.1.4
 * allows pointers only to a prior occurrence).
 *
 * @example
 * ```ts
 * import { DnsCompressionLoop, DnsFormatError } from "./errors.ts";
 * const e = new DnsCompressionLoop("pointer to itself", 12);
 * console.assert(e instanceof DnsFormatError);
 * ```
 */
export class DnsCompressionLoop extends DnsFormatError {
  /** Always "DnsCompressionLoop". */
  override name = "DnsCompressionLoop";
}

/**
 * Base class of every resolution failure; `query` is the name and type asked for.
 *
 * @example
 * ```ts
 * import { DnsResolveError, DnsNameNotFound } from "./errors.ts";
 * const e = new DnsNameNotFound("nx.example.", "A");
 * console.assert(e instanceof DnsResolveError && e.query === "nx.example. A");
 * ```
 */
export class DnsResolveError extends Error {
  /** Always "DnsResolveError". */
  override name = "DnsResolveError";
  /** The query, as "NAME TYPE". */
  readonly query: string;
  /** Creates the error; the message says what went wrong and where. */
  constructor(name: string, type: string, detail: string) {
    super(`${name} ${type}: ${detail}`);
    this.query = `${name} ${type}`;
  }
}

/**
 * The name does not exist (RCODE 3, NXDOMAIN).
 *
 * @example
 * ```ts
 * import { DnsNameNotFound } from "./errors.ts";
 * console.log(new DnsNameNotFound("nx.example.", "A").message);
 * ```
 */
export class DnsNameNotFound extends DnsResolveError {
  /** Always "DnsNameNotFound". */
  override name = "DnsNameNotFound";
  /** Creates the error; the message says what went wrong and where. */
  constructor(name: string, type: string, detail = "no such name (NXDOMAIN)") {
    super(name, type, detail);
  }
}

/**
 * The name exists but has no record of the asked type (NOERROR with an empty answer, RFC 2308
 * "NODATA").
 *
 * @example
 * ```ts
 * import { DnsNoData } from "./errors.ts";
 * console.log(new DnsNoData("example.", "AAAA").message);
 * ```
 */
export class DnsNoData extends DnsResolveError {
  /** Always "DnsNoData". */
  override name = "DnsNoData";
  /** Creates the error; the message says what went wrong and where. */
  constructor(name: string, type: string, detail = "the name has no record of this type") {
    super(name, type, detail);
  }
}

/**
 * Every server answered SERVFAIL (RCODE 2), NOTIMP (4), FORMERR (1) or an unusable reply.
 *
 * @example
 * ```ts
 * import { DnsServerFailure } from "./errors.ts";
 * console.log(new DnsServerFailure("example.", "A", "SERVFAIL from 10.0.2.3").message);
 * ```
 */
export class DnsServerFailure extends DnsResolveError {
  /** Always "DnsServerFailure". */
  override name = "DnsServerFailure";
}

/**
 * A server refused the query (RCODE 5, REFUSED), and no other server answered.
 *
 * @example
 * ```ts
 * import { DnsRefused } from "./errors.ts";
 * console.log(new DnsRefused("example.", "A", "REFUSED by 10.0.2.3").message);
 * ```
 */
export class DnsRefused extends DnsResolveError {
  /** Always "DnsRefused". */
  override name = "DnsRefused";
}

/**
 * No server answered within the retry schedule.
 *
 * @example
 * ```ts
 * import { DnsTimeout } from "./errors.ts";
 * console.log(new DnsTimeout("example.", "A", "no answer after 4 attempts").message);
 * ```
 */
export class DnsTimeout extends DnsResolveError {
  /** Always "DnsTimeout". */
  override name = "DnsTimeout";
}

/**
 * The query itself is unusable: a malformed name, a CNAME chain that is too long or loops, or a
 * query cancelled or refused because too many are in flight.
 *
 * @example
 * ```ts
 * import { DnsBadQuery } from "./errors.ts";
 * console.log(new DnsBadQuery("a..b", "A", "empty label").message);
 * ```
 */
export class DnsBadQuery extends DnsResolveError {
  /** Always "DnsBadQuery". */
  override name = "DnsBadQuery";
}
