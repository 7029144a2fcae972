/**
 * DNS messages: header, questions and resource records (RFC 1035 §4), parsed and serialized
 * with strict length checks and name compression both ways.
 *
 * Record data of A, AAAA, NS, CNAME, PTR, MX, TXT, SOA and SRV is decoded into fields; every
 * other type (and A/AAAA outside class IN) is kept as raw bytes (RFC 3597).
 *
 * @module
 */

import { DnsFormatError } from "./errors.ts";
import { MessageWriter, readName } from "./name.ts";
import { RecordClass, RecordType, typeToString } from "./types.ts";

/**
 * A question: the name, type and class asked for.
 *
 * @example
 * ```ts
 * import type { Question } from "./message.ts";
 * const q: Question = { name: "example.", type: 1, class: 1 };
 * ```
 */
export interface Question {
  /** Absolute name ("example."). */
  name: string;
  /** Record type number (see `RecordType`). */
  type: number;
  /** Class number (1 = IN). */
  class: number;
}

/**
 * Decoded record data, tagged by `kind`; "raw" keeps the bytes of any other type.
 *
 * @example
 * ```ts
 * import type { RecordData } from "./message.ts";
 * const mx: RecordData = { kind: "MX", preference: 10, exchange: "mail.example." };
 * ```
 */
export type RecordData =
  | { kind: "A"; address: number }
  | { kind: "AAAA"; address: Uint8Array }
  | { kind: "NS"; target: string }
  | { kind: "CNAME"; target: string }
  | { kind: "PTR"; target: string }
  | { kind: "MX"; preference: number; exchange: string }
  | { kind: "TXT"; strings: Uint8Array[] }
  | {
    kind: "SOA";
    mname: string;
    rname: string;
    serial: number;
    refresh: number;
    retry: number;
    expire: number;
    minimum: number;
  }
  | { kind: "SRV"; priority: number; weight: number; port: number; target: string }
  | { kind: "raw"; bytes: Uint8Array };

/**
 * A resource record.
 *
 * @example
 * ```ts
 * import type { ResourceRecord } from "./message.ts";
 * const rr: ResourceRecord = {
 *   name: "example.", type: 1, class: 1, ttl: 300, data: { kind: "A", address: 0x7f000001 },
 * };
 * ```
 */
export interface ResourceRecord {
  /** Owner name. */
  name: string;
  /** Record type number; must agree with `data.kind` unless that is "raw". */
  type: number;
  /** Class number (for OPT: the UDP payload size). */
  class: number;
  /** Time to live in seconds (for OPT: extended RCODE and flags). */
  ttl: number;
  /** Record data. */
  data: RecordData;
}

/**
 * A whole DNS message: header fields and the four sections.
 *
 * @example
 * ```ts
 * import { createQuery } from "./message.ts";
 * const q = createQuery(0x1234, "example.", 1);
 * console.assert(q.rd && q.questions.length === 1);
 * ```
 */
export interface DnsMessage {
  /** Transaction id. */
  id: number;
  /** True in responses. */
  qr: boolean;
  /** Kind of query (0 = QUERY). */
  opcode: number;
  /** Authoritative answer. */
  aa: boolean;
  /** Truncated: the answer did not fit (retry over TCP, RFC 7766). */
  tc: boolean;
  /** Recursion desired. */
  rd: boolean;
  /** Recursion available. */
  ra: boolean;
  /** Authentic data (RFC 4035). */
  ad: boolean;
  /** Checking disabled (RFC 4035). */
  cd: boolean;
  /** Response code (low 4 bits). */
  rcode: number;
  /** Question section. */
  questions: Question[];
  /** Answer section. */
  answers: ResourceRecord[];
  /** Authority section. */
  authorities: ResourceRecord[];
  /** Additional section. */
  additionals: ResourceRecord[];
}

/** Size of the fixed header. */
export const HEADER_SIZE = 12;

