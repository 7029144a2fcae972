/**
 * A sans-IO HTTP/1.1 response parser (RFC 9112).
 *
 * Feed it the bytes read from a connection with {@link ResponseParser.push} and the end of the
 * stream with {@link ResponseParser.finish}; it returns {@link ParseEvent}s. Body bytes are
 * passed through as subarrays of the input (no copy); only the head, chunk-size lines and
 * trailers are buffered, each bounded by {@link ParserLimits}.
 *
 * Decisions where RFC 9112 lets the recipient choose (all tested by the corpus in
 * `response_parser_test.ts`):
 * - A bare LF ends a line like CRLF does (RFC 9112 §2.2 "MAY recognize a single LF"), in the
 *   head, chunk-size lines, after chunk data and in trailers. A CR not followed by LF is refused.
 * - Obsolete line folding is refused ({@link ObsoleteLineFolding}), not unfolded (§5.2).
 * - Whitespace between a field name and the colon is refused (§5.1).
 * - NUL, CR, LF and other controls except HTAB in a field value are refused (RFC 9110 §5.5).
 * - Status codes outside 100–599 and HTTP major versions other than 1 are refused; a missing
 *   reason phrase (with or without the space before it) is accepted.
 * - Transfer-Encoding with Content-Length, in an HTTP/1.0 response, or without `chunked` as the
 *   single, final coding is refused ({@link AmbiguousFraming}); `gzip`, `x-gzip` and `deflate`
 *   before `chunked` are reported in {@link BodyFraming} for the caller to decode.
 * - Several Content-Length values (in one line or many) are accepted only when all are equal.
 * - Chunk extensions are validated (`;name[=token|quoted-string]`) and ignored.
 *
 * @module
 */

import {
  AmbiguousFraming,
  ConnectionClosed,
  HeadTooLarge,
  InvalidChunk,
  InvalidContentLength,
  InvalidHeader,
  InvalidStatusLine,
  ObsoleteLineFolding,
  TruncatedResponse,
  UnsupportedTransferCoding,
} from "./errors.ts";

/** Size and count limits of a response head, trailers and chunk-size lines. */
export interface ParserLimits {
  /** Bytes of the status line plus all field lines and line ends (and separately of the trailers). */
  maxHeadBytes: number;
  /** Bytes of one status or field line, line end excluded. */
  maxLineBytes: number;
  /** Number of header fields (and separately of trailer fields). */
  maxFieldCount: number;
  /** Bytes of one chunk-size line including its extensions, line end excluded. */
  maxChunkLineBytes: number;
}

/**
 * The limits used when none are given: 64 KiB head, 16 KiB line, 256 fields, 4 KiB chunk line.
 *
 * @example
 * ```ts
 * import { DEFAULT_PARSER_LIMITS } from "./response_parser.ts";
 * console.log(DEFAULT_PARSER_LIMITS.maxHeadBytes); // 65536
 * ```
 */
export const DEFAULT_PARSER_LIMITS: Readonly<ParserLimits> = Object.freeze({
  maxHeadBytes: 64 * 1024,
  maxLineBytes: 16 * 1024,
  maxFieldCount: 256,
  maxChunkLineBytes: 4 * 1024,
});

/** A parsed status line and header section. */
export interface ResponseHead {
  /** `"1.0"` for HTTP/1.0, `"1.1"` for HTTP/1.1 and later 1.x minors. */
  version: "1.0" | "1.1";
  /** The status code, 100–599. */
  status: number;
  /** The reason phrase, possibly empty (bytes mapped 1:1 to code points, as `fetch` does). */
  statusText: string;
  /** Field lines in order, names as sent, values without surrounding whitespace. */
  fields: [name: string, value: string][];
}

/** How the body of a final response is delimited (RFC 9112 §6.3). */
export type BodyFraming =
  | { kind: "none" }
  | { kind: "length"; length: number }
  | {
    kind: "chunked";
    /** Transfer codings applied before `chunked`, in the order listed (e.g. `["gzip"]`). */
    codings: string[];
  }
  | { kind: "close" };

/** What the parser found in the bytes it was given. */
export type ParseEvent =
  /** A response head; `status` < 200 means informational (another head follows). */
  | { type: "head"; head: ResponseHead; framing: BodyFraming }
  /** Body bytes: a subarray of the pushed input, valid as long as the caller keeps that input. */
  | { type: "body"; bytes: Uint8Array }
  /** Trailer fields of a chunked body (only emitted when there is at least one). */
  | { type: "trailers"; fields: [string, string][] }
  /** The final response is complete. */
  | { type: "end" };

