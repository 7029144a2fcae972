/**
 * A scripted in-memory SFTP v3 server for tests: a small file system, and faults on demand
 * (replies out of order, short reads, errors at an offset, a dropped connection, replies
 * split into tiny chunks, lies about sizes).
 *
 * @module
 */

import { SshReader, SshWriter } from "../_wire.ts";
import { EXT, FX, FXF, FXP } from "./_protocol.ts";
import { decodeAttributes, encodeAttributes, type FileAttributes } from "./attributes.ts";
import type { SftpStream } from "./session.ts";

/** Faults and quirks of the scripted server. */
export interface ScriptedServerOptions {
  /** Shuffle the replies of each burst of requests (seeded). */
  reorder?: boolean;
  /** Answer reads with at most this many bytes, or a random length (seeded) when "random". */
  shortReads?: number | "random";
  /** Reads at or past this offset fail with `readFailure.code`. */
  readFailure?: { offset: number; code: number; message?: string };
  /** Writes at or past this offset fail with `writeFailure.code`. */
  writeFailure?: { offset: number; code: number; message?: string };
  /** Close the stream after this many replies. */
  dropAfterReplies?: number;
  /** Split what the server sends into chunks of at most this many bytes. */
  chunkBytes?: number;
  /** Offer limits@openssh.com with this read/write size (default: no limits extension). */
  limits?: number;
  /** Return `extra` more bytes than asked on reads. */
  overlongReads?: number;
  /** fstat reports this size instead of the real one. */
  fstatSize?: number;
  /** Names listed in every directory on top of the real ones. */
  extraNames?: string[];
  /** A read at exactly this offset answers EOF although the file goes on. */
  fakeEofAt?: number;
  /** Seed for reorder and random short reads. */
  seed?: number;
}

interface Node {
  type: "file" | "dir" | "link";
  data: Uint8Array;
  size: number;
  mode: number;
  mtime: number;
  atime: number;
  target?: string;
}

/** The in-memory server; `stream` is the client's side. */
export class ScriptedSftpServer {
  /** Paths to nodes; "/" is the root directory. */
  readonly fs = new Map<string, Node>();
  /** Most requests received and not yet answered, seen at once. */
  maxOutstanding = 0;
  /** Requests received, by packet type. */
  readonly counts = new Map<number, number>();
  /** The client's side of the connection. */
  readonly stream: SftpStream;
  /** Options in force (may be changed between operations). */
  options: ScriptedServerOptions;

  #toClient: WritableStreamDefaultWriter<Uint8Array>;
  #handles = new Map<string, { path: string; dirDone?: boolean }>();
  #nextHandle = 1;
  #replies = 0;
  #rand: () => number;
  #closed = false;