/**
 * Builds a recursive query for one name and type (class IN unless given).
 *
 * @example
 * ```ts
 * import { createQuery, serializeMessage } from "./message.ts";
 * const bytes = serializeMessage(createQuery(7, "example.", 28));
 * console.assert(bytes.length === 12 + 9 + 4);
 * ```
 */
export function createQuery(
  id: number,
  name: string,
  type: number,
  klass: number = RecordClass.IN,
): DnsMessage {
  return {
    id,
    qr: false,
    opcode: 0,
    aa: false,
    tc: false,
    rd: true,
    ra: false,
    ad: false,
    cd: false,
    rcode: 0,
    questions: [{ name, type, class: klass }],
    answers: [],
    authorities: [],
    additionals: [],
  };
}

class Reader {
  constructor(readonly bytes: Uint8Array, public offset = 0) {}
  need(n: number, what: string): void {
    if (this.offset + n > this.bytes.length) {
      throw new DnsFormatError(`message truncated in ${what}`, this.offset);
    }
  }
  u8(what: string): number {
    this.need(1, what);
    return this.bytes[this.offset++];
  }
  u16(what: string): number {
    this.need(2, what);
    const v = (this.bytes[this.offset] << 8) | this.bytes[this.offset + 1];
    this.offset += 2;
    return v;
  }
  u32(what: string): number {
    this.need(4, what);
    const b = this.bytes, o = this.offset;
    this.offset += 4;
    return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
  }
  name(): string {
    const { name, next } = readName(this.bytes, this.offset);
    this.offset = next;
    return name;
  }
}

/**
 * The header fields and section counts of a message, without parsing the sections.
 *
 * @example
 * ```ts
 * import { parseHeader } from "./message.ts";
 * const h = parseHeader(Uint8Array.of(0, 7, 0x83, 0x80, 0, 1, 0, 0, 0, 0, 0, 0));
 * console.assert(h.id === 7 && h.tc && h.counts[0] === 1);
 * ```
 */
export function parseHeader(
  bytes: Uint8Array,
): Omit<DnsMessage, "questions" | "answers" | "authorities" | "additionals"> & {
  counts: [number, number, number, number];
} {
  if (bytes.length < HEADER_SIZE) {
    throw new DnsFormatError(`message of ${bytes.length} bytes is shorter than its header`);
  }
  const flags = (bytes[2] << 8) | bytes[3];
  const u16 = (o: number) => (bytes[o] << 8) | bytes[o + 1];
  return {
    id: u16(0),
    qr: (flags & 0x8000) !== 0,
    opcode: (flags >> 11) & 15,
    aa: (flags & 0x0400) !== 0,
    tc: (flags & 0x0200) !== 0,
    rd: (flags & 0x0100) !== 0,
    ra: (flags & 0x0080) !== 0,
    ad: (flags & 0x0020) !== 0,
    cd: (flags & 0x0010) !== 0,
    rcode: flags & 15,
    counts: [u16(4), u16(6), u16(8), u16(10)],
  };
}

