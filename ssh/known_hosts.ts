/**
 * OpenSSH known_hosts files (sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT"): plain and hashed host
 * patterns, wildcards and negation, `[host]:port`, and the `@revoked` / `@cert-authority`
 * markers.
 *
 * @module
 */

import { hmac } from "@noble/hashes/hmac.js";
import { sha1 } from "@noble/hashes/legacy.js";
import { constantTimeEqual, SshReader, utf8 } from "./_wire.ts";
import { fingerprint, formatPublicKey, fromBase64, toBase64 } from "./host_key.ts";

/** One parsed line of a known_hosts file. */
export interface KnownHostsEntry {
  /** Line marker, if any. */
  marker?: "@revoked" | "@cert-authority";
  /** Plain patterns (comma-separated in the file), empty for hashed entries. */
  patterns: string[];
  /** For `|1|salt|hash` entries. */
  hashed?: { salt: Uint8Array; hash: Uint8Array };
  /** Key type field, e.g. `ssh-ed25519`. */
  keyType: string;
  /** The key blob. */
  key: Uint8Array;
  /** Anything after the key. */
  comment: string;
  /** 1-based line number in the source text. */
  line: number;
}

/** The outcome of looking a host key up. */
export type KnownHostsResult =
  /** The key is listed for this host. */
  | { status: "match"; entry: KnownHostsEntry }
  /** The host has keys of the same type listed, but not this one. */
  | { status: "mismatch"; expected: KnownHostsEntry[] }
  /** The key is marked @revoked. */
  | { status: "revoked"; entry: KnownHostsEntry }
  /** Nothing is listed for this host and key type (`otherTypes`: types that are listed). */
  | { status: "unknown"; otherTypes: string[] };

/** The name known_hosts uses for a host: `host`, or `[host]:port` when the port is not 22. */
export function hostKeyName(host: string, port = 22): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

/** Shell-style pattern match with `*` and `?` (case-insensitive, as OpenSSH). */
function wildcardMatch(pattern: string, text: string): boolean {
  const p = pattern.toLowerCase();
  const t = text.toLowerCase();
  // Iterative glob match with backtracking on the last `*`.
  let pi = 0, ti = 0, star = -1, mark = 0;
  while (ti < t.length) {
    if (pi < p.length && (p[pi] === "?" || p[pi] === t[ti])) {
      pi++;
      ti++;
    } else if (pi < p.length && p[pi] === "*") {
      star = pi++;
      mark = ti;
    } else if (star >= 0) {
      pi = star + 1;
      ti = ++mark;
    } else return false;
  }
  while (pi < p.length && p[pi] === "*") pi++;
  return pi === p.length;
}

/** Hashes a host name the way `ssh-keygen -H` does: HMAC-SHA1 keyed by the salt. */
export function hashHostName(name: string, salt: Uint8Array): Uint8Array {
  return hmac(sha1, salt, utf8(name));
}

/**
 * A parsed known_hosts file.
 *
 * @example
 * ```ts ignore
 * import { KnownHosts } from "./known_hosts.ts";
 * const kh = await KnownHosts.load(`${Deno.env.get("HOME")}/.ssh/known_hosts`);
 * const result = kh.lookup("example.com", 22, hostKeyBlob);
 * ```
 */
export class KnownHosts {
  /** Parsed lines, in file order. */
  readonly entries: KnownHostsEntry[] = [];
  /** Lines that could not be parsed (ignored, as OpenSSH does). */
  readonly invalidLines: number[] = [];