/** Options of {@link ResponseParser}. */
export interface ResponseParserOptions {
  /** The request method; `HEAD` responses have no body whatever their headers say. */
  method?: string;
  /** Limits; missing entries take {@link DEFAULT_PARSER_LIMITS}. */
  limits?: Partial<ParserLimits>;
}

const enum State {
  Head,
  BodyLength,
  BodyClose,
  ChunkSize,
  ChunkData,
  ChunkDataEnd,
  Trailers,
  Done,
  Failed,
}

const LF = 0x0a;
const CR = 0x0d;
const SP = 0x20;
const HTAB = 0x09;

/** tchar (RFC 9110 §5.6.2) lookup table. */
const TCHAR = new Uint8Array(256);
for (let c = 0x30; c <= 0x39; c++) TCHAR[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) TCHAR[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) TCHAR[c] = 1;
for (const ch of "!#$%&'*+-.^_`|~") TCHAR[ch.charCodeAt(0)] = 1;

/** field-vchar / SP / HTAB / obs-text: everything but controls (other than HTAB) and DEL. */
function isFieldByte(b: number): boolean {
  return b === HTAB || (b >= 0x20 && b !== 0x7f);
}

function latin1(bytes: Uint8Array, start: number, end: number): string {
  let s = "";
  for (let i = start; i < end; i += 4096) {
    s += String.fromCharCode.apply(
      null,
      bytes.subarray(i, Math.min(end, i + 4096)) as unknown as number[],
    );
  }
  return s;
}

function describeByte(b: number): string {
  if (b === 0) return "NUL byte";
  if (b === CR) return "bare CR";
  return `control byte 0x${b.toString(16).padStart(2, "0")}`;
}

/**
 * Incremental parser of one HTTP/1.1 response (and the 1xx responses before it).
 *
 * @example Parse a response delivered in two pieces
 * ```ts
 * import { ResponseParser } from "./response_parser.ts";
 * const p = new ResponseParser();
 * const enc = new TextEncoder();
 * const events = [
 *   ...p.push(enc.encode("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel")),
 *   ...p.push(enc.encode("lo")),
 * ];
 * console.log(events.map((e) => e.type)); // ["head", "body", "body", "end"]
 * console.log(p.keepAlive); // true
 * ```
 */
export class ResponseParser {
  readonly #limits: ParserLimits;
  readonly #headRequest: boolean;
  #state: State = State.Head;
  #error: unknown = undefined;

  // Line accumulation (head, chunk-size lines, trailers).
  #line = new Uint8Array(256);
  #lineLength = 0;
  #sectionBytes = 0;

  // Head being parsed.
  #version: "1.0" | "1.1" = "1.1";
  #status = 0;
  #statusText = "";
  #fields: [string, string][] = [];
  #sawStatusLine = false;

  #remaining = 0;
  #sawCR = false;
  #keepAlive = false;
  #totalBytes = 0;
  #bodyBytes = 0;
  #extraBytes = 0;

  constructor(options: ResponseParserOptions = {}) {
    this.#limits = { ...DEFAULT_PARSER_LIMITS, ...options.limits };
    this.#headRequest = options.method?.toUpperCase() === "HEAD";
  }

  /** Whether the final response has been parsed completely. */
  get done(): boolean {
    return this.#state === State.Done;
  }

  /** Whether the connection may carry another request once this response is done. */
  get keepAlive(): boolean {
    return this.#keepAlive && this.#extraBytes === 0;
  }

  /** Bytes received after the end of the final response (a misbehaving server); not reusable. */
  get extraBytes(): number {
    return this.#extraBytes;
  }

  /** Body bytes emitted so far (after transfer framing is removed). */
  get bodyBytes(): number {
    return this.#bodyBytes;
  }

  /** All bytes pushed so far. */
  get totalBytes(): number {
    return this.#totalBytes;
  }

