// A response-parsing corpus: each raw response maps to the expected result or error class.
// Every case is fed whole, split at every byte boundary, one byte at a time, and in random
// pieces, so partial reads cannot change the outcome.
import assert from "node:assert/strict";
import {
  AmbiguousFraming,
  ConnectionClosed,
  HeadTooLarge,
  InvalidChunk,
  InvalidContentLength,
  InvalidHeader,
  InvalidStatusLine,
  MalformedResponse,
  ObsoleteLineFolding,
  TruncatedResponse,
  UnsupportedTransferCoding,
} from "./errors.ts";
import {
  type BodyFraming,
  DEFAULT_PARSER_LIMITS,
  type ParseEvent,
  type ParserLimits,
  ResponseParser,
} from "./response_parser.ts";
import { latin1Bytes } from "./_test_util.ts";

interface Expected {
  status: number;
  statusText?: string;
  version?: "1.0" | "1.1";
  headers?: [string, string][];
  body: string;
  trailers?: [string, string][];
  keepAlive?: boolean;
  /** Status codes of informational heads before the final one. */
  informational?: number[];
  framing?: BodyFraming;
  extraBytes?: number;
}

interface Case {
  name: string;
  raw: string;
  method?: string;
  /** Signal end of stream after the bytes. */
  eof?: boolean;
  limits?: Partial<ParserLimits>;
  expect?: Expected;
  // deno-lint-ignore no-explicit-any
  error?: new (...args: any[]) => Error;
}