function parseRecordData(r: Reader, type: number, klass: number, end: number): RecordData {
  const start = r.offset;
  // A reader that ends with the record: names inside may point to any earlier byte of the
  // message, and nothing may run past the record's own data.
  const d = new Reader(r.bytes.subarray(0, end), start);
  const what = `${typeToString(type)} record data`;
  const exact = (n: number) => {
    if (end - start !== n) throw new DnsFormatError(`${what} must be ${n} bytes`, start);
  };
  let data: RecordData;
  const typed = klass === RecordClass.IN || (type !== RecordType.A && type !== RecordType.AAAA);
  switch (typed ? type : -1) {
    case RecordType.A:
      exact(4);
      data = { kind: "A", address: d.u32(what) };
      break;
    case RecordType.AAAA:
      exact(16);
      data = { kind: "AAAA", address: r.bytes.slice(start, end) };
      d.offset = end;
      break;
    case RecordType.NS:
      data = { kind: "NS", target: d.name() };
      break;
    case RecordType.CNAME:
      data = { kind: "CNAME", target: d.name() };
      break;
    case RecordType.PTR:
      data = { kind: "PTR", target: d.name() };
      break;
    case RecordType.MX:
      data = { kind: "MX", preference: d.u16(what), exchange: d.name() };
      break;
    case RecordType.TXT: {
      if (end === start) throw new DnsFormatError(`${what} has no strings`, start);
      const strings: Uint8Array[] = [];
      while (d.offset < end) {
        const n = d.u8(what);
        d.need(n, what);
        strings.push(r.bytes.slice(d.offset, d.offset + n));
        d.offset += n;
      }
      data = { kind: "TXT", strings };
      break;
    }
    case RecordType.SOA:
      data = {
        kind: "SOA",
        mname: d.name(),
        rname: d.name(),
        serial: d.u32(what),
        refresh: d.u32(what),
        retry: d.u32(what),
        expire: d.u32(what),
        minimum: d.u32(what),
      };
      break;
    case RecordType.SRV:
      data = {
        kind: "SRV",
        priority: d.u16(what),
        weight: d.u16(what),
        port: d.u16(what),
        target: d.name(),
      };
      break;
    default:
      data = { kind: "raw", bytes: r.bytes.slice(start, end) };
      d.offset = end;
  }
  if (d.offset !== end) {
    throw new DnsFormatError(`${what} has ${end - d.offset} stray bytes`, d.offset);
  }
  return data;
}

function parseRecord(r: Reader): ResourceRecord {
  const name = r.name();
  const type = r.u16("record type");
  const klass = r.u16("record class");
  const ttl = r.u32("record TTL");
  const length = r.u16("record data length");
  r.need(length, "record data");
  const end = r.offset + length;
  const data = parseRecordData(r, type, klass, end);
  r.offset = end;
  return { name, type, class: klass, ttl, data };
}

/**
 * Parses a whole message. Throws {@link DnsFormatError} (or `DnsCompressionLoop`) when it is
 * truncated, has trailing bytes, a record whose data does not match its length, or a bad name.
 *
 * With `{ questionsOnly: true }` only the header and the question section are read, which is
 * all a resolver needs from a truncated (TC) UDP answer whose later sections may be cut.
 *
 * @example
 * ```ts
 * import { createQuery, parseMessage, serializeMessage } from "./message.ts";
 * const m = parseMessage(serializeMessage(createQuery(1, "example.", 1)));
 * console.assert(m.questions[0].name === "example.");
 * ```
 */
export function parseMessage(
  bytes: Uint8Array,
  options: { questionsOnly?: boolean } = {},
): DnsMessage {
  const { counts, ...header } = parseHeader(bytes);
  const r = new Reader(bytes, HEADER_SIZE);
  const questions: Question[] = [];
  for (let i = 0; i < counts[0]; i++) {
    const name = r.name();
    questions.push({ name, type: r.u16("question type"), class: r.u16("question class") });
  }
  const message: DnsMessage = {
    ...header,
    questions,
    answers: [],
    authorities: [],
    additionals: [],
  };
  if (options.questionsOnly) return message;
  // Each record needs at least 11 bytes: reject absurd counts before looping over them.
  const records = counts[1] + counts[2] + counts[3];
  if (records * 11 > bytes.length - r.offset) {
    throw new DnsFormatError(`header claims ${records} records, more than the message can hold`);
  }
  for (let i = 0; i < counts[1]; i++) message.answers.push(parseRecord(r));
  for (let i = 0; i < counts[2]; i++) message.authorities.push(parseRecord(r));
  for (let i = 0; i < counts[3]; i++) message.additionals.push(parseRecord(r));
  if (r.offset !== bytes.length) {
    throw new DnsFormatError(
      `${bytes.length - r.offset} trailing bytes after the message`,
      r.offset,
    );
  }
  return message;
}