  /**
   * Parses the next bytes of the response. Throws a {@link MalformedResponse} subclass on
   * invalid input; the parser then stays failed.
   */
  push(input: Uint8Array): ParseEvent[] {
    if (this.#state === State.Failed) throw this.#error;
    this.#totalBytes += input.length;
    const events: ParseEvent[] = [];
    try {
      this.#parse(input, events);
    } catch (e) {
      this.#state = State.Failed;
      this.#error = e;
      throw e;
    }
    return events;
  }

  /**
   * Tells the parser the connection ended. Ends a close-delimited body; throws
   * {@link ConnectionClosed} if nothing was received, {@link TruncatedResponse} if the response
   * is incomplete.
   */
  finish(): ParseEvent[] {
    switch (this.#state) {
      case State.Failed:
        throw this.#error;
      case State.Done:
        return [];
      case State.BodyClose:
        this.#state = State.Done;
        return [{ type: "end" }];
      case State.Head:
        this.#state = State.Failed;
        this.#error = this.#totalBytes === 0
          ? new ConnectionClosed("connection closed before any response byte arrived")
          : new TruncatedResponse(
            `connection closed inside the response head (after ${this.#totalBytes} bytes)`,
          );
        throw this.#error;
      case State.BodyLength:
        this.#state = State.Failed;
        this.#error = new TruncatedResponse(
          `connection closed after ${this.#bodyBytes} of ${
            this.#bodyBytes + this.#remaining
          } body bytes`,
        );
        throw this.#error;
      default:
        this.#state = State.Failed;
        this.#error = new TruncatedResponse(
          `connection closed inside the chunked body (after ${this.#bodyBytes} body bytes)`,
        );
        throw this.#error;
    }
  }

  #parse(input: Uint8Array, events: ParseEvent[]): void {
    let pos = 0;
    const length = input.length;
    while (pos < length) {
      switch (this.#state) {
        case State.Head:
        case State.Trailers:
        case State.ChunkSize: {
          const lf = input.indexOf(LF, pos);
          const end = lf < 0 ? length : lf;
          this.#appendLine(input, pos, end);
          if (lf < 0) return;
          pos = lf + 1;
          this.#sectionBytes += 1;
          this.#checkSectionBytes();
          let lineEnd = this.#lineLength;
          if (lineEnd > 0 && this.#line[lineEnd - 1] === CR) lineEnd--;
          this.#lineLength = 0;
          if (this.#state === State.Head) this.#headLine(lineEnd, events);
          else if (this.#state === State.Trailers) this.#trailerLine(lineEnd, events);
          else this.#chunkSizeLine(lineEnd);
          break;
        }
        case State.BodyLength: {
          const n = Math.min(this.#remaining, length - pos);
          events.push({ type: "body", bytes: input.subarray(pos, pos + n) });
          this.#bodyBytes += n;
          this.#remaining -= n;
          pos += n;
          if (this.#remaining === 0) this.#end(events);
          break;
        }
        case State.BodyClose:
          events.push({ type: "body", bytes: pos === 0 ? input : input.subarray(pos) });
          this.#bodyBytes += length - pos;
          return;
        case State.ChunkData: {
          const n = Math.min(this.#remaining, length - pos);
          events.push({ type: "body", bytes: input.subarray(pos, pos + n) });
          this.#bodyBytes += n;
          this.#remaining -= n;
          pos += n;
          if (this.#remaining === 0) {
            this.#state = State.ChunkDataEnd;
            this.#sawCR = false;
          }
          break;
        }
        case State.ChunkDataEnd: {
          const b = input[pos++];
          if (b === CR && !this.#sawCR) {
            this.#sawCR = true;
          } else if (b === LF) {
            this.#startLine(State.ChunkSize);
          } else {
            throw new InvalidChunk(
              "chunk data is not followed by CRLF (chunk size smaller than the data sent?)",
            );
          }
          break;
        }
        case State.Done:
          this.#extraBytes += length - pos;
          return;
      }
    }
  }

  #startLine(state: State.Head | State.Trailers | State.ChunkSize): void {
    this.#state = state;
    this.#lineLength = 0;
    if (state !== State.ChunkSize) this.#sectionBytes = 0;
  }

  #appendLine(input: Uint8Array, start: number, end: number): void {
    const n = end - start;
    if (n === 0) return;
    const chunkLine = this.#state === State.ChunkSize;
    const max = chunkLine ? this.#limits.maxChunkLineBytes : this.#limits.maxLineBytes;
    // One byte of slack for the CR that may precede LF.
    if (this.#lineLength + n > max + 1) {
      throw chunkLine
        ? new HeadTooLarge(
          `chunk-size line exceeds ${max} bytes`,
          "chunk-line-bytes",
          max,
        )
        : new HeadTooLarge(
          `${this.#state === State.Head ? "header" : "trailer"} line exceeds ${max} bytes`,
          "line-bytes",
          max,
        );
    }
    if (!chunkLine) {
      this.#sectionBytes += n;
      this.#checkSectionBytes();
    }
    const need = this.#lineLength + n;
    if (need > this.#line.length) {
      const grown = new Uint8Array(Math.max(need, this.#line.length * 2));
      grown.set(this.#line.subarray(0, this.#lineLength));
      this.#line = grown;
    }
    this.#line.set(input.subarray(start, end), this.#lineLength);
    this.#lineLength = need;
  }

  #checkSectionBytes(): void {
    if (this.#state === State.ChunkSize) return;
    const max = this.#limits.maxHeadBytes;
    if (this.#sectionBytes > max) {
      throw new HeadTooLarge(
        `response ${this.#state === State.Head ? "head" : "trailers"} exceed ${max} bytes`,
        "head-bytes",
        max,
      );
    }
  }

  #checkLineLimit(end: number): void {
    const max = this.#limits.maxLineBytes;
    if (end > max) {
      throw new HeadTooLarge(`line exceeds ${max} bytes`, "line-bytes", max);
    }
  }

  #headLine(end: number, events: ParseEvent[]): void {
    this.#checkLineLimit(end);
    if (!this.#sawStatusLine) {
      this.#statusLine(end);
      this.#sawStatusLine = true;
      return;
    }
    if (end === 0) {
      this.#headComplete(events);
      return;
    }
    this.#fieldLine(end, this.#fields, "header");
  }

  #statusLine(end: number): void {
    const l = this.#line;
    const shown = () => JSON.stringify(latin1(l, 0, Math.min(end, 80)));
    // "HTTP/" DIGIT "." DIGIT SP 3DIGIT [SP reason-phrase]  (RFC 9112 §4, §2.3)
    if (
      end < 12 || l[0] !== 0x48 || l[1] !== 0x54 || l[2] !== 0x54 || l[3] !== 0x50 ||
      l[4] !== 0x2f || l[6] !== 0x2e || !isDigit(l[5]) || !isDigit(l[7]) || l[8] !== SP
    ) {
      throw new InvalidStatusLine(`invalid status line ${shown()}`);
    }
    if (l[5] !== 0x31) {
      throw new InvalidStatusLine(`unsupported HTTP version in status line ${shown()}`);
    }
    this.#version = l[7] === 0x30 ? "1.0" : "1.1";
    if (!isDigit(l[9]) || !isDigit(l[10]) || !isDigit(l[11])) {
      throw new InvalidStatusLine(`invalid status code in status line ${shown()}`);
    }
    const status = (l[9] - 0x30) * 100 + (l[10] - 0x30) * 10 + (l[11] - 0x30);
    if (status < 100 || status > 599) {
      throw new InvalidStatusLine(`status code ${status} is outside 100-599`);
    }
    let reasonStart = 12;
    if (end > 12) {
      if (l[12] !== SP) {
        throw new InvalidStatusLine(`invalid status code in status line ${shown()}`);
      }
      reasonStart = 13;
    }
    for (let i = reasonStart; i < end; i++) {
      if (!isFieldByte(l[i])) {
        throw new InvalidStatusLine(`${describeByte(l[i])} in the reason phrase`);
      }
    }
    this.#status = status;
    this.#statusText = latin1(l, reasonStart, end);
    this.#fields = [];
  }

  #fieldLine(end: number, fields: [string, string][], what: string): void {
    const l = this.#line;
    if (l[0] === SP || l[0] === HTAB) {
      throw new ObsoleteLineFolding(
        fields.length === 0
          ? `${what} section starts with whitespace`
          : `obsolete line folding after ${what} "${fields[fields.length - 1][0]}"`,
      );
    }
    let colon = 0;
    while (colon < end && TCHAR[l[colon]]) colon++;
    if (colon === end || l[colon] !== 0x3a) {
      if (colon < end && (l[colon] === SP || l[colon] === HTAB)) {
        throw new InvalidHeader(`whitespace between ${what} name and colon`);
      }
      if (colon < end && l[colon] !== 0x3a) {
        throw new InvalidHeader(
          `${describeFieldNameByte(l[colon])} in ${what} name ${
            JSON.stringify(latin1(l, 0, Math.min(colon + 1, 64)))
          }`,
        );
      }
      throw new InvalidHeader(`${what} line without a colon`);
    }
    if (colon === 0) throw new InvalidHeader(`empty ${what} name`);
    if (fields.length >= this.#limits.maxFieldCount) {
      throw new HeadTooLarge(
        `more than ${this.#limits.maxFieldCount} ${what} fields`,
        "field-count",
        this.#limits.maxFieldCount,
      );
    }
    const name = latin1(l, 0, colon);
    let start = colon + 1;
    let stop = end;
    while (start < stop && (l[start] === SP || l[start] === HTAB)) start++;
    while (stop > start && (l[stop - 1] === SP || l[stop - 1] === HTAB)) stop--;
    for (let i = start; i < stop; i++) {
      if (!isFieldByte(l[i])) {
        throw new InvalidHeader(`${describeByte(l[i])} in the value of ${what} "${name}"`);
      }
    }
    fields.push([name, latin1(l, start, stop)]);
  }

  #headComplete(events: ParseEvent[]): void {
    const head: ResponseHead = {
      version: this.#version,
      status: this.#status,
      statusText: this.#statusText,
      fields: this.#fields,
    };
    this.#sawStatusLine = false;
    if (head.status < 200 && head.status !== 101) {
      // Informational: another head follows on the same connection (RFC 9110 §15.2).
      events.push({ type: "head", head, framing: { kind: "none" } });
      this.#startLine(State.Head);
      return;
    }
    const framing = this.#framing(head);
    this.#keepAlive = head.status !== 101 && framing.kind !== "close" &&
      connectionAllowsReuse(head);
    events.push({ type: "head", head, framing });
    switch (framing.kind) {
      case "none":
        this.#end(events);
        break;
      case "length":
        this.#remaining = framing.length;
        this.#state = State.BodyLength;
        if (framing.length === 0) this.#end(events);
        break;
      case "chunked":
        this.#startLine(State.ChunkSize);
        break;
      case "close":
        this.#state = State.BodyClose;
        break;
    }
  }

  #framing(head: ResponseHead): BodyFraming {
    // RFC 9112 §6.3 items 1-2.
    if (
      this.#headRequest || head.status === 101 || head.status === 204 || head.status === 304
    ) {
      return { kind: "none" };
    }
    let te: string[] | undefined;
    let cl: string[] | undefined;
    for (const [name, value] of head.fields) {
      const lower = name.toLowerCase();
      if (lower === "transfer-encoding") (te ??= []).push(value);
      else if (lower === "content-length") (cl ??= []).push(value);
    }
    if (te) {
      if (cl) {
        throw new AmbiguousFraming("both Content-Length and Transfer-Encoding are present");
      }
      if (head.version === "1.0") {
        throw new AmbiguousFraming("Transfer-Encoding in an HTTP/1.0 response (RFC 9112 §6.1)");
      }
      return { kind: "chunked", codings: transferCodings(te) };
    }
    if (cl) return { kind: "length", length: contentLength(cl) };
    return { kind: "close" };
  }

  #chunkSizeLine(end: number): void {
    const max = this.#limits.maxChunkLineBytes;
    if (end > max) {
      throw new HeadTooLarge(`chunk-size line exceeds ${max} bytes`, "chunk-line-bytes", max);
    }
    const l = this.#line;
    let size = 0;
    let i = 0;
    for (; i < end; i++) {
      const d = hexValue(l[i]);
      if (d < 0) break;
      size = size * 16 + d;
      if (size > Number.MAX_SAFE_INTEGER) throw new InvalidChunk("chunk size is too large");
    }
    if (i === 0) {
      throw new InvalidChunk(
        `chunk size ${JSON.stringify(latin1(l, 0, Math.min(end, 40)))} is not hexadecimal`,
      );
    }
    validateChunkExtensions(l, i, end);
    if (size === 0) {
      this.#fields = [];
      this.#startLine(State.Trailers);
    } else {
      this.#remaining = size;
      this.#state = State.ChunkData;
    }
  }

  #trailerLine(end: number, events: ParseEvent[]): void {
    this.#checkLineLimit(end);
    if (end === 0) {
      if (this.#fields.length > 0) events.push({ type: "trailers", fields: this.#fields });
      this.#end(events);
      return;
    }
    this.#fieldLine(end, this.#fields, "trailer");
  }

  #end(events: ParseEvent[]): void {
    this.#state = State.Done;
    events.push({ type: "end" });
  }
}