const CASES: Case[] = [
  // --- Framing: Content-Length -----------------------------------------------------------------
  {
    name: "Content-Length body",
    raw: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
    expect: {
      status: 200,
      statusText: "OK",
      version: "1.1",
      headers: [["Content-Length", "5"]],
      body: "hello",
      keepAlive: true,
      framing: { kind: "length", length: 5 },
    },
  },
  {
    name: "Content-Length 0",
    raw: "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
    expect: { status: 200, body: "", keepAlive: true },
  },
  {
    name: "binary body with NUL bytes is passed through",
    raw: "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n\0\r\n\0",
    expect: { status: 200, body: "\0\r\n\0" },
  },
  {
    name: "identical duplicate Content-Length lines",
    raw: "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
    expect: { status: 200, body: "abc" },
  },
  {
    name: "identical Content-Length list",
    raw: "HTTP/1.1 200 OK\r\nContent-Length: 3, 3\r\n\r\nabc",
    expect: { status: 200, body: "abc" },
  },
  {
    name: "Content-Length with leading zeros",
    raw: "HTTP/1.1 200 OK\r\nContent-Length: 003\r\n\r\nabc",
    expect: { status: 200, body: "abc" },
  },
  {
    name: "bytes after the body are counted and forbid reuse",
    raw: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nabEXTRA",
    expect: { status: 200, body: "ab", keepAlive: false, extraBytes: 5 },
  },
  // --- Framing: close-delimited ----------------------------------------------------------------
  {
    name: "no length: body runs to end of stream",
    raw: "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end",
    eof: true,
    expect: {
      status: 200,
      body: "until the end",
      keepAlive: false,
      framing: { kind: "close" },
    },
  },
  {
    name: "HTTP/1.0 close-delimited",
    raw: "HTTP/1.0 200 OK\r\n\r\nold",
    eof: true,
    expect: { status: 200, version: "1.0", body: "old", keepAlive: false },
  },
  {
    name: "HTTP/1.0 keep-alive with Content-Length",
    raw: "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok",
    expect: { status: 200, version: "1.0", body: "ok", keepAlive: true },
  },
  {
    name: "HTTP/1.0 without keep-alive is not reusable",
    raw: "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok",
    expect: { status: 200, body: "ok", keepAlive: false },
  },
  {
    name: "Connection: close",
    raw: "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok",
    expect: { status: 200, body: "ok", keepAlive: false },
  },
  {
    name: "Connection list with Close in any case",
    raw: "HTTP/1.1 200 OK\r\nConnection: keep-alive, Close\r\nContent-Length: 0\r\n\r\n",
    expect: { status: 200, body: "", keepAlive: false },
  },
  {
    name: "HTTP/1.2 is treated as 1.1",
    raw: "HTTP/1.2 200 OK\r\nContent-Length: 0\r\n\r\n",
    expect: { status: 200, version: "1.1", body: "", keepAlive: true },
  },
  // --- Framing: chunked ------------------------------------------------------------------------
  {
    name: "chunked body",
    raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" +
      "5\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\n\r\n",
    expect: {
      status: 200,
      body: "hello world",
      keepAlive: true,
      framing: { kind: "chunked", codings: [] },
    },
  },
  {
    name: "chunk sizes in upper case hex with leading zeros",
    raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" +
      "000A\r\n0123456789\r\n00\r\n\r\n",
    expect: { status: 200, body: "0123456789" },
  },
  {
    name: "chunk extensions are accepted and ignored",
    raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" +
      '3;name=value\r\nabc\r\n3 ; a ; b = "quoted ; \\" value"\r\ndef\r\n' +
      "2;flag\t;x=y\r\ngh\r\n0;last=1\r\n\r\n",
    expect: { status: 200, body: "abcdefgh" },
  },
  {
    name: "trailers",
    raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Checksum\r\n\r\n" +
      "3\r\nabc\r\n0\r\nX-Checksum: 1234\r\nX-Other:  two \r\n\r\n",
    expect: {
      status: 200,
      body: "abc",
      trailers: [["X-Checksum", "1234"], ["X-Other", "two"]],
      keepAlive: true,
    },
  },
  {
    name: "LF-only line ends everywhere are accepted (RFC 9112 §2.2)",
    raw: "HTTP/1.1 200 OK\nTransfer-Encoding: chunked\nX-A: b\n\n" +
      "3\nabc\n2;e=1\nde\n0\nX-T: t\n\n",
    expect: {
      status: 200,
      headers: [["Transfer-Encoding", "chunked"], ["X-A", "b"]],
      body: "abcde",
      trailers: [["X-T", "t"]],
    },
  },
  {
    name: "Transfer-Encoding is case-insensitive",
    raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: Chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n",
    expect: { status: 200, body: "x" },
  },
  {
    name: "TE: gzip, chunked reports gzip to decode",
    raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n2\r\n\x1f\x8b\r\n0\r\n\r\n",
    expect: { status: 200, body: "\x1f\x8b", framing: { kind: "chunked", codings: ["gzip"] } },
  },
  {
    name: "TE over two lines combines",
    raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: deflate\r\nTransfer-Encoding: chunked\r\n\r\n" +
      "0\r\n\r\n",
    expect: { status: 200, body: "", framing: { kind: "chunked", codings: ["deflate"] } },
  },
  {
    name: "large chunk split across many reads",
    raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n40\r\n" + "z".repeat(64) +
      "\r\n0\r\n\r\n",
    expect: { status: 200, body: "z".repeat(64) },
  },
  // --- No body ---------------------------------------------------------------------------------
  {
    name: "HEAD: Content-Length describes the GET body, none follows",
    method: "HEAD",
    raw: "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n",
    expect: { status: 200, body: "", keepAlive: true, framing: { kind: "none" } },
  },
  {
    name: "HEAD: Transfer-Encoding chunked, no body",
    method: "head",
    raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
    expect: { status: 200, body: "", keepAlive: true },
  },
  {
    name: "204 has no body even with Content-Length",
    raw: "HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n",
    expect: { status: 204, statusText: "No Content", body: "", keepAlive: true },
  },
  {
    name: "304 has no body even with Transfer-Encoding",
    raw: 'HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\nETag: "x"\r\n\r\n',
    expect: { status: 304, body: "", keepAlive: true },
  },
  {
    name: "100 Continue then the response",
    raw: "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
    expect: { status: 200, body: "ok", informational: [100] },
  },
  {
    name: "103 Early Hints with fields, then the response",
    raw: "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n" +
      "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
    expect: { status: 200, body: "", informational: [103], headers: [["Content-Length", "0"]] },
  },
  {
    name: "several informational responses; their Content-Length is ignored",
    raw: "HTTP/1.1 100 Continue\r\nContent-Length: 5\r\n\r\nHTTP/1.1 102 Processing\r\n\r\n" +
      "HTTP/1.1 201 Created\r\nContent-Length: 1\r\n\r\n!",
    expect: { status: 201, body: "!", informational: [100, 102] },
  },
  {
    name: "101 is final, has no body and ends reuse",
    raw: "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
    expect: { status: 101, body: "", keepAlive: false },
  },
  // --- Status line -----------------------------------------------------------------------------
  {
    name: "empty reason phrase after the space",
    raw: "HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n",
    expect: { status: 200, statusText: "", body: "" },
  },
  {
    name: "no reason phrase and no space",
    raw: "HTTP/1.1 404\r\nContent-Length: 0\r\n\r\n",
    expect: { status: 404, statusText: "", body: "" },
  },
  {
    name: "reason phrase with spaces, tabs and obs-text",
    raw: "HTTP/1.1 200 Tr\xe8s\tbien OK\r\nContent-Length: 0\r\n\r\n",
    expect: { status: 200, statusText: "Tr\xe8s\tbien OK", body: "" },
  },
  { name: "HTTP/2.0 status line", raw: "HTTP/2.0 200 OK\r\n\r\n", error: InvalidStatusLine },
  { name: "HTTP/0.9 style body", raw: "<html>hello</html>\r\n\r\n", error: InvalidStatusLine },
  { name: "lower-case http", raw: "http/1.1 200 OK\r\n\r\n", error: InvalidStatusLine },
  { name: "ICY status line", raw: "ICY 200 OK\r\n\r\n", error: InvalidStatusLine },
  { name: "two-digit status", raw: "HTTP/1.1 20 OK\r\n\r\n", error: InvalidStatusLine },
  { name: "four-digit status", raw: "HTTP/1.1 2000 OK\r\n\r\n", error: InvalidStatusLine },
  { name: "status below 100", raw: "HTTP/1.1 099 Low\r\n\r\n", error: InvalidStatusLine },
  { name: "status above 599", raw: "HTTP/1.1 600 High\r\n\r\n", error: InvalidStatusLine },
  { name: "non-digit status", raw: "HTTP/1.1 2x0 OK\r\n\r\n", error: InvalidStatusLine },
  { name: "double space before status", raw: "HTTP/1.1  200 OK\r\n\r\n", error: InvalidStatusLine },
  { name: "version with letters", raw: "HTTP/1.x 200 OK\r\n\r\n", error: InvalidStatusLine },
  {
    name: "empty line before status line",
    raw: "\r\nHTTP/1.1 200 OK\r\n\r\n",
    error: InvalidStatusLine,
  },
  { name: "NUL in reason phrase", raw: "HTTP/1.1 200 O\0K\r\n\r\n", error: InvalidStatusLine },
  {
    name: "bare CR in status line",
    raw: "HTTP/1.1 200 OK\rX: y\r\n\r\n",
    error: InvalidStatusLine,
  },
  // --- Header fields ---------------------------------------------------------------------------
  {
    name: "field values are trimmed; inner whitespace kept; empty value allowed",
    raw: "HTTP/1.1 200 OK\r\nX-A: \t v  w \t\r\nX-Empty:\r\nX-Sp: \r\nContent-Length: 0\r\n\r\n",
    expect: {
      status: 200,
      headers: [["X-A", "v  w"], ["X-Empty", ""], ["X-Sp", ""], ["Content-Length", "0"]],
      body: "",
    },
  },
  {
    name: "obs-text in a field value is kept byte for byte",
    raw: "HTTP/1.1 200 OK\r\nX-Name: caf\xe9\xff\r\nContent-Length: 0\r\n\r\n",
    expect: {
      status: 200,
      headers: [["X-Name", "caf\xe9\xff"], ["Content-Length", "0"]],
      body: "",
    },
  },
  {
    name: "repeated fields keep their order (Set-Cookie)",
    raw: "HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nContent-Length: 0\r\n\r\n",
    expect: {
      status: 200,
      headers: [["Set-Cookie", "a=1"], ["Set-Cookie", "b=2"], ["Content-Length", "0"]],
      body: "",
    },
  },
  {
    name: "token characters in names",
    raw: "HTTP/1.1 200 OK\r\nX!#$%&'*+-.^_`|~09az: v\r\nContent-Length: 0\r\n\r\n",
    expect: {
      status: 200,
      headers: [["X!#$%&'*+-.^_`|~09az", "v"], ["Content-Length", "0"]],
      body: "",
    },
  },
  {
    name: "obsolete line folding is refused",
    raw: "HTTP/1.1 200 OK\r\nX-A: first\r\n second\r\nContent-Length: 0\r\n\r\n",
    error: ObsoleteLineFolding,
  },
  {
    name: "obsolete line folding with a tab is refused",
    raw: "HTTP/1.1 200 OK\r\nX-A: first\r\n\tsecond\r\n\r\n",
    error: ObsoleteLineFolding,
  },
  {
    name: "whitespace before the first field is refused",
    raw: "HTTP/1.1 200 OK\r\n X-A: b\r\n\r\n",
    error: ObsoleteLineFolding,
  },
  { name: "space before colon", raw: "HTTP/1.1 200 OK\r\nX-A : b\r\n\r\n", error: InvalidHeader },
  { name: "tab before colon", raw: "HTTP/1.1 200 OK\r\nX-A\t: b\r\n\r\n", error: InvalidHeader },
  { name: "no colon", raw: "HTTP/1.1 200 OK\r\nX-A b\r\n\r\n", error: InvalidHeader },
  { name: "empty name", raw: "HTTP/1.1 200 OK\r\n: b\r\n\r\n", error: InvalidHeader },
  { name: "separator in name", raw: "HTTP/1.1 200 OK\r\nX(A): b\r\n\r\n", error: InvalidHeader },
  { name: "non-ASCII in name", raw: "HTTP/1.1 200 OK\r\nX\xe9: b\r\n\r\n", error: InvalidHeader },
  { name: "NUL in name", raw: "HTTP/1.1 200 OK\r\nX\0A: b\r\n\r\n", error: InvalidHeader },
  { name: "NUL in value", raw: "HTTP/1.1 200 OK\r\nX-A: b\0c\r\n\r\n", error: InvalidHeader },
  { name: "bare CR in value", raw: "HTTP/1.1 200 OK\r\nX-A: b\rc\r\n\r\n", error: InvalidHeader },
  {
    name: "bare CR ending a field line",
    raw: "HTTP/1.1 200 OK\r\nX-A: b\rX-B: c\r\n\r\n",
    error: InvalidHeader,
  },
  { name: "CR CR LF", raw: "HTTP/1.1 200 OK\r\nX-A: b\r\r\n\r\n", error: InvalidHeader },
  { name: "DEL in value", raw: "HTTP/1.1 200 OK\r\nX-A: b\x7f\r\n\r\n", error: InvalidHeader },
  { name: "control in value", raw: "HTTP/1.1 200 OK\r\nX-A: \x01\r\n\r\n", error: InvalidHeader },
  {
    name: "bare CR between head and body line end",
    raw: "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\r\n",
    error: InvalidHeader,
  },
  // --- Limits ----------------------------------------------------------------------------------
  {
    name: "a field line at the line limit passes",
    limits: { maxLineBytes: 32 },
    raw: `HTTP/1.1 200 OK\r\nX-A: ${"v".repeat(27)}\r\nContent-Length: 0\r\n\r\n`,
    expect: { status: 200, body: "" },
  },
  {
    name: "a field line over the line limit",
    limits: { maxLineBytes: 32 },
    raw: `HTTP/1.1 200 OK\r\nX-A: ${"v".repeat(28)}\r\nContent-Length: 0\r\n\r\n`,
    error: HeadTooLarge,
  },
  {
    name: "a field line over the line limit with LF-only ends",
    limits: { maxLineBytes: 32 },
    raw: `HTTP/1.1 200 OK\nX-A: ${"v".repeat(28)}\nContent-Length: 0\n\n`,
    error: HeadTooLarge,
  },
  {
    name: "a status line over the line limit",
    limits: { maxLineBytes: 32 },
    raw: `HTTP/1.1 200 ${"O".repeat(40)}\r\n\r\n`,
    error: HeadTooLarge,
  },
  {
    name: "head over the head limit",
    limits: { maxHeadBytes: 100 },
    raw: "HTTP/1.1 200 OK\r\n" + "X-Field: 0123456789\r\n".repeat(5) + "\r\n",
    error: HeadTooLarge,
  },
  {
    name: "head just within the head limit",
    limits: { maxHeadBytes: 17 + 21 * 4 + 2 },
    raw: "HTTP/1.1 200 OK\r\n" + "X-Field: 0123456789\r\n".repeat(4) + "\r\n",
    eof: true,
    expect: { status: 200, body: "" },
  },
  {
    name: "more fields than allowed",
    limits: { maxFieldCount: 3 },
    raw: "HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n",
    error: HeadTooLarge,
  },
  {
    name: "a chunk line over the chunk line limit (long extension)",
    limits: { maxChunkLineBytes: 16 },
    raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;ext=" + "x".repeat(20) +
      "\r\na\r\n0\r\n\r\n",
    error: HeadTooLarge,
  },
  {
    name: "trailers over the field count",
    limits: { maxFieldCount: 2 },
    raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n",
    error: HeadTooLarge,
  },
  {
    name: "an endless header without LF hits the line limit",
    limits: { maxLineBytes: 64 },
    raw: "HTTP/1.1 200 OK\r\nX-A: " + "a".repeat(200),
    error: HeadTooLarge,
  },
  // --- Ambiguous framing -----------------------------------------------------------------------
  {
    name: "Content-Length and Transfer-Encoding",
    raw: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    error: AmbiguousFraming,
  },
  {
    name: "Transfer-Encoding before Content-Length",
    raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n",
    error: AmbiguousFraming,
  },
  {
    name: "differing Content-Length lines",
    raw: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
    error: AmbiguousFraming,
  },
  {
    name: "differing Content-Length list",
    raw: "HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n\r\nhello!",
    error: AmbiguousFraming,
  },
  {
    name: "chunked not last",
    raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
    error: AmbiguousFraming,
  },
  {
    name: "chunked twice",
    raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n",
    error: AmbiguousFraming,
  },
  {
    name: "Transfer-Encoding without chunked",
    raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
    error: AmbiguousFraming,
  },
  {
    name: "empty Transfer-Encoding",
    raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: \r\n\r\n",
    error: AmbiguousFraming,
  },
  {
    name: "Transfer-Encoding in HTTP/1.0",
    raw: "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    error: AmbiguousFraming,
  },
  {
    name: "unknown transfer coding",
    raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: compress, chunked\r\n\r\n",
    error: UnsupportedTransferCoding,
  },
  {
    name: "identity transfer coding",
    raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: identity, chunked\r\n\r\n",
    error: UnsupportedTransferCoding,
  },
  {
    name: "negative Content-Length",
    raw: "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
    error: InvalidContentLength,
  },
  {
    name: "Content-Length with a sign",
    raw: "HTTP/1.1 200 OK\r\nContent-Length: +1\r\n\r\nx",
    error: InvalidContentLength,
  },
  {
    name: "hex Content-Length",
    raw: "HTTP/1.1 200 OK\r\nContent-Length: 0x10\r\n\r\n",
    error: InvalidContentLength,
  },
  {
    name: "empty Content-Length",
    raw: "HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n",
    error: InvalidContentLength,
  },
  {
    name: "Content-Length with inner space",
    raw: "HTTP/1.1 200 OK\r\nContent-Length: 1 2\r\n\r\n",
    error: InvalidContentLength,
  },
  {
    name: "Content-Length beyond 2^53",
    raw: "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n",
    error: InvalidContentLength,
  },
  // --- Bad chunks ------------------------------------------------------------------------------
  ...[
    ["non-hex chunk size", "zz\r\n"],
    ["empty chunk size", "\r\n"],
    ["negative chunk size", "-5\r\nhello\r\n"],
    ["0x prefix", "0x5\r\nhello\r\n"],
    ["leading space", " 5\r\nhello\r\n"],
    ["chunk size overflow", "fffffffffffffffffff\r\n"],
    ["data longer than the size", "3\r\nhello\r\n0\r\n\r\n"],
    ["CR then junk after data", "5\r\nhello\rX\r\n"],
    ["empty extension name", "5;\r\nhello\r\n0\r\n\r\n"],
    ["unterminated quoted extension", '5;a="open\r\nhello\r\n0\r\n\r\n'],
    ["extension value with a space", "5;a=b c\r\nhello\r\n0\r\n\r\n"],
    ["NUL in an extension", "5;a\0\r\nhello\r\n0\r\n\r\n"],
    ["bare CR in a chunk size line", "5\rX\nhello\r\n0\r\n\r\n"],
  ].map(([name, chunks]): Case => ({
    name,
    raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks,
    error: InvalidChunk,
  })),
  {
    name: "obsolete line folding in trailers",
    raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-T: a\r\n b\r\n\r\n",
    error: ObsoleteLineFolding,
  },
  {
    name: "invalid trailer line",
    raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nno colon here\r\n\r\n",
    error: InvalidHeader,
  },
  // --- Truncation ------------------------------------------------------------------------------
  { name: "nothing at all", raw: "", eof: true, error: ConnectionClosed },
  { name: "half a status line", raw: "HTTP/1.1 20", eof: true, error: TruncatedResponse },
  {
    name: "head without the final empty line",
    raw: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n",
    eof: true,
    error: TruncatedResponse,
  },
  {
    name: "informational response then end of stream",
    raw: "HTTP/1.1 100 Continue\r\n\r\n",
    eof: true,
    error: TruncatedResponse,
  },
  {
    name: "short Content-Length body",
    raw: "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello",
    eof: true,
    error: TruncatedResponse,
  },
  {
    name: "chunked body without the last chunk",
    raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
    eof: true,
    error: TruncatedResponse,
  },
  {
    name: "chunked body cut inside a chunk",
    raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel",
    eof: true,
    error: TruncatedResponse,
  },
  {
    name: "chunked body cut inside the trailers",
    raw: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-T: 1\r\n",
    eof: true,
    error: TruncatedResponse,
  },
];

