/**
 * Serialisation of HTTP/1.1 requests (RFC 9112 §3, §7.1): the request head and the framing of
 * a chunked request body.
 *
 * @module
 */

import { InvalidRequest } from "./errors.ts";

const TCHAR = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * Encodes a request line and header fields into bytes, ending with the empty line.
 *
 * Field names are written title-cased (`content-type` → `Content-Type`) because some old servers
 * mishandle lowercase names; values are written byte for byte (code points up to U+00FF).
 * Throws {@link InvalidRequest} for a method or name that is not a token, a target with spaces or
 * controls, or a value with CR, LF, NUL or code points above U+00FF.
 *
 * @example
 * ```ts
 * import { encodeRequestHead } from "./request_writer.ts";
 * const head = encodeRequestHead("GET", "/index.html", [["host", "example.com"]]);
 * console.log(new TextDecoder().decode(head));
 * // "GET /index.html HTTP/1.1\r\nHost: example.com\r\n\r\n"
 * ```
 */
export function encodeRequestHead(
  method: string,
  target: string,
  fields: Iterable<readonly [string, string]>,
): Uint8Array {
  if (!TCHAR.test(method)) {
    throw new InvalidRequest(`method ${JSON.stringify(method)} is not a token`);
  }
  for (let i = 0; i < target.length; i++) {
    const c = target.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f) {
      throw new InvalidRequest(`request target ${JSON.stringify(target)} has a space or control`);
    }
  }
  let text = `${method} ${target} HTTP/1.1\r\n`;
  for (const [name, value] of fields) {
    if (!TCHAR.test(name)) {
      throw new InvalidRequest(`header name ${JSON.stringify(name)} is not a token`);
    }
    for (let i = 0; i < value.length; i++) {
      const c = value.charCodeAt(i);
      if (c === 0 || c === 0x0a || c === 0x0d || c > 0xff) {
        throw new InvalidRequest(`header ${name} has an invalid character (code ${c})`);
      }
    }
    text += `${titleCase(name)}: ${value}\r\n`;
  }
  text += "\r\n";
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
}

/**
 * `content-type` → `Content-Type`, `x-api-key` → `X-Api-Key`.
 *
 * @example
 * ```ts
 * import { titleCase } from "./request_writer.ts";
 * console.log(titleCase("www-authenticate")); // "Www-Authenticate"
 * ```
 */
export function titleCase(name: string): string {
  let out = "";
  let upper = true;
  for (const ch of name) {
    out += upper ? ch.toUpperCase() : ch.toLowerCase();
    upper = ch === "-";
  }
  return out;
}

/** Chunks below this size are sent with their framing in one write (one copy, one syscall). */
const COALESCE_BELOW = 16 * 1024;

/**
 * The bytes to write for one chunk of a chunked body (RFC 9112 §7.1): `size CRLF data CRLF`.
 * Small chunks come back as one array (copied); large ones as three parts so the data is
 * written without a copy. Empty input yields no parts (an empty chunk would end the body).
 *
 * @example
 * ```ts
 * import { encodeChunk } from "./request_writer.ts";
 * const [part] = encodeChunk(new TextEncoder().encode("hello"));
 * console.log(new TextDecoder().decode(part)); // "5\r\nhello\r\n"
 * ```
 */
export function encodeChunk(data: Uint8Array): Uint8Array[] {
  if (data.length === 0) return [];
  const size = data.length.toString(16);
  if (data.length < COALESCE_BELOW) {
    const out = new Uint8Array(size.length + 2 + data.length + 2);
    for (let i = 0; i < size.length; i++) out[i] = size.charCodeAt(i);
    out[size.length] = 0x0d;
    out[size.length + 1] = 0x0a;
    out.set(data, size.length + 2);
    out[out.length - 2] = 0x0d;
    out[out.length - 1] = 0x0a;
    return [out];
  }
  const header = new Uint8Array(size.length + 2);
  for (let i = 0; i < size.length; i++) header[i] = size.charCodeAt(i);
  header[size.length] = 0x0d;
  header[size.length + 1] = 0x0a;
  return [header, data, CRLF];
}

const CRLF = new Uint8Array([0x0d, 0x0a]);

/**
 * The last chunk and the empty trailer section that end a chunked body: `0 CRLF CRLF`.
 *
 * @example
 * ```ts
 * import { LAST_CHUNK } from "./request_writer.ts";
 * console.log(LAST_CHUNK.length); // 5
 * ```
 */
export const LAST_CHUNK: Uint8Array = new Uint8Array([0x30, 0x0d, 0x0a, 0x0d, 0x0a]);