function isDigit(b: number): boolean {
  return b >= 0x30 && b <= 0x39;
}

function hexValue(b: number): number {
  if (b >= 0x30 && b <= 0x39) return b - 0x30;
  if (b >= 0x61 && b <= 0x66) return b - 0x57;
  if (b >= 0x41 && b <= 0x46) return b - 0x37;
  return -1;
}

function describeFieldNameByte(b: number): string {
  if (b < 0x20 || b === 0x7f) return describeByte(b);
  return `character ${JSON.stringify(String.fromCharCode(b))}`;
}

/** Splits a comma-separated list (RFC 9110 §5.6.1), dropping empty elements. */
function listElements(values: string[]): string[] {
  const out: string[] = [];
  for (const value of values) {
    for (const part of value.split(",")) {
      const t = part.trim();
      if (t !== "") out.push(t);
    }
  }
  return out;
}

function connectionAllowsReuse(head: ResponseHead): boolean {
  const options: string[] = [];
  for (const [name, value] of head.fields) {
    if (name.toLowerCase() === "connection") options.push(value);
  }
  const tokens = listElements(options).map((t) => t.toLowerCase());
  if (tokens.includes("close")) return false;
  return head.version === "1.1" || tokens.includes("keep-alive");
}

const DECODABLE_TRANSFER_CODINGS = new Set(["gzip", "x-gzip", "deflate"]);