interface Outcome {
  heads: Array<{ status: number; statusText: string; version: string; fields: [string, string][] }>;
  framing?: BodyFraming;
  body: string;
  trailers?: [string, string][];
  ended: boolean;
  keepAlive: boolean;
  extraBytes: number;
  error?: unknown;
}

function run(c: Case, pieces: Uint8Array[]): Outcome {
  const parser = new ResponseParser({ method: c.method, limits: c.limits });
  const out: Outcome = { heads: [], body: "", ended: false, keepAlive: false, extraBytes: 0 };
  const take = (events: ParseEvent[]) => {
    for (const e of events) {
      if (e.type === "head") {
        out.heads.push({
          status: e.head.status,
          statusText: e.head.statusText,
          version: e.head.version,
          fields: e.head.fields,
        });
        out.framing = e.framing;
      } else if (e.type === "body") {
        for (const b of e.bytes) out.body += String.fromCharCode(b);
      } else if (e.type === "trailers") {
        out.trailers = e.fields;
      } else {
        assert.equal(out.ended, false, "two end events");
        out.ended = true;
      }
    }
  };
  try {
    for (const p of pieces) take(parser.push(p));
    if (c.eof) take(parser.finish());
  } catch (e) {
    out.error = e;
  }
  out.keepAlive = parser.keepAlive;
  out.extraBytes = parser.extraBytes;
  return out;
}

