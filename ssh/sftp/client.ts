/**
 * The SFTP client: file operations, pipelined `get`/`put` with resume and preserved times
 * and modes, recursive copies, and streams. `openSftp(client)` starts it on an SSH
 * connection's "sftp" subsystem.
 *
 * @module
 */

import type { SshWriter } from "../_wire.ts";
import { EXT, FX, FXF, FXP } from "./_protocol.ts";
import {
  decodeAttributes,
  encodeAttributes,
  type FileAttributes,
  type FileStat,
  longName,
} from "./attributes.ts";
import { BadMessage, NoSuchFile, OpUnsupported, SftpError, statusError } from "./errors.ts";
import { SftpFile } from "./file.ts";
import { SftpSession, type SftpSessionOptions, type SftpStream } from "./session.ts";
import { type ByteSink, type ByteSource, download, toSink, toSource, upload } from "./transfer.ts";

/** How to open a remote file: fopen-style letters, or SSH_FXF_* flags. */
export type OpenMode = "r" | "r+" | "w" | "w+" | "wx" | "a" | "a+" | number;

/** A directory entry from `list`. */
export interface DirEntry {
  /** File name (no directory part). */
  name: string;
  /** The server's `ls -l` line (may be empty on servers that do not send one). */
  longname: string;
  /** Attributes as listed (of the link itself, for symbolic links). */
  stat: FileStat;
}

/** File system statistics from statvfs@openssh.com (as statvfs(3)). */
export interface StatVfs {
  /** File system block size. */
  bsize: number;
  /** Fundamental block size. */
  frsize: number;
  /** Size of the file system in `frsize` units. */
  blocks: number;
  /** Free blocks. */
  bfree: number;
  /** Free blocks for unprivileged users. */
  bavail: number;
  /** Inodes. */
  files: number;
  /** Free inodes. */
  ffree: number;
  /** Free inodes for unprivileged users. */
  favail: number;
  /** File system id. */
  fsid: number;
  /** Mount flags (1: read-only, 2: nosuid). */
  flag: number;
  /** Longest file name. */
  namemax: number;
}

/** Options of `get`, `put` and the recursive copies. */
export interface TransferOptions {
  /** Called as bytes arrive or are acknowledged: `done` includes a resumed part. */
  onProgress?: (done: number, total: number | undefined) => void;
  /** Continue a partial copy: skip the bytes the destination already has. */
  resume?: boolean;
  /** Copy permissions, access and modification times. */
  preserve?: boolean;
  /** Bytes per request (default: the server's limit from limits@openssh.com, else 32 KiB). */
  chunkSize?: number;
  /** Requests in flight (default 64). */
  maxRequests?: number;
  /** `put`: ask the server to fsync the file before closing (fsync@openssh.com). */
  fsync?: boolean;
  /** `put` to a new file: its permissions (default: the local file's, or 0o644). */
  mode?: number;
}

/** What a `get` or `put` did. */
export interface TransferResult {
  /** Bytes copied by this call. */
  bytes: number;
  /** Size of the copy when done. */
  size: number;
  /** Offset the copy started at (non-zero when resumed). */
  resumedFrom: number;
}

/** Options of `getRecursive` and `putRecursive`. */
export interface RecursiveOptions extends TransferOptions {
  /** Called before each file is copied. */
  onFile?: (remotePath: string, localPath: string, size: number | undefined) => void;
  /** Deepest directory nesting followed (default 64). */
  maxDepth?: number;
}

/** What a recursive copy did. */
export interface RecursiveResult {
  /** Files copied. */
  files: number;
  /** Directories created or entered. */
  directories: number;
  /** Bytes copied. */
  bytes: number;
  /** Entries left out: symbolic links, devices, sockets (as OpenSSH's sftp skips them). */
  skipped: string[];
}

/** What `openSftp` needs of an SSH connection (an `SshClient` has it). */
export interface SftpHost {
  /** Starts a subsystem and returns its channel. */
  subsystem(name: string): Promise<SftpStream & { close(): Promise<void> }>;
  /** The server's identification string, to pick SYMLINK's argument order. */
  readonly info: { readonly serverVersion: string };
}