  constructor(options: ScriptedServerOptions = {}) {
    this.options = options;
    let s = options.seed ?? 12345;
    this.#rand = () => {
      s = (s * 1103515245 + 12345) & 0x7fffffff;
      return s / 0x80000000;
    };
    this.fs.set("/", {
      type: "dir",
      data: new Uint8Array(0),
      size: 0,
      mode: 0o40755,
      mtime: 0,
      atime: 0,
    });
    const up = new TransformStream<Uint8Array, Uint8Array>();
    const down = new TransformStream<Uint8Array, Uint8Array>();
    this.#toClient = down.writable.getWriter();
    this.#toClient.closed.catch(() => {});
    this.stream = {
      readable: down.readable,
      writable: up.writable,
      close: () => {
        this.close();
        return Promise.resolve();
      },
    };
    this.#serve(up.readable);
  }

  /** Adds a file with `data`. */
  addFile(path: string, data: Uint8Array, mode = 0o100644): void {
    this.fs.set(path, {
      type: "file",
      data,
      size: data.length,
      mode,
      mtime: 1_700_000_000,
      atime: 1_700_000_000,
    });
  }

  /** Adds a directory. */
  addDir(path: string, mode = 0o40755): void {
    this.fs.set(path, {
      type: "dir",
      data: new Uint8Array(0),
      size: 0,
      mode,
      mtime: 1_700_000_000,
      atime: 1_700_000_000,
    });
  }

  /** The content of a file. */
  file(path: string): Uint8Array | undefined {
    const n = this.fs.get(path);
    return n?.data.subarray(0, n.size);
  }

  /** Ends the connection. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#toClient.close().catch(() => {});
  }

  async #serve(readable: ReadableStream<Uint8Array>): Promise<void> {
    const queue: Uint8Array[] = [];
    let ended = false;
    let wake: (() => void) | undefined;
    const reading = (async () => {
      let buf = new Uint8Array(0);
      try {
        for await (const chunk of readable) {
          const joined = new Uint8Array(buf.length + chunk.length);
          joined.set(buf);
          joined.set(chunk, buf.length);
          buf = joined;
          while (buf.length >= 4) {
            const len = new DataView(buf.buffer, buf.byteOffset).getUint32(0);
            if (buf.length < 4 + len) break;
            queue.push(buf.slice(4, 4 + len));
            buf = buf.subarray(4 + len);
          }
          wake?.();
        }
      } catch { /* client went away */ }
      ended = true;
      wake?.();
    })();
    try {
      while (!this.#closed) {
        if (queue.length === 0) {
          if (ended) break;
          await new Promise<void>((r) => (wake = r));
          wake = undefined;
          continue;
        }
        // Let the client's burst of requests arrive, then answer the lot (shuffled if asked).
        await new Promise((r) => setTimeout(r, 0));
        const batch = queue.splice(0);
        this.maxOutstanding = Math.max(this.maxOutstanding, batch.length);
        const replies: Uint8Array[] = [];
        for (const packet of batch) {
          const reply = this.#handle(packet);
          if (reply) replies.push(reply);
        }
        if (this.options.reorder) {
          for (let i = replies.length - 1; i > 0; i--) {
            const j = Math.floor(this.#rand() * (i + 1));
            [replies[i], replies[j]] = [replies[j], replies[i]];
          }
        }
        for (const r of replies) {
          if (this.#closed) return;
          const drop = this.options.dropAfterReplies;
          if (drop !== undefined && this.#replies >= drop) {
            this.close();
            return;
          }
          this.#replies++;
          await this.#send(r);
        }
      }
    } catch { /* client went away */ }
    this.close();
    await reading;
  }

  async #send(packet: Uint8Array): Promise<void> {
    const framed = new SshWriter(packet.length + 4).string(packet).bytes();
    const step = this.options.chunkBytes ?? framed.length;
    for (let o = 0; o < framed.length; o += step) {
      await this.#toClient.write(framed.slice(o, o + step));
    }
  }

  #status(id: number, code: number, message = ""): Uint8Array {
    return new SshWriter().byte(FXP.STATUS).uint32(id).uint32(code).string(
      message || (code === FX.OK ? "Success" : "Failure"),
    ).string("").bytes().slice();
  }

  #attrs(id: number, n: Node, size?: number): Uint8Array {
    return encodeAttributes(new SshWriter().byte(FXP.ATTRS).uint32(id), this.#attrsOf(n, size))
      .bytes().slice();
  }

  #attrsOf(n: Node, size?: number): FileAttributes {
    return {
      size: size ?? n.size,
      uid: 1000,
      gid: 1000,
      mode: n.mode,
      atime: n.atime,
      mtime: n.mtime,
    };
  }

  #resolve(path: string, follow = true): Node | undefined {
    let n = this.fs.get(path);
    for (let i = 0; follow && n?.type === "link" && i < 8; i++) n = this.fs.get(n.target!);
    return n;
  }

  #parent(path: string): string {
    const i = path.lastIndexOf("/");
    return i <= 0 ? "/" : path.slice(0, i);
  }

  #handle(packet: Uint8Array): Uint8Array | undefined {
    const type = packet[0];
    this.counts.set(type, (this.counts.get(type) ?? 0) + 1);
    const r = new SshReader(packet, 1);
    if (type === FXP.INIT) {
      const w = new SshWriter().byte(FXP.VERSION).uint32(3);
      if (this.options.limits) w.string(EXT.LIMITS).string("1");
      for (const e of [EXT.POSIX_RENAME, EXT.STATVFS, EXT.FSYNC, EXT.HARDLINK]) {
        w.string(e).string("1");
      }
      return w.bytes().slice();
    }
    const id = r.uint32();
    const o = this.options;
    switch (type) {
      case FXP.OPEN: {
        const path = r.text();
        const flags = r.uint32();
        const attrs = decodeAttributes(r);
        let n = this.#resolve(path);
        if (!n) {
          if (!(flags & FXF.CREAT)) return this.#status(id, FX.NO_SUCH_FILE, "No such file");
          if (!this.fs.has(this.#parent(path))) {
            return this.#status(id, FX.NO_SUCH_FILE, "No such file");
          }
          n = {
            type: "file",
            data: new Uint8Array(0),
            size: 0,
            mode: 0o100000 | (attrs.mode ?? 0o644),
            mtime: 0,
            atime: 0,
          };
          this.fs.set(path, n);
        } else if (flags & FXF.EXCL && flags & FXF.CREAT) {
          return this.#status(id, FX.FAILURE, "File exists");
        }
        if (n.type === "dir" && flags & FXF.WRITE) {
          return this.#status(id, FX.FAILURE, "Is a directory");
        }
        if ((n.mode & 0o200) === 0 && flags & FXF.WRITE) {
          return this.#status(id, FX.PERMISSION_DENIED, "Permission denied");
        }
        if (flags & FXF.TRUNC) n.size = 0;
        const h = String(this.#nextHandle++);
        this.#handles.set(h, { path });
        return new SshWriter().byte(FXP.HANDLE).uint32(id).string(h).bytes().slice();
      }
      case FXP.OPENDIR: {
        const path = r.text();
        const n = this.#resolve(path);
        if (!n) return this.#status(id, FX.NO_SUCH_FILE, "No such file");
        if (n.type !== "dir") return this.#status(id, FX.FAILURE, "Not a directory");
        const h = String(this.#nextHandle++);
        this.#handles.set(h, { path });
        return new SshWriter().byte(FXP.HANDLE).uint32(id).string(h).bytes().slice();
      }
      case FXP.READDIR: {
        const h = this.#handles.get(r.text());
        if (!h) return this.#status(id, FX.FAILURE, "bad handle");
        if (h.dirDone) return this.#status(id, FX.EOF, "End of file");
        h.dirDone = true;
        const prefix = h.path === "/" ? "/" : h.path + "/";
        const names: Array<[string, Node]> = [];
        for (const [p, n] of this.fs) {
          if (p !== "/" && p.startsWith(prefix) && !p.slice(prefix.length).includes("/")) {
            names.push([p.slice(prefix.length), n]);
          }
        }
        for (const extra of o.extraNames ?? []) names.push([extra, this.fs.get("/")!]);
        const w = new SshWriter().byte(FXP.NAME).uint32(id).uint32(names.length + 2);
        const dir = this.fs.get(h.path)!;
        for (const [name, n] of [[".", dir], ["..", dir], ...names] as Array<[string, Node]>) {
          encodeAttributes(w.string(name).string(""), this.#attrsOf(n));
        }
        return w.bytes().slice();
      }
      case FXP.CLOSE: {
        const h = r.text();
        if (!this.#handles.delete(h)) return this.#status(id, FX.FAILURE, "bad handle");
        return this.#status(id, FX.OK);
      }
      case FXP.READ: {
        const h = this.#handles.get(r.text());
        const offset = Number(r.uint64());
        let len = r.uint32();
        if (!h) return this.#status(id, FX.FAILURE, "bad handle");
        const n = this.#resolve(h.path)!;
        if (o.readFailure && offset + len > o.readFailure.offset) {
          return this.#status(id, o.readFailure.code, o.readFailure.message ?? "Failure");
        }
        if (offset >= n.size || offset === o.fakeEofAt) {
          return this.#status(id, FX.EOF, "End of file");
        }
        if (o.shortReads === "random") len = 1 + Math.floor(this.#rand() * len);
        else if (o.shortReads) len = Math.min(len, o.shortReads);
        let data = n.data.subarray(offset, Math.min(n.size, offset + len));
        if (o.overlongReads) {
          const longer = new Uint8Array(data.length + o.overlongReads);
          longer.set(data);
          data = longer;
        }
        return new SshWriter(data.length + 16).byte(FXP.DATA).uint32(id).string(data).bytes()
          .slice();
      }
      case FXP.WRITE: {
        const h = this.#handles.get(r.text());
        const offset = Number(r.uint64());
        const data = r.string();
        if (!h) return this.#status(id, FX.FAILURE, "bad handle");
        if (o.writeFailure && offset + data.length > o.writeFailure.offset) {
          return this.#status(id, o.writeFailure.code, o.writeFailure.message ?? "Failure");
        }
        const n = this.#resolve(h.path)!;
        const end = offset + data.length;
        if (end > n.data.length) {
          const grown = new Uint8Array(Math.max(end, n.data.length * 2));
          grown.set(n.data.subarray(0, n.size));
          n.data = grown;
        }
        n.data.set(data, offset);
        n.size = Math.max(n.size, end);
        return this.#status(id, FX.OK);
      }
      case FXP.STAT:
      case FXP.LSTAT: {
        const path = r.text();
        const n = this.#resolve(path, type === FXP.STAT);
        return n ? this.#attrs(id, n) : this.#status(id, FX.NO_SUCH_FILE, "No such file");
      }
      case FXP.FSTAT: {
        const h = this.#handles.get(r.text());
        if (!h) return this.#status(id, FX.FAILURE, "bad handle");
        return this.#attrs(id, this.#resolve(h.path)!, o.fstatSize);
      }
      case FXP.SETSTAT:
      case FXP.FSETSTAT: {
        const key = r.text();
        const path = type === FXP.SETSTAT ? key : this.#handles.get(key)?.path;
        const n = path === undefined ? undefined : this.#resolve(path);
        if (!n) return this.#status(id, FX.NO_SUCH_FILE, "No such file");
        const a = decodeAttributes(r);
        if (a.mode !== undefined) n.mode = (n.mode & ~0o7777) | (a.mode & 0o7777);
        if (a.mtime !== undefined) [n.atime, n.mtime] = [a.atime!, a.mtime];
        if (a.size !== undefined) n.size = a.size;
        return this.#status(id, FX.OK);
      }
      case FXP.REMOVE: {
        const path = r.text();
        const n = this.fs.get(path);
        if (!n) return this.#status(id, FX.NO_SUCH_FILE, "No such file");
        if (n.type === "dir") return this.#status(id, FX.FAILURE, "Is a directory");
        this.fs.delete(path);
        return this.#status(id, FX.OK);
      }
      case FXP.MKDIR: {
        const path = r.text();
        const a = decodeAttributes(r);
        if (this.fs.has(path)) return this.#status(id, FX.FAILURE, "File exists");
        if (!this.fs.has(this.#parent(path))) {
          return this.#status(id, FX.NO_SUCH_FILE, "No such file");
        }
        this.addDir(path, 0o40000 | (a.mode ?? 0o755));
        return this.#status(id, FX.OK);
      }
      case FXP.RMDIR: {
        const path = r.text();
        const n = this.fs.get(path);
        if (!n) return this.#status(id, FX.NO_SUCH_FILE, "No such file");
        for (const p of this.fs.keys()) {
          if (p.startsWith(path + "/")) return this.#status(id, FX.FAILURE, "Directory not empty");
        }
        this.fs.delete(path);
        return this.#status(id, FX.OK);
      }
      case FXP.REALPATH: {
        let path = r.text();
        if (path === "." || path === "") path = "/";
        return new SshWriter().byte(FXP.NAME).uint32(id).uint32(1).string(path).string(path).uint32(
          0,
        ).bytes().slice();
      }
      case FXP.READLINK: {
        const n = this.fs.get(r.text());
        if (!n || n.type !== "link") return this.#status(id, FX.NO_SUCH_FILE, "No such file");
        return new SshWriter().byte(FXP.NAME).uint32(id).uint32(1).string(n.target!).string("")
          .uint32(0).bytes().slice();
      }
      case FXP.SYMLINK: {
        // OpenSSH's order: target first, then the link's path.
        const target = r.text();
        const path = r.text();
        if (this.fs.has(path)) return this.#status(id, FX.FAILURE, "File exists");
        this.fs.set(path, {
          type: "link",
          data: new Uint8Array(0),
          size: target.length,
          mode: 0o120777,
          mtime: 0,
          atime: 0,
          target,
        });
        return this.#status(id, FX.OK);
      }
      case FXP.RENAME:
        return this.#rename(id, r.text(), r.text(), false);
      case FXP.EXTENDED: {
        const name = r.text();
        if (name === EXT.LIMITS && o.limits) {
          return new SshWriter().byte(FXP.EXTENDED_REPLY).uint32(id).uint64(o.limits + 1024).uint64(
            o.limits,
          ).uint64(o.limits).uint64(64).bytes().slice();
        }
        if (name === EXT.POSIX_RENAME) return this.#rename(id, r.text(), r.text(), true);
        if (name === EXT.STATVFS) {
          const w = new SshWriter().byte(FXP.EXTENDED_REPLY).uint32(id);
          for (const v of [4096, 4096, 1000, 500, 400, 100, 50, 40, 7, 0, 255]) w.uint64(v);
          return w.bytes().slice();
        }
        if (name === EXT.FSYNC) return this.#status(id, FX.OK);
        if (name === EXT.HARDLINK) {
          const from = r.text();
          const to = r.text();
          const n = this.fs.get(from);
          if (!n) return this.#status(id, FX.NO_SUCH_FILE, "No such file");
          this.fs.set(to, n);
          return this.#status(id, FX.OK);
        }
        return this.#status(id, FX.OP_UNSUPPORTED, "Operation unsupported");
      }
    }
    return this.#status(id, FX.OP_UNSUPPORTED, "Operation unsupported");
  }

  #rename(id: number, from: string, to: string, overwrite: boolean): Uint8Array {
    const n = this.fs.get(from);
    if (!n) return this.#status(id, FX.NO_SUCH_FILE, "No such file");
    if (this.fs.has(to) && !overwrite) return this.#status(id, FX.FAILURE, "File exists");
    this.fs.delete(from);
    this.fs.set(to, n);
    return this.#status(id, FX.OK);
  }
}
