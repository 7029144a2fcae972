/**
 * DNS constants: record types, classes, opcodes and response codes (RFC 1035 §3.2, RFC 3596,
 * RFC 2782, RFC 6891), with their mnemonics.
 *
 * @module
 */

/**
 * Record type numbers by mnemonic.
 *
 * @example
 * ```ts
 * import { RecordType } from "./types.ts";
 * console.assert(RecordType.AAAA === 28);
 * ```
 */
export const RecordType = {
  A: 1,
  NS: 2,
  CNAME: 5,
  SOA: 6,
  PTR: 12,
  HINFO: 13,
  MX: 15,
  TXT: 16,
  AAAA: 28,
  SRV: 33,
  NAPTR: 35,
  OPT: 41,
  DS: 43,
  RRSIG: 46,
  NSEC: 47,
  DNSKEY: 48,
  HTTPS: 65,
  CAA: 257,
  ANY: 255,
} as const;

/**
 * Class numbers (only IN is used on the Internet; CH carries server identity queries).
 *
 * @example
 * ```ts
 * import { RecordClass } from "./types.ts";
 * console.assert(RecordClass.IN === 1);
 * ```
 */
export const RecordClass = { IN: 1, CH: 3, HS: 4, ANY: 255 } as const;

/**
 * Response codes (RFC 1035 §4.1.1).
 *
 * @example
 * ```ts
 * import { Rcode } from "./types.ts";
 * console.assert(Rcode.NXDOMAIN === 3);
 * ```
 */
export const Rcode = {
  NOERROR: 0,
  FORMERR: 1,
  SERVFAIL: 2,
  NXDOMAIN: 3,
  NOTIMP: 4,
  REFUSED: 5,
} as const;

/**
 * Opcodes (RFC 1035 §4.1.1; 4 and 5 from RFC 1996 and RFC 2136).
 *
 * @example
 * ```ts
 * import { Opcode } from "./types.ts";
 * console.assert(Opcode.QUERY === 0);
 * ```
 */
export const Opcode = { QUERY: 0, IQUERY: 1, STATUS: 2, NOTIFY: 4, UPDATE: 5 } as const;

const typeNames = new Map<number, string>(
  Object.entries(RecordType).map(([k, v]) => [v, k] as [number, string]),
);

/**
 * Mnemonic of a record type, or "TYPEnnn" (RFC 3597 §5) for one without a name.
 *
 * @example
 * ```ts
 * import { typeToString } from "./types.ts";
 * console.assert(typeToString(15) === "MX" && typeToString(999) === "TYPE999");
 * ```
 */
export function typeToString(type: number): string {
  return typeNames.get(type) ?? `TYPE${type}`;
}

/**
 * Record type number of a mnemonic or "TYPEnnn" (case-insensitive); `undefined` if unknown.
 *
 * @example
 * ```ts
 * import { typeFromString } from "./types.ts";
 * console.assert(typeFromString("aaaa") === 28 && typeFromString("TYPE65") === 65);
 * ```
 */
export function typeFromString(text: string): number | undefined {
  const upper = text.toUpperCase();
  if (upper in RecordType) return RecordType[upper as keyof typeof RecordType];
  const m = /^TYPE([0-9]{1,5})$/.exec(upper);
  if (m && Number(m[1]) <= 0xffff) return Number(m[1]);
  return undefined;
}

/**
 * Mnemonic of a response code, or "RCODEnn".
 *
 * @example
 * ```ts
 * import { rcodeToString } from "./types.ts";
 * console.assert(rcodeToString(2) === "SERVFAIL");
 * ```
 */
export function rcodeToString(rcode: number): string {
  for (const [k, v] of Object.entries(Rcode)) if (v === rcode) return k;
  return `RCODE${rcode}`;
}