function check(c: Case, out: Outcome, how: string): void {
  const where = `${c.name} (${how})`;
  if (c.error) {
    assert.ok(out.error !== undefined, `${where}: expected ${c.error.name}, got success`);
    assert.equal(
      (out.error as Error).constructor,
      c.error,
      `${where}: expected ${c.error.name}, got ${(out.error as Error).name}: ${
        (out.error as Error).message
      }`,
    );
    return;
  }
  if (out.error) throw new Error(`${where}: unexpected ${(out.error as Error).stack}`);
  const e = c.expect!;
  const final = out.heads[out.heads.length - 1];
  assert.ok(final, `${where}: no head`);
  assert.equal(final.status, e.status, where);
  if (e.statusText !== undefined) assert.equal(final.statusText, e.statusText, where);
  if (e.version !== undefined) assert.equal(final.version, e.version, where);
  if (e.headers) assert.deepEqual(final.fields, e.headers, where);
  assert.deepEqual(out.heads.slice(0, -1).map((h) => h.status), e.informational ?? [], where);
  assert.equal(out.body, e.body, where);
  assert.deepEqual(out.trailers, e.trailers, where);
  assert.ok(out.ended, `${where}: no end event`);
  if (e.keepAlive !== undefined) assert.equal(out.keepAlive, e.keepAlive, `${where}: keepAlive`);
  if (e.framing) assert.deepEqual(out.framing, e.framing, where);
  assert.equal(out.extraBytes, e.extraBytes ?? 0, `${where}: extraBytes`);
}

