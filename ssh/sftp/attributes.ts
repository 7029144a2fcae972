/**
 * SFTP file attributes (draft-ietf-secsh-filexfer-02 §5): encoding, decoding, and a
 * `FileStat` with the usual type tests.
 *
 * @module
 */

import type { SshReader, SshWriter } from "../_wire.ts";
import { ATTR } from "./_protocol.ts";
import { BadMessage } from "./errors.ts";

/** Attributes to set, or as the server reported them; absent fields are unknown/unchanged. */
export interface FileAttributes {
  /** Size in bytes. */
  size?: number;
  /** Owner's numeric id (set together with `gid`). */
  uid?: number;
  /** Group's numeric id (set together with `uid`). */
  gid?: number;
  /** POSIX mode: file type bits and permissions (e.g. `0o100644`). */
  mode?: number;
  /** Access time, seconds since the epoch (set together with `mtime`). */
  atime?: number;
  /** Modification time, seconds since the epoch (set together with `atime`). */
  mtime?: number;
  /** Vendor attributes by name. */
  extended?: Record<string, Uint8Array>;
}

const S_IFMT = 0o170000;

/**
 * Attributes of a remote file, with type tests.
 *
 * @example
 * ```ts
 * import { FileStat } from "./attributes.ts";
 * const st = new FileStat({ size: 3, mode: 0o100644 });
 * console.log(st.isFile, st.permissions.toString(8)); // true "644"
 * ```
 */
export class FileStat implements FileAttributes {
  declare size?: number;
  declare uid?: number;
  declare gid?: number;
  declare mode?: number;
  declare atime?: number;
  declare mtime?: number;
  declare extended?: Record<string, Uint8Array>;

  /** Copies the given attributes. */
  constructor(attrs: FileAttributes) {
    Object.assign(this, attrs);
  }

  /** A regular file. */
  get isFile(): boolean {
    return this.mode !== undefined && (this.mode & S_IFMT) === 0o100000;
  }
  /** A directory. */
  get isDirectory(): boolean {
    return this.mode !== undefined && (this.mode & S_IFMT) === 0o040000;
  }
  /** A symbolic link (only `lstat` and directory listings report links). */
  get isSymlink(): boolean {
    return this.mode !== undefined && (this.mode & S_IFMT) === 0o120000;
  }
  /** Permission bits (`mode & 0o7777`), 0 when unknown. */
  get permissions(): number {
    return (this.mode ?? 0) & 0o7777;
  }
}

/**
 * Appends the wire form of `attrs` (§5) to `w`.
 *
 * @example
 * ```ts
 * import { SshWriter } from "../_wire.ts";
 * import { encodeAttributes } from "./attributes.ts";
 * const bytes = encodeAttributes(new SshWriter(), { mode: 0o644 }).bytes();
 * ```
 */
export function encodeAttributes(w: SshWriter, attrs: FileAttributes): SshWriter {
  let flags = 0;
  if (attrs.size !== undefined) flags |= ATTR.SIZE;
  if (attrs.uid !== undefined || attrs.gid !== undefined) {
    if (attrs.uid === undefined || attrs.gid === undefined) {
      throw new RangeError("uid and gid are set together");
    }
    flags |= ATTR.UIDGID;
  }
  if (attrs.mode !== undefined) flags |= ATTR.PERMISSIONS;
  if (attrs.atime !== undefined || attrs.mtime !== undefined) {
    if (attrs.atime === undefined || attrs.mtime === undefined) {
      throw new RangeError("atime and mtime are set together");
    }
    flags |= ATTR.ACMODTIME;
  }
  const ext = Object.entries(attrs.extended ?? {});
  if (ext.length) flags |= ATTR.EXTENDED;
  w.uint32(flags);
  if (attrs.size !== undefined) w.uint64(attrs.size);
  if (flags & ATTR.UIDGID) w.uint32(attrs.uid!).uint32(attrs.gid!);
  if (attrs.mode !== undefined) w.uint32(attrs.mode);
  if (flags & ATTR.ACMODTIME) w.uint32(Math.floor(attrs.atime!)).uint32(Math.floor(attrs.mtime!));
  if (ext.length) {
    w.uint32(ext.length);
    for (const [k, v] of ext) w.string(k).string(v);
  }
  return w;
}