/** Options of `openSftp` and `SftpClient.start`. */
export type SftpOptions = SftpSessionOptions;

const MAX_LIST = 1_000_000;

function openFlags(mode: OpenMode): number {
  if (typeof mode === "number") return mode;
  switch (mode) {
    case "r":
      return FXF.READ;
    case "r+":
      return FXF.READ | FXF.WRITE;
    case "w":
      return FXF.WRITE | FXF.CREAT | FXF.TRUNC;
    case "w+":
      return FXF.READ | FXF.WRITE | FXF.CREAT | FXF.TRUNC;
    case "wx":
      return FXF.WRITE | FXF.CREAT | FXF.EXCL;
    case "a":
      return FXF.WRITE | FXF.CREAT | FXF.APPEND;
    case "a+":
      return FXF.READ | FXF.WRITE | FXF.CREAT | FXF.APPEND;
  }
  throw new RangeError(`unknown open mode ${mode}`);
}

/** Joins a directory and a name with "/", as remote paths and Linux paths do. */
function join(dir: string, name: string): string {
  return dir === "" ? name : dir.endsWith("/") ? dir + name : `${dir}/${name}`;
}

/** A name from a server listing that could escape the directory it is copied into. */
function unsafeName(name: string): boolean {
  return name === "" || name === "." || name === ".." || name.includes("/") || name.includes("\0");
}

/**
 * An SFTP session. Every method throws an `SftpError` subclass (`NoSuchFile`,
 * `PermissionDenied`, `SftpFailure`, ...) whose message names the operation and path.
 *
 * @example
 * ```ts ignore
 * import { openSftp } from "./mod.ts";
 * const sftp = await openSftp(client);
 * await sftp.put("report.pdf", "/srv/report.pdf", { preserve: true });
 * for (const e of await sftp.list("/srv")) console.log(e.longname);
 * await sftp.close();
 * ```
 */
export class SftpClient {
  /** Starts SFTP over any byte stream pair (an `SshChannel`, or a test stream). */
  static async start(stream: SftpStream, options: SftpOptions = {}): Promise<SftpClient> {
    return new SftpClient(await SftpSession.open(stream, options));
  }

  /** Wraps an open session (see `start`). */
  constructor(readonly session: SftpSession) {}

  /** Extensions the server announced, by name. */
  get extensions(): ReadonlyMap<string, string> {
    return this.session.extensions;
  }

  /** Read and write sizes in force. */
  get limits(): SftpSession["limits"] {
    return this.session.limits;
  }

