/**
 * DNS for the virtual LAN, answered through the host, the way slirp and passt forward DNS.
 *
 * {@linkcode DnsForwarder} relays each query as it is to the host's name server (the `upstream`
 * given, else the first IPv4 `nameserver` of `/etc/resolv.conf`) over UDP or TCP, as the guest
 * asked, and hands back the server's response untouched: every record type, the real TTLs,
 * NXDOMAIN versus NODATA, truncation. Only when no server address is known (no read permission,
 * or IPv6-only servers) does it fall back to {@linkcode answerFromHost}, which rebuilds answers
 * from `Deno.resolveDns` (fewer types, fixed TTLs, and NXDOMAIN reported as NODATA: Deno's error
 * does not tell them apart). Needs `--allow-net` (and `--allow-read` for resolv.conf).
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

/** A name server the gateway forwards to (default: the host's, from `/etc/resolv.conf`). */
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
  let bytes: Uint8Array;
  try {
    bytes = serializeMessage(response, 65535);
  } catch {
    // An answer that cannot be written (too big, or a writer failure) must not take the
    // gateway down: the client gets SERVFAIL.
    response.answers = [];
    response.rcode = Rcode.SERVFAIL;
    bytes = serializeMessage(response, limit);
  }
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

/** Options of {@linkcode DnsForwarder}. */
export interface DnsForwarderOptions {
  /** The name server to forward to (default: the host's, from `/etc/resolv.conf`). */
  upstream?: DnsUpstream;
  /** How long to wait for the name server, ms (default 5000). */
  timeout?: number;
  /** resolv.conf text to take name servers from instead of reading `/etc/resolv.conf`. */
  resolvConf?: string;
}

/** IPv4 `nameserver` lines of resolv.conf text, in order. */
export function parseResolvConf(text: string): DnsUpstream[] {
  const servers: DnsUpstream[] = [];
  for (const line of text.split("\n")) {
    const m = /^\s*nameserver\s+(\S+)/.exec(line);
    if (m && parseIpv4Address(m[1]) !== undefined) servers.push({ ipAddr: m[1], port: 53 });
  }
  return servers;
}

/**
 * Relays guest DNS queries to the host's name server and returns its responses as they are.
 *
 * @example
 * ```ts ignore
 * import { DnsForwarder } from "./dns_forwarder.ts";
 * const forwarder = new DnsForwarder({ upstream: { ipAddr: "127.0.0.1", port: 5353 } });
 * const response = await forwarder.answer(queryBytes, "udp");
 * ```
 */
export class DnsForwarder {
  readonly #timeout: number;
  #servers: DnsUpstream[] | undefined;
  readonly #options: DnsForwarderOptions;

  /** Creates a forwarder; resolv.conf is read on the first query. */
  constructor(options: DnsForwarderOptions = {}) {
    this.#options = options;
    this.#timeout = options.timeout ?? 5000;
    if (options.upstream) this.#servers = [options.upstream];
    else if (options.resolvConf !== undefined) this.#servers = parseResolvConf(options.resolvConf);
  }

  /** The servers queries go to (empty: answers come from `Deno.resolveDns`). */
  get servers(): readonly DnsUpstream[] {
    if (!this.#servers) {
      let text = "";
      try {
        // Only when already allowed: no permission prompt in the middle of a guest's query.
        const path = "/etc/resolv.conf";
        if (Deno.permissions.querySync({ name: "read", path }).state === "granted") {
          text = Deno.readTextFileSync(path);
        }
      } catch { /* no file: Deno.resolveDns decides */ }
      this.#servers = parseResolvConf(text);
    }
    return this.#servers;
  }

  /**
   * The response to one query message (`transport` is how the guest asked: a UDP answer keeps
   * to the size the guest allows). Undefined for what is not a DNS query; SERVFAIL when no
   * server answered.
   */
  async answer(query: Uint8Array, transport: "udp" | "tcp"): Promise<Uint8Array | undefined> {
    try {
      return await this.#answer(query, transport);
    } catch {
      return undefined; // never a rejection: the guest retries
    }
  }

  async #answer(query: Uint8Array, transport: "udp" | "tcp"): Promise<Uint8Array | undefined> {
    let message: DnsMessage;
    try {
      message = parseMessage(query);
    } catch {
      return undefined; // not DNS: no answer
    }
    if (message.qr) return undefined;
    const servers = this.servers;
    if (!servers.length) return answerFromHost(query, undefined, transport === "udp" ? 512 : 65535);
    for (const server of servers.slice(0, 3)) {
      const response = transport === "udp"
        ? await forwardUdp(query, message.id, server, this.#timeout)
        : await forwardTcp(query, message.id, server, this.#timeout);
      if (response) return response;
    }
    return serializeMessage({
      ...message,
      qr: true,
      ra: true,
      rcode: Rcode.SERVFAIL,
      answers: [],
      authorities: [],
      additionals: [],
    }, 512);
  }
}

/** One query over UDP from a fresh port (RFC 5452: unpredictable source ports). */
async function forwardUdp(
  query: Uint8Array,
  id: number,
  server: DnsUpstream,
  timeout: number,
): Promise<Uint8Array | undefined> {
  const socket = Deno.listenDatagram({ transport: "udp", hostname: "0.0.0.0", port: 0 });
  const timer = setTimeout(() => socket.close(), timeout);
  try {
    const to = { transport: "udp" as const, hostname: server.ipAddr, port: server.port ?? 53 };
    await socket.send(query, to);
    for (;;) {
      const [response, from] = await socket.receive();
      const addr = from as Deno.NetAddr;
      // Only the server's answer to this query (RFC 5452 §9.1).
      if (
        addr.port === to.port && (addr.hostname === to.hostname ||
          addr.hostname === `::ffff:${to.hostname}`) &&
        response.length >= 12 && ((response[0] << 8) | response[1]) === id
      ) return response;
    }
  } catch {
    return undefined; // timed out or the socket failed
  } finally {
    clearTimeout(timer);
    try {
      socket.close();
    } catch { /* closed by the timer */ }
  }
}

/** One query over TCP (RFC 1035 §4.2.2: two-byte length prefix). */
async function forwardTcp(
  query: Uint8Array,
  id: number,
  server: DnsUpstream,
  timeout: number,
): Promise<Uint8Array | undefined> {
  let conn: Deno.TcpConn | undefined;
  const timer = setTimeout(() => conn?.close(), timeout);
  try {
    conn = await Deno.connect({
      hostname: server.ipAddr,
      port: server.port ?? 53,
      signal: AbortSignal.timeout(timeout),
    });
    const framed = new Uint8Array(2 + query.length);
    framed[0] = query.length >> 8;
    framed[1] = query.length & 0xff;
    framed.set(query, 2);
    let written = 0;
    while (written < framed.length) written += await conn.write(framed.subarray(written));
    const buffer = new Uint8Array(2 + 65535);
    let have = 0;
    while (have < 2 || have < 2 + ((buffer[0] << 8) | buffer[1])) {
      const n = await conn.read(buffer.subarray(have));
      if (n === null) return undefined;
      have += n;
    }
    const response = buffer.slice(2, 2 + ((buffer[0] << 8) | buffer[1]));
    return response.length >= 12 && ((response[0] << 8) | response[1]) === id
      ? response
      : undefined;
  } catch {
    return undefined;
  } finally {
    clearTimeout(timer);
    try {
      conn?.close();
    } catch { /* closed by the timer */ }
  }
}