/**
 * Reads attributes (§5) from `r`; sizes above 2^53 are refused as `BadMessage`.
 *
 * @example
 * ```ts
 * import { SshReader, SshWriter } from "../_wire.ts";
 * import { decodeAttributes, encodeAttributes } from "./attributes.ts";
 * const st = decodeAttributes(new SshReader(encodeAttributes(new SshWriter(), { size: 5 }).bytes()));
 * console.log(st.size); // 5
 * ```
 */
export function decodeAttributes(r: SshReader): FileStat {
  const flags = r.uint32();
  const a: FileAttributes = {};
  if (flags & ATTR.SIZE) {
    const size = r.uint64();
    if (size > BigInt(Number.MAX_SAFE_INTEGER)) throw new BadMessage(`file size ${size} too large`);
    a.size = Number(size);
  }
  if (flags & ATTR.UIDGID) {
    a.uid = r.uint32();
    a.gid = r.uint32();
  }
  if (flags & ATTR.PERMISSIONS) a.mode = r.uint32();
  if (flags & ATTR.ACMODTIME) {
    a.atime = r.uint32();
    a.mtime = r.uint32();
  }
  if (flags & ATTR.EXTENDED) {
    const n = r.uint32();
    // Each pair takes at least 8 bytes: a count beyond that is a lie, not a reason to loop.
    if (n * 8 > r.remaining) throw new BadMessage(`attributes claim ${n} extended pairs`);
    a.extended = {};
    for (let i = 0; i < n; i++) a.extended[r.text()] = r.string().slice();
  }
  return new FileStat(a);
}

/**
 * The `ls -l` style line for a file, as OpenSSH's sftp prints when the server's longname is
 * missing: `-rw-r--r--    1 1000     1000         1234 Jan 01 12:00 name`.
 *
 * @example
 * ```ts
 * import { FileStat, longName } from "./attributes.ts";
 * console.log(longName("a.txt", new FileStat({ mode: 0o100644, size: 1 })));
 * ```
 */
export function longName(name: string, st: FileStat): string {
  const mode = st.mode ?? 0;
  const type = st.isDirectory ? "d" : st.isSymlink ? "l" : st.isFile ? "-" : "?";
  const rwx = (shift: number, special: number, ch: string) => {
    const bits = (mode >> shift) & 7;
    const x = bits & 1;
    const s = mode & special;
    return (bits & 4 ? "r" : "-") + (bits & 2 ? "w" : "-") +
      (s ? (x ? ch : ch.toUpperCase()) : x ? "x" : "-");
  };
  const perms = rwx(6, 0o4000, "s") + rwx(3, 0o2000, "s") + rwx(0, 0o1000, "t");
  const when = st.mtime !== undefined ? formatDate(st.mtime) : "            ";
  return `${type}${perms}    ? ${String(st.uid ?? "?").padEnd(8)} ${
    String(st.gid ?? "?").padEnd(8)
  } ${String(st.size ?? 0).padStart(8)} ${when} ${name}`;
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

function formatDate(seconds: number): string {
  const d = new Date(seconds * 1000);
  const day = String(d.getUTCDate()).padStart(2, "0");
  const recent = Math.abs(Date.now() / 1000 - seconds) < 182 * 86400;
  const tail = recent
    ? `${String(d.getUTCHours()).padStart(2, "0")}:${String(d.getUTCMinutes()).padStart(2, "0")}`
    : ` ${d.getUTCFullYear()}`;
  return `${MONTHS[d.getUTCMonth()]} ${day} ${tail}`;
}