/** mulberry32: a tiny seeded PRNG so random splits are reproducible. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

Deno.test("corpus: whole, every two-way split, byte by byte, random splits", () => {
  const random = prng(0x5eed);
  for (const c of CASES) {
    const bytes = latin1Bytes(c.raw);
    check(c, run(c, [bytes]), "whole");
    for (let i = 1; i < bytes.length; i++) {
      check(c, run(c, [bytes.slice(0, i), bytes.slice(i)]), `split at ${i}`);
    }
    check(c, run(c, [...bytes].map((b) => new Uint8Array([b]))), "byte by byte");
    for (let round = 0; round < 20; round++) {
      const pieces: Uint8Array[] = [];
      let at = 0;
      while (at < bytes.length) {
        const n = 1 + Math.floor(random() * 12);
        pieces.push(bytes.slice(at, at + n));
        at += n;
      }
      check(c, run(c, pieces), `random split round ${round}`);
    }
  }
});

Deno.test("corpus: every error class is a MalformedResponse or a truncation", () => {
  for (const c of CASES) {
    if (!c.error) continue;
    const out = run(c, [latin1Bytes(c.raw)]);
    assert.ok(
      out.error instanceof MalformedResponse || out.error instanceof TruncatedResponse ||
        out.error instanceof ConnectionClosed,
      c.name,
    );
    assert.ok(out.error instanceof TypeError, `${c.name}: errors are TypeErrors like fetch's`);
  }
});

Deno.test("body bytes are subarrays of the input, not copies", () => {
  const input = latin1Bytes("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello");
  const events = new ResponseParser().push(input);
  const body = events.find((e) => e.type === "body") as { bytes: Uint8Array };
  assert.equal(body.bytes.buffer, input.buffer);
  assert.equal(body.bytes.byteOffset, input.length - 5);

  const chunked = latin1Bytes(
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
  );
  const parts = new ResponseParser().push(chunked).filter((e) => e.type === "body") as Array<
    { bytes: Uint8Array }
  >;
  assert.deepEqual(parts.map((p) => p.bytes.buffer === chunked.buffer), [true, true]);
});

Deno.test("a long chunked body is linear: 100k one-byte chunks parse quickly", () => {
  const head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
  const chunk = "1\r\nx\r\n";
  const input = latin1Bytes(head + chunk.repeat(100_000) + "0\r\n\r\n");
  const parser = new ResponseParser();
  let bytes = 0;
  const start = performance.now();
  for (let at = 0; at < input.length; at += 1000) {
    for (const e of parser.push(input.subarray(at, at + 1000))) {
      if (e.type === "body") bytes += e.bytes.length;
    }
  }
  assert.equal(bytes, 100_000);
  assert.ok(parser.done);
  assert.ok(performance.now() - start < 2000, "parsing took too long");
});

Deno.test("HeadTooLarge says which limit", () => {
  const tooManyFields = new ResponseParser({ limits: { maxFieldCount: 1 } });
  assert.throws(
    () => tooManyFields.push(latin1Bytes("HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\n")),
    (e) => e instanceof HeadTooLarge && e.limit === "field-count" && e.max === 1,
  );
  const longHead = new ResponseParser({ limits: { maxHeadBytes: 20 } });
  assert.throws(
    () => longHead.push(latin1Bytes("HTTP/1.1 200 OK\r\nA: 1\r\n")),
    (e) => e instanceof HeadTooLarge && e.limit === "head-bytes",
  );
  assert.equal(DEFAULT_PARSER_LIMITS.maxHeadBytes, 65536);
});

Deno.test("a failed parser keeps failing with the same error", () => {
  const p = new ResponseParser();
  let first: unknown;
  try {
    p.push(latin1Bytes("HTTP/9.9 200 OK\r\n"));
  } catch (e) {
    first = e;
  }
  assert.ok(first instanceof InvalidStatusLine);
  assert.throws(() => p.push(latin1Bytes("more")), (e) => e === first);
  assert.throws(() => p.finish(), (e) => e === first);
});
