/**
 * An HTTP/1.1 client over any byte-stream {@link Conn} (usernet TCP, `Deno.connect`, or a TLS
 * connection from a caller-supplied `tls` function), and HTTPS through a userspace stack with
 * `createFetch({ stack })` (usernet's TLS 1.3 client, verified against the system trust store
 * or given CAs).
 *
 * - {@link createFetch} returns a `fetch`-compatible function with a keep-alive pool, retries of
 *   idempotent requests on stale pooled connections, redirects, gzip/deflate decoding, streamed
 *   bodies, `AbortSignal`, timeouts and timestamped events.
 * - {@link ResponseParser} is the sans-IO response parser underneath (RFC 9112), usable alone.
 * - {@link encodeRequestHead} and {@link encodeChunk} serialise requests.
 * - Errors are typed classes extending {@link HttpError} (itself a `TypeError`, like `fetch`'s).
 *
 * @example
 * ```ts ignore
 * import { createFetch } from "./mod.ts";
 * const fetch = createFetch({ connect: (hostname, port) => Deno.connect({ hostname, port }) });
 * const response = await fetch("http://127.0.0.1:8080/");
 * console.log(response.status, await response.text());
 * fetch.close();
 * ```
 *
 * @module
 */

export * from "./errors.ts";
export type * from "./events.ts";
export { formatEvent } from "./events.ts";
export { createFetch, type CreateFetchOptions, type HttpFetch } from "./fetch.ts";
export {
  type ConnectFunction,
  type FetchStack,
  stackConnector,
  type TlsFunction,
  type TlsSettings,
  usernetTls,
} from "./stack_fetch.ts";
export { encodeChunk, encodeRequestHead, LAST_CHUNK, titleCase } from "./request_writer.ts";
export {
  type BodyFraming,
  DEFAULT_PARSER_LIMITS,
  type ParseEvent,
  type ParserLimits,
  type ResponseHead,
  ResponseParser,
  type ResponseParserOptions,
} from "./response_parser.ts";
