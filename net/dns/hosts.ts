/**
 * A static hosts table consulted before the network: `localhost` (always loopback, RFC 6761
 * §6.3) and user entries, with reverse (PTR) answers for their addresses.
 *
 * @module
 */

import { formatIpv4, parseIpv4, parseIpv6 } from "./_ipv4.ts";
import { DnsFormatError } from "./errors.ts";
import type { ResourceRecord } from "./message.ts";
import { canonicalName } from "./name.ts";
import { RecordClass, RecordType } from "./types.ts";

/**
 * What a hosts lookup found: records, "nodata" (the name is ours but has no such record and
 * must not go to the network), or `undefined` (ask DNS).
 *
 * @example
 * ```ts
 * import { HostsTable } from "./hosts.ts";
 * const hit = new HostsTable().lookup("localhost", 1);
 * console.assert(Array.isArray(hit) && hit.length === 1);
 * ```
 */
export type HostsResult = ResourceRecord[] | "nodata" | undefined;

function reverseName(address: number | Uint8Array): string {
  if (typeof address === "number") {
    return formatIpv4(address).split(".").reverse().join(".") + ".in-addr.arpa.";
  }
  const nibbles: string[] = [];
  for (const b of address) nibbles.push((b >> 4).toString(16), (b & 15).toString(16));
  return nibbles.reverse().join(".") + ".ip6.arpa.";
}

/**
 * Static name -> address table (the `/etc/hosts` idea), bounded in size.
 *
 * @example
 * ```ts
 * import { HostsTable } from "./hosts.ts";
 * const hosts = new HostsTable();
 * hosts.add("gateway.lan", "10.0.2.2");
 * console.assert((hosts.lookup("GATEWAY.lan.", 1) as unknown[]).length === 1);
 * console.assert((hosts.lookup("2.2.0.10.in-addr.arpa", 12) as unknown[]).length === 1);
 * ```
 */
export class HostsTable {
  readonly #a = new Map<string, number[]>();
  readonly #aaaa = new Map<string, Uint8Array[]>();
  readonly #ptr = new Map<string, string>();
  readonly #maxEntries: number;
  readonly #localhost: boolean;
  #entries = 0;

  /** `localhost: false` leaves out the built-in localhost answers. */
  constructor(options: { localhost?: boolean; maxEntries?: number } = {}) {
    this.#maxEntries = options.maxEntries ?? 4096;
    this.#localhost = options.localhost ?? true;
    if (this.#localhost) {
      this.add("localhost", "127.0.0.1");
      this.add("localhost", "::1");
    }
  }

  /**
   * Parses `/etc/hosts` text ("ADDRESS NAME [ALIAS...]", "#" comments) into this table.
   * Lines with an unparsable address are skipped; returns how many names were added.
   */
  addHostsFile(text: string): number {
    let added = 0;
    for (const raw of text.split("\n")) {
      const [address, ...names] = raw.replace(/#.*/, "").trim().split(/\s+/);
      if (!address || names.length === 0) continue;
      for (const name of names) {
        try {
          this.add(name, address);
          added++;
        } catch { /* skip a bad line, as the C library does */ }
      }
    }
    return added;
  }

  /** Adds `name` -> `address` ("a.b.c.d", IPv6 text, a 32-bit number or 16 bytes). */
  add(name: string, address: string | number | Uint8Array): void {
    if (this.#entries >= this.#maxEntries) {
      throw new DnsFormatError(`hosts table is full (${this.#maxEntries} entries)`);
    }
    const key = canonicalName(name);
    const value = typeof address !== "string"
      ? address
      : address.includes(":")
      ? parseIpv6(address)
      : parseIpv4(address);
    if (typeof value === "number") {
      const list = this.#a.get(key) ?? [];
      if (!list.includes(value >>> 0)) list.push(value >>> 0);
      this.#a.set(key, list);
    } else {
      if (value.length !== 16) throw new DnsFormatError("an IPv6 address needs 16 bytes");
      const list = this.#aaaa.get(key) ?? [];
      list.push(value.slice());
      this.#aaaa.set(key, list);
    }
    const reverse = reverseName(value);
    if (!this.#ptr.has(reverse)) this.#ptr.set(reverse, key);
    this.#entries++;
  }

  /** Answers `name`/`type` from the table (TTL 0, so they are never cached). */
  lookup(name: string, type: number): HostsResult {
    const key = canonicalName(name);
    const record = (data: ResourceRecord["data"], t: number): ResourceRecord => ({
      name: key,
      type: t,
      class: RecordClass.IN,
      ttl: 0,
      data,
    });
    const isLocalhost = this.#localhost &&
      (key === "localhost." || key.endsWith(".localhost."));
    const v4 = this.#a.get(key) ?? (isLocalhost ? this.#a.get("localhost.") : undefined);
    const v6 = this.#aaaa.get(key) ?? (isLocalhost ? this.#aaaa.get("localhost.") : undefined);
    if (type === RecordType.A && v4) {
      return v4.map((address) => record({ kind: "A", address }, RecordType.A));
    }
    if (type === RecordType.AAAA && v6) {
      return v6.map((address) => record({ kind: "AAAA", address }, RecordType.AAAA));
    }
    if (type === RecordType.PTR && this.#ptr.has(key)) {
      return [record({ kind: "PTR", target: this.#ptr.get(key)! }, RecordType.PTR)];
    }
    // RFC 6761 §6.3: localhost names never leave the machine.
    if (isLocalhost) return "nodata";
    return undefined;
  }
}