  async #status(
    type: number,
    what: string,
    path: string,
    build: (w: SshWriter) => void,
  ): Promise<void> {
    const reply = await this.session.request(type, build);
    this.session.expectStatus(reply, what, path);
  }

  async #name(
    type: number,
    what: string,
    path: string,
    build: (w: SshWriter) => void,
  ): Promise<string> {
    const reply = await this.session.request(type, build);
    const r = this.session.expect(reply, FXP.NAME, what, path);
    if (r.uint32() < 1) {
      throw new BadMessage(`${what} ${path}: an empty NAME reply`, FX.BAD_MESSAGE, path);
    }
    return r.text();
  }

  // ------------------------------------------------------------------ metadata

  /** Attributes of `path`, following symbolic links (SSH_FXP_STAT). */
  async stat(path: string): Promise<FileStat> {
    const reply = await this.session.request(FXP.STAT, (w) => w.string(path));
    return decodeAttributes(this.session.expect(reply, FXP.ATTRS, "stat", path));
  }

  /** Attributes of `path` itself, not following a symbolic link (SSH_FXP_LSTAT). */
  async lstat(path: string): Promise<FileStat> {
    const reply = await this.session.request(FXP.LSTAT, (w) => w.string(path));
    return decodeAttributes(this.session.expect(reply, FXP.ATTRS, "lstat", path));
  }

  /** Whether `path` exists (false only for NoSuchFile; other errors are thrown). */
  async exists(path: string): Promise<boolean> {
    try {
      await this.lstat(path);
      return true;
    } catch (e) {
      if (e instanceof NoSuchFile) return false;
      throw e;
    }
  }

  /** Changes attributes of `path` (SSH_FXP_SETSTAT). */
  setStat(path: string, attrs: FileAttributes): Promise<void> {
    return this.#status(
      FXP.SETSTAT,
      "setstat",
      path,
      (w) => encodeAttributes(w.string(path), attrs),
    );
  }

  /** Changes permissions of `path`. */
  chmod(path: string, mode: number): Promise<void> {
    return this.setStat(path, { mode });
  }

  /** Changes owner and group of `path`. */
  chown(path: string, uid: number, gid: number): Promise<void> {
    return this.setStat(path, { uid, gid });
  }

  /** Sets access and modification times of `path` (seconds since the epoch). */
  utimes(path: string, atime: number, mtime: number): Promise<void> {
    return this.setStat(path, { atime, mtime });
  }

  /** The canonical absolute form of `path` (SSH_FXP_REALPATH); `"."` gives the home directory. */
  realpath(path: string): Promise<string> {
    return this.#name(FXP.REALPATH, "realpath", path, (w) => w.string(path));
  }

  /** Where the symbolic link `path` points (SSH_FXP_READLINK). */
  readlink(path: string): Promise<string> {
    return this.#name(FXP.READLINK, "readlink", path, (w) => w.string(path));
  }

  /** Creates a symbolic link at `path` pointing to `target` (SSH_FXP_SYMLINK). */
  symlink(target: string, path: string): Promise<void> {
    // OpenSSH (and paramiko) read SYMLINK's arguments in the reverse of the draft's order.
    const [first, second] = this.session.openSshSymlinkOrder ? [target, path] : [path, target];
    return this.#status(FXP.SYMLINK, "symlink", path, (w) => w.string(first).string(second));
  }

  /** Creates a hard link at `path` to `target` (hardlink@openssh.com). */
  link(target: string, path: string): Promise<void> {
    this.#need(EXT.HARDLINK, "link", path);
    return this.#status(
      FXP.EXTENDED,
      "link",
      path,
      (w) => w.string(EXT.HARDLINK).string(target).string(path),
    );
  }

  /**
   * Renames `from` to `to`. Uses posix-rename@openssh.com when offered (replaces an existing
   * `to` atomically), else SSH_FXP_RENAME (fails if `to` exists); `{ posix: false }` forces
   * the latter.
   */
  rename(from: string, to: string, options: { posix?: boolean } = {}): Promise<void> {
    if (options.posix !== false && this.session.hasExtension(EXT.POSIX_RENAME)) {
      return this.#status(
        FXP.EXTENDED,
        "rename",
        from,
        (w) => w.string(EXT.POSIX_RENAME).string(from).string(to),
      );
    }
    return this.#status(FXP.RENAME, "rename", from, (w) => w.string(from).string(to));
  }

  /** Removes the file `path` (SSH_FXP_REMOVE). */
  remove(path: string): Promise<void> {
    return this.#status(FXP.REMOVE, "remove", path, (w) => w.string(path));
  }

  /** Creates the directory `path` (SSH_FXP_MKDIR), with `mode` if given. */
  mkdir(path: string, options: { mode?: number } = {}): Promise<void> {
    return this.#status(
      FXP.MKDIR,
      "mkdir",
      path,
      (w) =>
        encodeAttributes(w.string(path), options.mode === undefined ? {} : { mode: options.mode }),
    );
  }

  /** Removes the empty directory `path` (SSH_FXP_RMDIR). */
  rmdir(path: string): Promise<void> {
    return this.#status(FXP.RMDIR, "rmdir", path, (w) => w.string(path));
  }

  /** File system statistics of the file system holding `path` (statvfs@openssh.com). */
  async statvfs(path: string): Promise<StatVfs> {
    this.#need(EXT.STATVFS, "statvfs", path);
    const reply = await this.session.extended(EXT.STATVFS, (w) => w.string(path), "statvfs", path);
    const r = reply.reader;
    const n = () => Number(r.uint64());
    return {
      bsize: n(),
      frsize: n(),
      blocks: n(),
      bfree: n(),
      bavail: n(),
      files: n(),
      ffree: n(),
      favail: n(),
      fsid: n(),
      flag: n(),
      namemax: n(),
    };
  }

  #need(extension: string, what: string, path: string): void {
    if (!this.session.hasExtension(extension)) {
      throw new OpUnsupported(
        `${what} ${path}: the server does not offer ${extension}`,
        FX.OP_UNSUPPORTED,
        path,
      );
    }
  }

  // ------------------------------------------------------------------ directories

  /**
   * Lists directory `path` (SSH_FXP_OPENDIR/READDIR), without "." and "..", in the
   * server's order. Refuses directories of more than `maxEntries` (default 1,000,000).
   */
  async list(path: string, options: { maxEntries?: number } = {}): Promise<DirEntry[]> {
    const max = options.maxEntries ?? MAX_LIST;
    const handle = this.session.expectHandle(
      await this.session.request(FXP.OPENDIR, (w) => w.string(path)),
      "opendir",
      path,
    );
    const entries: DirEntry[] = [];
    try {
      for (;;) {
        const reply = await this.session.request(FXP.READDIR, (w) => w.string(handle));
        if (reply.type === FXP.STATUS) {
          const code = reply.reader.uint32();
          if (code === FX.EOF) break;
          const message = reply.reader.remaining >= 4 ? reply.reader.text() : "";
          throw statusError(code, message, "readdir", path);
        }
        const r = this.session.expect(reply, FXP.NAME, "readdir", path);
        const count = r.uint32();
        if (count * 13 > r.remaining) {
          throw new BadMessage(
            `readdir ${path}: a NAME reply claims ${count} entries`,
            FX.BAD_MESSAGE,
            path,
          );
        }
        for (let i = 0; i < count; i++) {
          const name = r.text();
          const longname = r.text();
          const stat = decodeAttributes(r);
          if (name === "." || name === "..") continue;
          if (entries.length >= max) {
            throw new SftpError(`readdir ${path}: more than ${max} entries`, -1, path);
          }
          entries.push({ name, longname: longname || longName(name, stat), stat });
        }
      }
    } finally {
      await this.session.request(FXP.CLOSE, (w) => w.string(handle)).catch(() => {});
    }
    return entries;
  }

  // ------------------------------------------------------------------ files

  /** Opens a remote file; `attrs` (e.g. `{ mode }`) apply when it is created. */
  async open(path: string, mode: OpenMode = "r", attrs: FileAttributes = {}): Promise<SftpFile> {
    const reply = await this.session.request(
      FXP.OPEN,
      (w) => encodeAttributes(w.string(path).uint32(openFlags(mode)), attrs),
    );
    return new SftpFile(this.session, this.session.expectHandle(reply, "open", path), path);
  }

  /**
   * Downloads `remote` into the local file `local` (created or truncated) or into a
   * `WritableStream` (closed at the end, aborted on error). Pipelined: 64 requests of the
   * server's largest read size in flight. A failed download leaves a partial local file
   * holding exactly the bytes received in order, which `{ resume: true }` continues.
   */
  async get(
    remote: string,
    local: string | WritableStream<Uint8Array>,
    options: TransferOptions = {},
  ): Promise<TransferResult> {
    let file: SftpFile;
    try {
      file = await this.open(remote, "r");
    } catch (e) {
      if (typeof local !== "string") await local.abort(e).catch(() => {});
      throw e;
    }
    let closeLocal: (() => void) | undefined;
    let stream: WritableStreamDefaultWriter<Uint8Array> | undefined;
    try {
      const st = await file.stat();
      let start = 0;
      let sink: ByteSink;
      if (typeof local === "string") {
        const mode = (st.permissions & 0o777) | 0o200;
        let fsFile: Deno.FsFile;
        if (options.resume) {
          fsFile = await Deno.open(local, { write: true, create: true, mode });
          start = (await fsFile.stat()).size;
          if (st.size !== undefined && start > st.size) {
            fsFile.close();
            throw new SftpError(
              `get ${remote}: cannot resume: ${local} (${start} bytes) is larger than the remote file (${st.size} bytes)`,
              -1,
              remote,
            );
          }
          await fsFile.seek(start, Deno.SeekMode.Start);
        } else {
          fsFile = await Deno.open(local, { write: true, create: true, truncate: true, mode });
        }
        closeLocal = () => fsFile.close();
        sink = toSink(fsFile);
      } else {
        stream = local.getWriter();
        sink = toSink(stream);
      }
      const total = st.size;
      options.onProgress?.(start, total);
      const end = await download(this.session, file.handle, remote, sink, {
        start,
        sizeHint: st.size,
        chunkSize: options.chunkSize,
        maxRequests: options.maxRequests,
        onBytes: (n) => options.onProgress?.(start + n, total),
      });
      if (typeof local === "string" && options.preserve) {
        if (st.mode !== undefined) await Deno.chmod(local, st.permissions);
        if (st.mtime !== undefined) await Deno.utime(local, st.atime ?? st.mtime, st.mtime);
      }
      await stream?.close();
      stream = undefined;
      return { bytes: end - start, size: end, resumedFrom: start };
    } catch (e) {
      stream?.abort(e).catch(() => {});
      throw e;
    } finally {
      closeLocal?.();
      await file.close().catch(() => {});
    }
  }

  /**
   * Uploads the local file `local` (or everything a `ReadableStream` yields) to `remote`,
   * created or truncated, pipelined like `get`. With `{ resume: true }` the upload continues
   * after the bytes `remote` already has.
   */
  async put(
    local: string | ReadableStream<Uint8Array>,
    remote: string,
    options: TransferOptions = {},
  ): Promise<TransferResult> {
    let source: ByteSource;
    let localStat: Deno.FileInfo | undefined;
    let closeLocal: (() => void) | undefined;
    let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
    if (typeof local === "string") {
      const fsFile = await Deno.open(local, { read: true });
      closeLocal = () => fsFile.close();
      try {
        localStat = await fsFile.stat();
      } catch (e) {
        fsFile.close();
        throw e;
      }
      source = toSource(fsFile);
    } else {
      reader = local.getReader();
      source = toSource(reader);
    }
    let file: SftpFile | undefined;
    try {
      const mode = options.mode ?? (localStat?.mode != null ? localStat.mode & 0o777 : 0o644);
      let start = 0;
      if (options.resume) {
        let remoteSize = 0;
        try {
          remoteSize = (await this.stat(remote)).size ?? 0;
        } catch (e) {
          if (!(e instanceof NoSuchFile)) throw e;
        }
        if (localStat && remoteSize > localStat.size) {
          throw new SftpError(
            `put ${remote}: cannot resume: the remote file (${remoteSize} bytes) is larger than ${local} (${localStat.size} bytes)`,
            -1,
            remote,
          );
        }
        start = remoteSize;
        file = await this.open(remote, FXF.WRITE | FXF.CREAT, { mode });
        if (typeof local === "string") {
          const f = await Deno.open(local, { read: true });
          closeLocal!();
          closeLocal = () => f.close();
          await f.seek(start, Deno.SeekMode.Start);
          source = toSource(f);
        } else {
          await skip(source, start);
        }
      } else {
        file = await this.open(remote, "w", { mode });
      }
      const total = localStat?.size;
      options.onProgress?.(start, total);
      const end = await upload(this.session, file.handle, remote, source, {
        start,
        chunkSize: options.chunkSize,
        maxRequests: options.maxRequests,
        onBytes: (n) => options.onProgress?.(start + n, total),
      });
      if (options.preserve && localStat) {
        const attrs: FileAttributes = { mode: (localStat.mode ?? 0o644) & 0o7777 };
        if (localStat.mtime) {
          attrs.mtime = Math.floor(localStat.mtime.getTime() / 1000);
          attrs.atime = Math.floor((localStat.atime ?? localStat.mtime).getTime() / 1000);
        }
        await file.setStat(attrs);
      }
      if (options.fsync) await file.sync();
      const f = file;
      file = undefined;
      await f.close();
      return { bytes: end - start, size: end, resumedFrom: start };
    } catch (e) {
      reader?.cancel(e).catch(() => {});
      throw e;
    } finally {
      closeLocal?.();
      await file?.close().catch(() => {});
    }
  }

  /** Reads a whole remote file (refused past `maxBytes`, default 64 MiB). */
  async readFile(path: string, options: { maxBytes?: number } = {}): Promise<Uint8Array> {
    const max = options.maxBytes ?? 64 * 1024 * 1024;
    const parts: Uint8Array[] = [];
    let n = 0;
    const sink = new WritableStream<Uint8Array>({
      write(chunk) {
        n += chunk.length;
        if (n > max) throw new SftpError(`readFile ${path}: larger than ${max} bytes`, -1, path);
        parts.push(chunk);
      },
    });
    await this.get(path, sink);
    const out = new Uint8Array(n);
    let o = 0;
    for (const p of parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }

  /** Writes `data` (bytes, or text as UTF-8) as the whole content of `path`. */
  async writeFile(
    path: string,
    data: Uint8Array | string,
    options: { mode?: number } = {},
  ): Promise<void> {
    const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        if (bytes.length) c.enqueue(bytes);
        c.close();
      },
    });
    await this.put(stream, path, { mode: options.mode ?? 0o644 });
  }

  /**
   * A stream of the file's bytes from `start` (default 0), read with the same pipeline as
   * `get`; cancelling it stops the download.
   */
  createReadStream(
    path: string,
    options: { start?: number } & TransferOptions = {},
  ): ReadableStream<Uint8Array> {
    const pipe = new TransformStream<Uint8Array, Uint8Array>();
    const writer = pipe.writable.getWriter();
    (async () => {
      let file: SftpFile | undefined;
      try {
        file = await this.open(path, "r");
        const st = await file.stat();
        await download(this.session, file.handle, path, toSink(writer), {
          start: options.start ?? 0,
          sizeHint: st.size,
          chunkSize: options.chunkSize,
          maxRequests: options.maxRequests,
        });
        await writer.close();
      } catch (e) {
        writer.abort(e).catch(() => {});
      } finally {
        await file?.close().catch(() => {});
      }
    })();
    return pipe.readable;
  }

  /**
   * A stream that uploads what is written to `path` (created or truncated); `close()`
   * resolves once the server has acknowledged every byte and closed the file.
   */
  createWriteStream(path: string, options: TransferOptions = {}): WritableStream<Uint8Array> {
    const pipe = new TransformStream<Uint8Array, Uint8Array>();
    const writer = pipe.writable.getWriter();
    const done = this.put(pipe.readable, path, options);
    done.catch(() => {});
    const failed = done.then(() => new Promise<never>(() => {}));
    return new WritableStream<Uint8Array>({
      write: (chunk) => Promise.race([writer.write(chunk.slice()), failed]),
      close: async () => {
        await Promise.race([writer.close(), failed]);
        await done;
      },
      abort: (reason) => writer.abort(reason),
    });
  }

  // ------------------------------------------------------------------ recursive copies

  /**
   * Downloads the directory `remote` into `local` (created if missing): regular files and
   * directories, recursively; symbolic links and special files are skipped and listed.
   */
  async getRecursive(
    remote: string,
    local: string,
    options: RecursiveOptions = {},
  ): Promise<RecursiveResult> {
    const result: RecursiveResult = { files: 0, directories: 0, bytes: 0, skipped: [] };
    await this.#getDir(remote, local, options, 0, result);
    return result;
  }

  async #getDir(
    remote: string,
    local: string,
    options: RecursiveOptions,
    depth: number,
    result: RecursiveResult,
  ): Promise<void> {
    if (depth > (options.maxDepth ?? 64)) {
      throw new SftpError(
        `get ${remote}: deeper than ${options.maxDepth ?? 64} directories`,
        -1,
        remote,
      );
    }
    const dirStat = await this.stat(remote);
    await Deno.mkdir(local, { recursive: true });
    result.directories++;
    for (const entry of await this.list(remote)) {
      const r = join(remote, entry.name);
      if (unsafeName(entry.name)) {
        throw new BadMessage(
          `readdir ${remote}: unsafe name ${JSON.stringify(entry.name)}`,
          FX.BAD_MESSAGE,
          remote,
        );
      }
      const l = join(local, entry.name);
      if (entry.stat.isDirectory) {
        await this.#getDir(r, l, options, depth + 1, result);
      } else if (entry.stat.isFile) {
        options.onFile?.(r, l, entry.stat.size);
        const res = await this.get(r, l, options);
        result.files++;
        result.bytes += res.bytes;
      } else {
        result.skipped.push(r);
      }
    }
    if (options.preserve) {
      if (dirStat.mode !== undefined) await Deno.chmod(local, dirStat.permissions);
      if (dirStat.mtime !== undefined) {
        await Deno.utime(local, dirStat.atime ?? dirStat.mtime, dirStat.mtime);
      }
    }
  }

  /**
   * Uploads the local directory `local` into `remote` (created if missing): regular files and
   * directories, recursively; symbolic links and special files are skipped and listed.
   */
  async putRecursive(
    local: string,
    remote: string,
    options: RecursiveOptions = {},
  ): Promise<RecursiveResult> {
    const result: RecursiveResult = { files: 0, directories: 0, bytes: 0, skipped: [] };
    await this.#putDir(local, remote, options, 0, result);
    return result;
  }

  async #putDir(
    local: string,
    remote: string,
    options: RecursiveOptions,
    depth: number,
    result: RecursiveResult,
  ): Promise<void> {
    if (depth > (options.maxDepth ?? 64)) {
      throw new SftpError(
        `put ${local}: deeper than ${options.maxDepth ?? 64} directories`,
        -1,
        remote,
      );
    }
    const dirStat = await Deno.stat(local);
    try {
      await this.mkdir(remote, { mode: (dirStat.mode ?? 0o755) & 0o777 });
    } catch (e) {
      // Like OpenSSH's sftp: an existing directory is fine, anything else is not.
      const st = await this.stat(remote).catch(() => undefined);
      if (!st?.isDirectory) throw e;
    }
    result.directories++;
    const names: Deno.DirEntry[] = [];
    for await (const entry of Deno.readDir(local)) names.push(entry);
    names.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of names) {
      const l = join(local, entry.name);
      const r = join(remote, entry.name);
      if (entry.isDirectory) {
        await this.#putDir(l, r, options, depth + 1, result);
      } else if (entry.isFile) {
        const size = (await Deno.stat(l)).size;
        options.onFile?.(r, l, size);
        const res = await this.put(l, r, options);
        result.files++;
        result.bytes += res.bytes;
      } else {
        result.skipped.push(l);
      }
    }
    if (options.preserve) {
      const attrs: FileAttributes = { mode: (dirStat.mode ?? 0o755) & 0o7777 };
      if (dirStat.mtime) {
        attrs.mtime = Math.floor(dirStat.mtime.getTime() / 1000);
        attrs.atime = Math.floor((dirStat.atime ?? dirStat.mtime).getTime() / 1000);
      }
      await this.setStat(remote, attrs);
    }
  }

  /** Ends the session (closes the channel); requests still waiting fail. */
  close(): Promise<void> {
    return this.session.close();
  }
}

async function skip(source: ByteSource, n: number): Promise<void> {
  const buf = new Uint8Array(64 * 1024);
  while (n > 0) {
    const got = await source.read(buf.subarray(0, Math.min(n, buf.length)));
    if (got === null) throw new SftpError(`put: the stream ended before the resume offset`, -1);
    n -= got;
  }
}

/**
 * Starts SFTP on an SSH connection (the "sftp" subsystem).
 *
 * @example
 * ```ts ignore
 * import { connect } from "../mod.ts";
 * import { openSftp } from "./mod.ts";
 * const sftp = await openSftp(await connect(conn, options));
 * console.log(await sftp.realpath("."));
 * ```
 */
export async function openSftp(client: SftpHost, options: SftpOptions = {}): Promise<SftpClient> {
  const channel = await client.subsystem("sftp");
  try {
    return await SftpClient.start(channel, {
      openSshSymlinkOrder: /OpenSSH|paramiko/i.test(client.info.serverVersion),
      ...options,
    });
  } catch (e) {
    await channel.close().catch(() => {});
    throw e;
  }
}