const kindToType: Record<Exclude<RecordData["kind"], "raw">, number> = {
  A: RecordType.A,
  AAAA: RecordType.AAAA,
  NS: RecordType.NS,
  CNAME: RecordType.CNAME,
  PTR: RecordType.PTR,
  MX: RecordType.MX,
  TXT: RecordType.TXT,
  SOA: RecordType.SOA,
  SRV: RecordType.SRV,
};

function writeRecord(w: MessageWriter, rr: ResourceRecord): void {
  const d = rr.data;
  if (d.kind !== "raw" && kindToType[d.kind] !== rr.type) {
    throw new DnsFormatError(`record of type ${typeToString(rr.type)} carries ${d.kind} data`);
  }
  w.name(rr.name);
  w.u16(rr.type);
  w.u16(rr.class);
  w.u32(rr.ttl >>> 0);
  const lengthAt = w.length;
  w.u16(0);
  const start = w.length;
  switch (d.kind) {
    case "A":
      w.u32(d.address >>> 0);
      break;
    case "AAAA":
      if (d.address.length !== 16) throw new DnsFormatError("AAAA address must be 16 bytes");
      w.bytes(d.address);
      break;
    case "NS":
    case "CNAME":
    case "PTR":
      w.name(d.target);
      break;
    case "MX":
      w.u16(d.preference);
      w.name(d.exchange);
      break;
    case "TXT":
      if (d.strings.length === 0) throw new DnsFormatError("TXT record needs a string");
      for (const s of d.strings) {
        if (s.length > 255) throw new DnsFormatError("TXT string longer than 255 bytes");
        w.u8(s.length);
        w.bytes(s);
      }
      break;
    case "SOA":
      w.name(d.mname);
      w.name(d.rname);
      for (const v of [d.serial, d.refresh, d.retry, d.expire, d.minimum]) w.u32(v >>> 0);
      break;
    case "SRV":
      w.u16(d.priority);
      w.u16(d.weight);
      w.u16(d.port);
      w.name(d.target, false); // RFC 2782: the target is not compressed.
      break;
    case "raw":
      w.bytes(d.bytes);
  }
  const length = w.length - start;
  if (length > 0xffff) throw new DnsFormatError("record data longer than 65535 bytes");
  w.patchU16(lengthAt, length);
}

/**
 * Serializes a message, compressing names (RFC 1035 §4.1.4). `limit` bounds the size
 * (default 65535); exceeding it throws {@link DnsFormatError}.
 *
 * @example
 * ```ts
 * import { createQuery, serializeMessage } from "./message.ts";
 * const bytes = serializeMessage(createQuery(0xbeef, "example.", 1));
 * console.assert(bytes[0] === 0xbe && bytes[1] === 0xef);
 * ```
 */
export function serializeMessage(message: DnsMessage, limit = 65535): Uint8Array {
  const w = new MessageWriter(limit);
  w.u16(message.id);
  w.u16(
    (message.qr ? 0x8000 : 0) | ((message.opcode & 15) << 11) | (message.aa ? 0x0400 : 0) |
      (message.tc ? 0x0200 : 0) | (message.rd ? 0x0100 : 0) | (message.ra ? 0x0080 : 0) |
      (message.ad ? 0x0020 : 0) | (message.cd ? 0x0010 : 0) | (message.rcode & 15),
  );
  const sections = [message.answers, message.authorities, message.additionals];
  for (const n of [message.questions.length, ...sections.map((s) => s.length)]) {
    if (n > 0xffff) throw new DnsFormatError("section has more than 65535 entries");
    w.u16(n);
  }
  for (const q of message.questions) {
    w.name(q.name);
    w.u16(q.type);
    w.u16(q.class);
  }
  for (const section of sections) for (const rr of section) writeRecord(w, rr);
  return w.finish();
}