function transferCodings(values: string[]): string[] {
  const elements = listElements(values);
  if (elements.length === 0) throw new AmbiguousFraming("empty Transfer-Encoding");
  const names = elements.map((e) => {
    const semi = e.indexOf(";");
    const name = (semi < 0 ? e : e.slice(0, semi)).trim().toLowerCase();
    for (let i = 0; i < name.length; i++) {
      if (!TCHAR[name.charCodeAt(i)]) throw new UnsupportedTransferCoding(e);
    }
    return name;
  });
  const chunkedAt = names.indexOf("chunked");
  if (chunkedAt !== names.length - 1 || names.lastIndexOf("chunked") !== chunkedAt) {
    throw new AmbiguousFraming(
      `Transfer-Encoding "${elements.join(", ")}" does not end in a single "chunked"`,
    );
  }
  const codings = names.slice(0, -1);
  for (const c of codings) {
    if (!DECODABLE_TRANSFER_CODINGS.has(c)) throw new UnsupportedTransferCoding(c);
  }
  return codings;
}

function contentLength(values: string[]): number {
  let length = -1;
  for (const value of values) {
    for (const part of value.split(",")) {
      const t = part.trim();
      if (!/^[0-9]+$/.test(t)) {
        throw new InvalidContentLength(
          `Content-Length ${JSON.stringify(value)} is not a decimal number`,
        );
      }
      const n = Number(t);
      if (!Number.isSafeInteger(n)) {
        throw new InvalidContentLength(`Content-Length ${t} is too large`);
      }
      if (length >= 0 && n !== length) {
        throw new AmbiguousFraming(`differing Content-Length values ${length} and ${n}`);
      }
      length = n;
    }
  }
  return length;
}

