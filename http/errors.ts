/**
 * Typed errors of the HTTP/1.1 client.
 *
 * Every error extends {@link HttpError}, which extends `TypeError` because `fetch()`
 * reports network failures as `TypeError`: code written against the platform `fetch`
 * keeps working, and code that wants to react precisely can test the subclass.
 *
 * - Malformed responses ({@link MalformedResponse} and its subclasses) mean the server (or
 *   something between) sent bytes that are not valid HTTP/1.1; the connection is closed.
 * - {@link ConnectionClosed} and {@link TruncatedResponse} mean the byte stream ended early.
 * - The rest report a request the client could not or would not carry out.
 *
 * Aborts are not wrapped: like `fetch`, the client rejects with the `AbortSignal`'s reason
 * (a `DOMException` named `AbortError` or `TimeoutError` unless the caller chose another).
 *
 * @module
 */

/**
 * Base class of every error raised by the HTTP client.
 *
 * @example Tell HTTP failures apart from other failures
 * ```ts
 * import { HttpError, MalformedResponse } from "./errors.ts";
 * const e: unknown = new MalformedResponse("bad status line");
 * console.log(e instanceof HttpError, e instanceof TypeError); // true true
 * ```
 */
export class HttpError extends TypeError {
  /** Creates the error with a message that says what went wrong. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/**
 * The response is not valid HTTP/1.1 (RFC 9112). Subclasses say which part is wrong.
 *
 * @example
 * ```ts
 * import { MalformedResponse } from "./errors.ts";
 * const e = new MalformedResponse("response starts with garbage");
 * console.log(e.name); // "MalformedResponse"
 * ```
 */
export class MalformedResponse extends HttpError {}

/**
 * The status line is not `HTTP/1.x SP 3DIGIT SP reason` (RFC 9112 §4), or the status code is
 * outside 100–599, or the major version is not 1.
 *
 * @example
 * ```ts
 * import { InvalidStatusLine, MalformedResponse } from "./errors.ts";
 * console.log(new InvalidStatusLine("x") instanceof MalformedResponse); // true
 * ```
 */
export class InvalidStatusLine extends MalformedResponse {}

/**
 * A header or trailer field line is invalid: no colon, a name that is not a token, whitespace
 * before the colon, or a forbidden byte (NUL, bare CR, other controls) in the value
 * (RFC 9112 §5, RFC 9110 §5.5).
 *
 * @example
 * ```ts
 * import { InvalidHeader } from "./errors.ts";
 * const e = new InvalidHeader('header line 3: NUL byte in the value of "x-a"');
 * console.log(e.name); // "InvalidHeader"
 * ```
 */
export class InvalidHeader extends MalformedResponse {}

/**
 * A field line starts with whitespace: obsolete line folding (RFC 9112 §5.2), which this client
 * refuses rather than unfolds.
 *
 * @example
 * ```ts
 * import { InvalidHeader, ObsoleteLineFolding } from "./errors.ts";
 * console.log(new ObsoleteLineFolding("x") instanceof InvalidHeader); // true
 * ```
 */
export class ObsoleteLineFolding extends InvalidHeader {}

/**
 * The response head (status line plus fields), one field line, the number of fields, or a chunk
 * size line exceeds the client's configured limit.
 *
 * @example
 * ```ts
 * import { HeadTooLarge } from "./errors.ts";
 * const e = new HeadTooLarge("response head exceeds 65536 bytes", "head-bytes", 65536);
 * console.log(e.limit, e.max); // "head-bytes" 65536
 * ```
 */
export class HeadTooLarge extends MalformedResponse {
  /** Creates the error with a message that says what went wrong. */
  constructor(
    message: string,
    /** Which limit was hit. */
    readonly limit: "head-bytes" | "line-bytes" | "field-count" | "chunk-line-bytes",
    /** The configured maximum. */
    readonly max: number,
  ) {
    super(message);
  }
}

/**
 * The message length cannot be determined safely (RFC 9112 §6.3): both Content-Length and
 * Transfer-Encoding, differing Content-Length values, chunked not last or repeated, or
 * Transfer-Encoding in an HTTP/1.0 response. Such responses are refused because they are the
 * raw material of response splitting and smuggling.
 *
 * @example
 * ```ts
 * import { AmbiguousFraming } from "./errors.ts";
 * const e = new AmbiguousFraming("both Content-Length and Transfer-Encoding are present");
 * console.log(e.name); // "AmbiguousFraming"
 * ```
 */
export class AmbiguousFraming extends MalformedResponse {}

/**
 * A Content-Length value is not a non-negative decimal integer within 2^53 - 1.
 *
 * @example
 * ```ts
 * import { InvalidContentLength } from "./errors.ts";
 * const e = new InvalidContentLength('Content-Length "-1" is not a decimal number');
 * console.log(e.name); // "InvalidContentLength"
 * ```
 */
export class InvalidContentLength extends MalformedResponse {}

/**
 * The chunked body is malformed (RFC 9112 §7.1): a chunk size that is not hex or too large,
 * a bad chunk extension, or chunk data not followed by CRLF.
 *
 * @example
 * ```ts
 * import { InvalidChunk } from "./errors.ts";
 * const e = new InvalidChunk('chunk size "zz" is not hexadecimal');
 * console.log(e.name); // "InvalidChunk"
 * ```
 */
export class InvalidChunk extends MalformedResponse {}

/**
 * The response uses a transfer coding this client does not implement (only `chunked`, and
 * `gzip`/`x-gzip`/`deflate` before it, are supported).
 *
 * @example
 * ```ts
 * import { UnsupportedTransferCoding } from "./errors.ts";
 * const e = new UnsupportedTransferCoding("compress");
 * console.log(e.coding); // "compress"
 * ```
 */
export class UnsupportedTransferCoding extends MalformedResponse {
  /** Creates the error with a message that says what went wrong. */
  constructor(
    /** The coding name as sent. */
    readonly coding: string,
  ) {
    super(`unsupported transfer coding "${coding}"`);
  }
}

/**
 * The server switched protocols (101) although the request asked for no upgrade.
 *
 * @example
 * ```ts
 * import { UnexpectedUpgrade } from "./errors.ts";
 * const e = new UnexpectedUpgrade("server answered 101 Switching Protocols without an Upgrade request");
 * console.log(e.name); // "UnexpectedUpgrade"
 * ```
 */
export class UnexpectedUpgrade extends MalformedResponse {}

/**
 * The connection ended, or failed, before any byte of a response arrived (for example a pooled
 * connection the server had already closed). The client retries idempotent requests on a new
 * connection when this happens on a reused connection.
 *
 * @example
 * ```ts
 * import { ConnectionClosed } from "./errors.ts";
 * const e = new ConnectionClosed("127.0.0.1:8080 closed the connection before responding");
 * console.log(e.name); // "ConnectionClosed"
 * ```
 */
export class ConnectionClosed extends HttpError {}

/**
 * The connection ended, or failed, in the middle of a response head or body.
 *
 * @example
 * ```ts
 * import { TruncatedResponse } from "./errors.ts";
 * const e = new TruncatedResponse("connection closed after 100 of 2000 body bytes");
 * console.log(e.name); // "TruncatedResponse"
 * ```
 */
export class TruncatedResponse extends HttpError {}

/**
 * The `connect` function given to `createFetch` failed. The original error is the `cause`.
 *
 * @example
 * ```ts
 * import { ConnectFailed } from "./errors.ts";
 * const e = new ConnectFailed("connect to 127.0.0.1:1 failed", { cause: new Error("refused") });
 * console.log(e.name); // "ConnectFailed"
 * ```
 */
export class ConnectFailed extends HttpError {}

/**
 * The `tls` function given to `createFetch` failed (handshake or certificate error). The TLS
 * layer's own error is the `cause`.
 *
 * @example
 * ```ts
 * import { TlsFailed } from "./errors.ts";
 * const e = new TlsFailed("TLS to example.com:443 failed", { cause: new Error("bad certificate") });
 * console.log(e.name); // "TlsFailed"
 * ```
 */
export class TlsFailed extends HttpError {}

/**
 * An https URL was requested but `createFetch` was given no `tls` function.
 *
 * @example
 * ```ts
 * import { TlsNotConfigured } from "./errors.ts";
 * const e = new TlsNotConfigured("https://example.com/ needs the tls option of createFetch");
 * console.log(e.name); // "TlsNotConfigured"
 * ```
 */
export class TlsNotConfigured extends HttpError {}

/**
 * The URL's scheme is neither `http:` nor `https:`.
 *
 * @example
 * ```ts
 * import { UnsupportedScheme } from "./errors.ts";
 * const e = new UnsupportedScheme('scheme "ftp:" is not supported');
 * console.log(e.name); // "UnsupportedScheme"
 * ```
 */
export class UnsupportedScheme extends HttpError {}

/**
 * A client-side timeout expired. `phase` says which one.
 *
 * @example
 * ```ts
 * import { HttpTimeout } from "./errors.ts";
 * const e = new HttpTimeout("no response head within 30000 ms", "headers", 30000);
 * console.log(e.phase, e.timeoutMs); // "headers" 30000
 * ```
 */
export class HttpTimeout extends HttpError {
  /** Creates the error with a message that says what went wrong. */
  constructor(
    message: string,
    /** `connect` covers TCP and TLS set-up, `headers` the wait for the response head, `body` the gap between two body reads. */
    readonly phase: "connect" | "headers" | "body",
    /** The configured timeout. */
    readonly timeoutMs: number,
  ) {
    super(message);
  }
}

/**
 * More redirects than allowed (20 by default, as in the Fetch standard).
 *
 * @example
 * ```ts
 * import { TooManyRedirects } from "./errors.ts";
 * const e = new TooManyRedirects("more than 20 redirects, last to http://a/loop");
 * console.log(e.name); // "TooManyRedirects"
 * ```
 */
export class TooManyRedirects extends HttpError {}

/**
 * A redirect arrived for a request made with `redirect: "error"`.
 *
 * @example
 * ```ts
 * import { RedirectRefused } from "./errors.ts";
 * const e = new RedirectRefused("redirect refused", 302, "http://a/next");
 * console.log(e.status, e.location); // 302 "http://a/next"
 * ```
 */
export class RedirectRefused extends HttpError {
  /** Creates the error with a message that says what went wrong. */
  constructor(
    message: string,
    /** The redirect's status code. */
    readonly status: number,
    /** The resolved Location URL. */
    readonly location: string,
  ) {
    super(message);
  }
}

/**
 * A redirect cannot be followed: its Location is not a valid http(s) URL, or it is a 307/308
 * that would need to resend a request body that was a stream and cannot be replayed.
 *
 * @example
 * ```ts
 * import { InvalidRedirect } from "./errors.ts";
 * const e = new InvalidRedirect('Location "ftp://x/" is not an http(s) URL');
 * console.log(e.name); // "InvalidRedirect"
 * ```
 */
export class InvalidRedirect extends HttpError {}

/**
 * The request cannot be sent as given: a method or header that is not valid HTTP/1.1, a body
 * stream that yields something other than `Uint8Array`, or one whose length differs from the
 * Content-Length the caller set.
 *
 * @example
 * ```ts
 * import { InvalidRequest } from "./errors.ts";
 * const e = new InvalidRequest('method "GE T" is not a token');
 * console.log(e.name); // "InvalidRequest"
 * ```
 */
export class InvalidRequest extends HttpError {}

/**
 * The fetch function's `close()` was called; it accepts no more requests.
 *
 * @example
 * ```ts
 * import { ClientClosed } from "./errors.ts";
 * const e = new ClientClosed("the HTTP client was closed");
 * console.log(e.name); // "ClientClosed"
 * ```
 */
export class ClientClosed extends HttpError {}
