/**
 * A DNS server for the virtual LAN that answers from the host's resolver (`Deno.resolveDns`),
 * the way slirp and passt forward DNS. Needs `--allow-net`.
 *
 * @module
 */
import {
  type DnsMessage,
  parseMessage,
  type ResourceRecord,
  serializeMessage,
} from "../dns/message.ts";
import { Rcode, RecordClass, RecordType } from "../dns/types.ts";
import { parseIpv4Address } from "../wire/address.ts";

/** Where `Deno.resolveDns` sends queries (default: the system's resolver). */
export interface DnsUpstream {
  /** Name server address. */
  ipAddr: string;
  /** Name server port (default 53). */
  port?: number;
}

const SUPPORTED: Record<number, Deno.RecordType> = {
  [RecordType.A]: "A",
  [RecordType.AAAA]: "AAAA",
  [RecordType.CNAME]: "CNAME",
  [RecordType.MX]: "MX",
  [RecordType.NS]: "NS",
  [RecordType.PTR]: "PTR",
  [RecordType.SRV]: "SRV",
  [RecordType.TXT]: "TXT",
  [RecordType.SOA]: "SOA",
};

/** TTL given to forwarded answers (Deno.resolveDns does not report TTLs). */
const FORWARDED_TTL = 60;

function parseIpv6(text: string): Uint8Array | undefined {
  const out = new Uint8Array(16);
  const [head, tail] = text.split("::");
  const headParts = head ? head.split(":") : [];
  const tailParts = tail !== undefined && tail !== "" ? tail.split(":") : [];
  if (text.split("::").length > 2) return undefined;
  const fill = 8 - headParts.length - tailParts.length;
  if (tail === undefined && fill !== 0) return undefined;
  const groups = [...headParts, ...Array(Math.max(0, fill)).fill("0"), ...tailParts];
  if (groups.length !== 8) return undefined;
  for (let i = 0; i < 8; i++) {
    const v = parseInt(groups[i], 16);
    if (!/^[0-9a-fA-F]{1,4}$/.test(groups[i]) || Number.isNaN(v)) return undefined;
    out[i * 2] = v >> 8;
    out[i * 2 + 1] = v & 0xff;
  }
  return out;
}

function absolute(name: string): string {
  return name.endsWith(".") ? name : `${name}.`;
}

/**
 * Answers one DNS query message by asking the host's resolver; returns the response message
 * bytes (never throws: failures become SERVFAIL or NXDOMAIN).
 *
 * @example
 * ```ts ignore
 * const response = await answerFromHost(queryBytes);
 * ```
 */
export async function answerFromHost(
  query: Uint8Array,
  upstream?: DnsUpstream,
  limit = 512,
): Promise<Uint8Array | undefined> {
  let message: DnsMessage;
  try {
    message = parseMessage(query);
  } catch {
    return undefined; // not DNS: no answer
  }
  if (message.qr) return undefined;
  const response: DnsMessage = {
    id: message.id,
    qr: true,
    opcode: message.opcode,
    aa: false,
    tc: false,
    rd: message.rd,
    ra: true,
    ad: false,
    cd: false,
    rcode: Rcode.NOERROR,
    questions: message.questions.slice(0, 1),
    answers: [],
    authorities: [],
    additionals: [],
  };
  const question = message.questions[0];
  if (message.opcode !== 0 || !question) {
    response.rcode = Rcode.NOTIMP;
    return serializeMessage(response, limit);
  }
  const type = SUPPORTED[question.type];
  if (!type || question.class !== RecordClass.IN) {
    response.rcode = Rcode.NOTIMP;
    return serializeMessage(response, limit);
  }
  const name = question.name.replace(/\.$/, "");
  try {
    const options = upstream
      ? { nameServer: { ipAddr: upstream.ipAddr, port: upstream.port ?? 53 } }
      : undefined;
    // deno-lint-ignore no-explicit-any
    const records: any[] = await Deno.resolveDns(name, type as any, options);
    response.answers = records.flatMap((r) => toRecord(question.name, question.type, r));
  } catch (error) {
    const e = error as Error;
    response.rcode = e.name === "NotFound" ? Rcode.NXDOMAIN : Rcode.SERVFAIL;
    if (/no records found|NoRecordsFound/i.test(e.message)) response.rcode = Rcode.NOERROR;
  }
  let bytes = serializeMessage(response, 65535);
  if (bytes.length > limit) {
    // Too big for UDP: truncate (RFC 1035 §4.2.1) so the client retries over TCP.
    response.answers = [];
    response.tc = true;
    bytes = serializeMessage(response, limit);
  }
  return bytes;
}

// deno-lint-ignore no-explicit-any
function toRecord(name: string, type: number, r: any): ResourceRecord[] {
  const base = { name, type, class: RecordClass.IN, ttl: FORWARDED_TTL };
  switch (type) {
    case RecordType.A: {
      const address = parseIpv4Address(r);
      return address === undefined ? [] : [{ ...base, data: { kind: "A", address } }];
    }
    case RecordType.AAAA: {
      const address = parseIpv6(r);
      return address ? [{ ...base, data: { kind: "AAAA", address } }] : [];
    }
    case RecordType.CNAME:
      return [{ ...base, data: { kind: "CNAME", target: absolute(r) } }];
    case RecordType.NS:
      return [{ ...base, data: { kind: "NS", target: absolute(r) } }];
    case RecordType.PTR:
      return [{ ...base, data: { kind: "PTR", target: absolute(r) } }];
    case RecordType.MX:
      return [{
        ...base,
        data: { kind: "MX", preference: r.preference, exchange: absolute(r.exchange) },
      }];
    case RecordType.SRV:
      return [{
        ...base,
        data: {
          kind: "SRV",
          priority: r.priority,
          weight: r.weight,
          port: r.port,
          target: absolute(r.target),
        },
      }];
    case RecordType.TXT:
      return [{
        ...base,
        data: { kind: "TXT", strings: (r as string[]).map((t) => new TextEncoder().encode(t)) },
      }];
    case RecordType.SOA:
      return [{
        ...base,
        data: {
          kind: "SOA",
          mname: absolute(r.mname),
          rname: absolute(r.rname),
          serial: r.serial,
          refresh: r.refresh,
          retry: r.retry,
          expire: r.expire,
          minimum: r.minimum,
        },
      }];
    default:
      return [];
  }
}