  /** Parses `text`; `path` is where `add()` appends new lines. */
  constructor(text = "", readonly path?: string) {
    const lines = text.split(/\r?\n/);
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i].trim();
      if (line === "" || line.startsWith("#")) continue;
      const entry = parseLine(line, i + 1);
      if (entry) this.entries.push(entry);
      else this.invalidLines.push(i + 1);
    }
  }

  /** Parses known_hosts text. */
  static parse(text: string): KnownHosts {
    return new KnownHosts(text);
  }

  /** Reads a known_hosts file; a missing file is an empty list (new keys can be added). */
  static async load(path: string): Promise<KnownHosts> {
    let text = "";
    try {
      text = await Deno.readTextFile(path);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
    return new KnownHosts(text, path);
  }

  /** Whether an entry's host part names `name` (negated patterns exclude the entry). */
  static entryMatches(entry: KnownHostsEntry, name: string): boolean {
    if (entry.hashed) {
      return constantTimeEqual(hashHostName(name, entry.hashed.salt), entry.hashed.hash);
    }
    let matched = false;
    for (const pattern of entry.patterns) {
      if (pattern.startsWith("!")) {
        if (wildcardMatch(pattern.slice(1), name)) return false;
      } else if (wildcardMatch(pattern, name)) matched = true;
    }
    return matched;
  }

  /** Key types listed (unrevoked, plain keys) for a host, in file order. */
  keyTypesFor(host: string, port = 22): string[] {
    const name = hostKeyName(host, port);
    const types: string[] = [];
    for (const e of this.entries) {
      if (e.marker || !KnownHosts.entryMatches(e, name)) continue;
      if (!types.includes(e.keyType)) types.push(e.keyType);
    }
    return types;
  }

  /**
   * Looks up a host key. `@cert-authority` lines are not used for plain host keys (this
   * client does not accept host certificates), so a key listed only that way is unknown.
   */
  lookup(host: string, port: number, key: Uint8Array): KnownHostsResult {
    const name = hostKeyName(host, port);
    const keyType = new SshReader(key).text();
    for (const e of this.entries) {
      if (e.marker === "@revoked" && constantTimeEqual(e.key, key)) {
        // A revoked key is refused for every host the line's patterns name (usually `*`).
        if (KnownHosts.entryMatches(e, name)) return { status: "revoked", entry: e };
      }
    }
    const sameType: KnownHostsEntry[] = [];
    const otherTypes: string[] = [];
    for (const e of this.entries) {
      if (e.marker || !KnownHosts.entryMatches(e, name)) continue;
      if (constantTimeEqual(e.key, key)) return { status: "match", entry: e };
      if (e.keyType === keyType) sameType.push(e);
      else if (!otherTypes.includes(e.keyType)) otherTypes.push(e.keyType);
    }
    if (sameType.length) return { status: "mismatch", expected: sameType };
    return { status: "unknown", otherTypes };
  }

  /**
   * Adds a key for a host (hashed like `HashKnownHosts yes` when `hash` is set) and appends
   * it to the file this list was loaded from, if any. Returns the line.
   */
  async add(host: string, port: number, key: Uint8Array, hash = false): Promise<string> {
    const name = hostKeyName(host, port);
    let hostPart = name;
    if (hash) {
      const salt = crypto.getRandomValues(new Uint8Array(20));
      hostPart = `|1|${toBase64(salt)}|${toBase64(hashHostName(name, salt))}`;
    }
    const line = `${hostPart} ${formatPublicKey(key)}`;
    const entry = parseLine(line, this.entries.length + 1);
    if (entry) this.entries.push(entry);
    if (this.path) await Deno.writeTextFile(this.path, line + "\n", { append: true });
    return line;
  }

  /** Fingerprints of entries (for error messages). */
  static fingerprints(entries: KnownHostsEntry[]): string[] {
    return entries.map((e) => `${e.keyType} ${fingerprint(e.key)} (line ${e.line})`);
  }
}

function parseLine(line: string, lineNo: number): KnownHostsEntry | undefined {
  const fields = line.split(/\s+/);
  let marker: KnownHostsEntry["marker"];
  if (fields[0].startsWith("@")) {
    if (fields[0] !== "@revoked" && fields[0] !== "@cert-authority") return undefined;
    marker = fields.shift() as KnownHostsEntry["marker"];
  }
  if (fields.length < 3) return undefined;
  const [hostField, keyType, keyB64, ...rest] = fields;
  let key: Uint8Array;
  try {
    key = fromBase64(keyB64);
    if (new SshReader(key).text() !== keyType) return undefined;
  } catch {
    return undefined;
  }
  const entry: KnownHostsEntry = {
    marker,
    patterns: [],
    keyType,
    key,
    comment: rest.join(" "),
    line: lineNo,
  };
  if (hostField.startsWith("|1|")) {
    const parts = hostField.split("|");
    if (parts.length !== 4) return undefined;
    try {
      entry.hashed = { salt: fromBase64(parts[2]), hash: fromBase64(parts[3]) };
    } catch {
      return undefined;
    }
    if (entry.hashed.hash.length !== 20) return undefined;
  } else {
    entry.patterns = hostField.split(",").filter((p) => p.length > 0);
  }
  return entry;
}