/**
 * chunk-ext = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )  (RFC 9112 §7.1.1)
 * followed here by optional trailing whitespace.
 */
function validateChunkExtensions(l: Uint8Array, start: number, end: number): void {
  let i = start;
  const skipBws = () => {
    while (i < end && (l[i] === SP || l[i] === HTAB)) i++;
  };
  const bad = (why: string) =>
    new InvalidChunk(
      `invalid chunk extension (${why}) in ${JSON.stringify(latin1(l, 0, Math.min(end, 80)))}`,
    );
  const token = () => {
    const s = i;
    while (i < end && TCHAR[l[i]]) i++;
    if (i === s) throw bad("expected a token");
  };
  for (;;) {
    skipBws();
    if (i === end) return;
    if (l[i] !== 0x3b) {
      throw i === start && !(l[i] === SP || l[i] === HTAB)
        ? new InvalidChunk(
          `chunk size ${JSON.stringify(latin1(l, 0, Math.min(end, 40)))} is not hexadecimal`,
        )
        : bad("expected ';'");
    }
    i++;
    skipBws();
    token();
    skipBws();
    if (i < end && l[i] === 0x3d) {
      i++;
      skipBws();
      if (i < end && l[i] === 0x22) {
        i++;
        for (;;) {
          if (i >= end) throw bad("unterminated quoted string");
          const b = l[i];
          if (b === 0x22) {
            i++;
            break;
          }
          if (b === 0x5c) {
            i++;
            if (i >= end || !isFieldByte(l[i])) throw bad("bad quoted pair");
          } else if (!isFieldByte(b)) {
            throw bad(describeByte(b));
          }
          i++;
        }
      } else {
        token();
      }
    }
  }
}
