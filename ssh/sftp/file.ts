/**
 * An open remote file handle (draft-ietf-secsh-filexfer-02 §6.3–6.9): positional reads
 * and writes, fstat, fsetstat, fsync@openssh.com, close.
 *
 * @module
 */

import { EXT, FX, FXP } from "./_protocol.ts";
import {
  decodeAttributes,
  encodeAttributes,
  type FileAttributes,
  type FileStat,
} from "./attributes.ts";
import { BadMessage, OpUnsupported, statusError } from "./errors.ts";
import type { SftpSession } from "./session.ts";

/**
 * A remote file opened with `SftpClient.open`. Reads and writes take explicit offsets, so
 * several may be in flight at once.
 *
 * @example
 * ```ts ignore
 * const file = await sftp.open("/tmp/x", "w");
 * await file.write(0, new TextEncoder().encode("hello"));
 * await file.close();
 * ```
 */
export class SftpFile {
  #closed = false;

  /** Wraps a handle the server returned for `path`. */
  constructor(
    readonly session: SftpSession,
    readonly handle: Uint8Array,
    readonly path: string,
  ) {}

  /**
   * Reads up to `length` bytes at `offset` (one request: the server may return fewer);
   * `null` at end of file.
   */
  async read(offset: number, length: number): Promise<Uint8Array | null> {
    const reply = await this.session.request(
      FXP.READ,
      (w) => w.string(this.handle).uint64(offset).uint32(length),
    );
    if (reply.type === FXP.STATUS) {
      const code = reply.reader.uint32();
      const message = reply.reader.remaining >= 4 ? reply.reader.text() : "";
      if (code === FX.EOF) return null;
      throw statusError(code, message, "read", this.path);
    }
    const data = this.session.expect(reply, FXP.DATA, "read", this.path).string();
    if (data.length > length) {
      throw new BadMessage(`read ${this.path}: more data than asked`, FX.BAD_MESSAGE, this.path);
    }
    return data;
  }

  /** Writes `data` at `offset` (split into requests the server accepts). */
  async write(offset: number, data: Uint8Array): Promise<void> {
    const max = this.session.limits.maxWriteLength;
    const parts: Promise<void>[] = [];
    for (let at = 0; at < data.length || (at === 0 && data.length === 0); at += max) {
      const part = data.subarray(at, at + max);
      parts.push(
        this.session.request(
          FXP.WRITE,
          (w) => w.string(this.handle).uint64(offset + at).string(part),
        ).then((reply) => this.session.expectStatus(reply, "write", this.path)),
      );
      if (data.length === 0) break;
    }
    await Promise.all(parts);
  }

  /** Attributes of the open file (SSH_FXP_FSTAT). */
  async stat(): Promise<FileStat> {
    const reply = await this.session.request(FXP.FSTAT, (w) => w.string(this.handle));
    return decodeAttributes(this.session.expect(reply, FXP.ATTRS, "fstat", this.path));
  }

  /** Changes attributes of the open file (SSH_FXP_FSETSTAT). */
  async setStat(attrs: FileAttributes): Promise<void> {
    const reply = await this.session.request(FXP.FSETSTAT, (w) => {
      w.string(this.handle);
      encodeAttributes(w, attrs);
    });
    this.session.expectStatus(reply, "fsetstat", this.path);
  }

  /** Flushes the file to stable storage on the server (fsync@openssh.com). */
  async sync(): Promise<void> {
    if (!this.session.hasExtension(EXT.FSYNC)) {
      throw new OpUnsupported(
        `fsync ${this.path}: the server lacks ${EXT.FSYNC}`,
        FX.OP_UNSUPPORTED,
        this.path,
      );
    }
    const reply = await this.session.request(
      FXP.EXTENDED,
      (w) => w.string(EXT.FSYNC).string(this.handle),
    );
    this.session.expectStatus(reply, "fsync", this.path);
  }

  /** Closes the handle (SSH_FXP_CLOSE); closing twice does nothing. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const reply = await this.session.request(FXP.CLOSE, (w) => w.string(this.handle));
    this.session.expectStatus(reply, "close", this.path);
  }
}
