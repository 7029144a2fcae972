/**
 * Presentation of records: `dig +short`-style lines (one answer per line, record data only)
 * and full zone-file lines.
 *
 * @module
 */

import { formatIpv4, formatIpv6 } from "./_ipv4.ts";
import type { RecordData, ResourceRecord } from "./message.ts";
import type { DnsAnswer } from "./resolver.ts";
import { typeToString } from "./types.ts";

function quoteTxt(bytes: Uint8Array): string {
  let out = '"';
  for (const b of bytes) {
    if (b === 0x22 || b === 0x5c) out += "\\" + String.fromCharCode(b);
    else if (b < 0x20 || b > 0x7e) out += "\\" + b.toString().padStart(3, "0");
    else out += String.fromCharCode(b);
  }
  return out + '"';
}

/**
 * Record data in presentation format, as `dig +short` prints it (RFC 3597 `\# n hex` for
 * types without a text form).
 *
 * @example
 * ```ts
 * import { formatRecordData } from "./format.ts";
 * console.assert(formatRecordData({ kind: "MX", preference: 10, exchange: "mx.example." }) ===
 *   "10 mx.example.");
 * ```
 */
export function formatRecordData(data: RecordData): string {
  switch (data.kind) {
    case "A":
      return formatIpv4(data.address);
    case "AAAA":
      return formatIpv6(data.address);
    case "NS":
    case "CNAME":
    case "PTR":
      return data.target;
    case "MX":
      return `${data.preference} ${data.exchange}`;
    case "TXT":
      return data.strings.map(quoteTxt).join(" ");
    case "SOA":
      return `${data.mname} ${data.rname} ${data.serial} ${data.refresh} ${data.retry} ${data.expire} ${data.minimum}`;
    case "SRV":
      return `${data.priority} ${data.weight} ${data.port} ${data.target}`;
    case "raw": {
      const hex = [...data.bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
      return data.bytes.length ? `\\# ${data.bytes.length} ${hex}` : "\\# 0";
    }
  }
}

/**
 * A record as one zone-file line: `name TTL IN TYPE data`.
 *
 * @example
 * ```ts
 * import { formatRecord } from "./format.ts";
 * const line = formatRecord({
 *   name: "example.", type: 1, class: 1, ttl: 60, data: { kind: "A", address: 0x7f000001 },
 * });
 * console.assert(line === "example.\t60\tIN\tA\t127.0.0.1");
 * ```
 */
export function formatRecord(rr: ResourceRecord): string {
  const klass = rr.class === 1 ? "IN" : rr.class === 3 ? "CH" : `CLASS${rr.class}`;
  return `${rr.name}\t${rr.ttl}\t${klass}\t${typeToString(rr.type)}\t${formatRecordData(rr.data)}`;
}

/**
 * The lines `dig +short` prints for an answer: the CNAME targets followed, then each record's
 * data, one per line.
 *
 * @example
 * ```ts
 * import { formatShort } from "./format.ts";
 * import type { DnsAnswer } from "./resolver.ts";
 * const answer: DnsAnswer = {
 *   name: "www.example.", type: 1, canonicalName: "web.example.", ttl: 60, source: "network",
 *   chain: [{ name: "www.example.", type: 5, class: 1, ttl: 60,
 *     data: { kind: "CNAME", target: "web.example." } }],
 *   records: [{ name: "web.example.", type: 1, class: 1, ttl: 60,
 *     data: { kind: "A", address: 0x0a000001 } }],
 * };
 * console.assert(formatShort(answer).join("\n") === "web.example.\n10.0.0.1");
 * ```
 */
export function formatShort(answer: DnsAnswer): string[] {
  return [...answer.chain, ...answer.records].map((rr) => formatRecordData(rr.data));
}
