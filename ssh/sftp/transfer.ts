/**
 * Pipelined file transfers (the way OpenSSH's sftp does them): many READ or WRITE requests
 * in flight, replies accepted in any order, short reads re-requested, and the end of file
 * taken only from an SSH_FX_EOF status, never from a short read. Bounded in requests and
 * bytes.
 *
 * @module
 */

import { DEFAULT_REQUESTS, FX, FXP } from "./_protocol.ts";
import { BadMessage, FileChanged, SftpError, statusError } from "./errors.ts";
import type { SftpReply, SftpSession } from "./session.ts";

/** Where downloaded bytes go, in file order. */
export interface ByteSink {
  /** Takes all of `data` (it is not reused by the caller). */
  write(data: Uint8Array): Promise<void>;
}

/** Where uploaded bytes come from, in file order. */
export interface ByteSource {
  /** Reads up to `buf.length` bytes into `buf`; `null` at the end. */
  read(buf: Uint8Array): Promise<number | null>;
}

/** Tuning shared by downloads and uploads. */
export interface PipelineOptions {
  /** Bytes per READ or WRITE (default: the server's limit, else 32 KiB). */
  chunkSize?: number;
  /** Requests in flight at once (default 64, as OpenSSH). */
  maxRequests?: number;
  /** Called with the bytes transferred so far by this call (not counting a resumed part). */
  onBytes?: (bytes: number) => void;
}

/**
 * Reads file `handle` from offset `start` to its end into `sink`, in order, with up to
 * `maxRequests` reads in flight; `sizeHint` (from fstat) only says how far to read ahead
 * before the end is confirmed. Resolves with the offset of the end of file.
 *
 * @example
 * ```ts ignore
 * const end = await download(session, handle, "/remote/file", sink, { start: 0, sizeHint: st.size });
 * ```
 */
export async function download(
  session: SftpSession,
  handle: Uint8Array,
  path: string,
  sink: ByteSink,
  options: PipelineOptions & { start?: number; sizeHint?: number } = {},
): Promise<number> {
  const chunk = options.chunkSize ?? session.limits.maxReadLength;
  const maxRequests = options.maxRequests ?? DEFAULT_REQUESTS;
  const maxAhead = chunk * maxRequests;
  const start = options.start ?? 0;
  let next = start; // next offset never requested
  let written = start; // bytes handed to the sink end here
  let frontier = Math.max(start, options.sizeHint ?? 0); // read ahead up to here
  let dataEnd = start; // highest end of data received
  let eof: number | undefined; // confirmed end of file
  const retries: Array<[number, number]> = [];
  const segments = new Map<number, Uint8Array>();
  let inFlight = 0;
  let error: Error | undefined;
  let wake: (() => void) | undefined;
  const signal = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const changed = (what: string) =>
    new FileChanged(`get ${path}: the file changed during the transfer (${what})`, -1, path);

  const onEof = (offset: number) => {
    if (offset < dataEnd) throw changed(`end of file at ${offset} after data up to ${dataEnd}`);
    eof = eof === undefined ? offset : Math.min(eof, offset);
  };
  const onReply = (offset: number, length: number, reply: SftpReply) => {
    if (reply.type === FXP.DATA) {
      const data = reply.reader.string();
      if (data.length > length) {
        throw new BadMessage(
          `read ${path}: ${data.length} bytes in reply to a ${length}-byte read`,
          FX.BAD_MESSAGE,
          path,
        );
      }
      if (data.length === 0) return onEof(offset);
      const end = offset + data.length;
      if (eof !== undefined && end > eof) {
        throw changed(`data up to ${end} past end of file at ${eof}`);
      }
      segments.set(offset, data);
      if (end > dataEnd) dataEnd = end;
      if (end > frontier) frontier = end;
      // A short read is not the end of the file: ask again for the rest (OpenSSH does too).
      if (data.length < length) retries.push([end, length - data.length]);
      return;
    }
    if (reply.type === FXP.STATUS) {
      const code = reply.reader.uint32();
      const message = reply.reader.remaining >= 4 ? reply.reader.text() : "";
      if (code === FX.EOF) return onEof(offset);
      throw statusError(code, message, "read", path);
    }
    throw new BadMessage(`read ${path}: unexpected reply type ${reply.type}`, FX.BAD_MESSAGE, path);
  };
  const issue = (offset: number, length: number) => {
    inFlight++;
    session.request(FXP.READ, (w) => w.string(handle).uint64(offset).uint32(length))
      .then((reply) => onReply(offset, length, reply))
      .catch((e) => {
        error ??= e;
      })
      .finally(() => {
        inFlight--;
        signal();
      });
  };
  const issueMore = () => {
    while (!error && inFlight < maxRequests) {
      if (retries.length) {
        const [offset, length] = retries.shift()!;
        if (eof === undefined || offset < eof) issue(offset, length);
        continue;
      }
      if (eof !== undefined && next >= eof) return;
      if (next > frontier || next - written >= maxAhead) return;
      issue(next, chunk);
      next += chunk;
    }
  };

  // After an error no more reads are sent, but what arrived in order before the failure is
  // still written: the partial copy is then an exact prefix, ready for a resume.
  try {
    for (;;) {
      issueMore();
      const segment = segments.get(written);
      if (segment) {
        segments.delete(written);
        await sink.write(segment);
        written += segment.length;
        options.onBytes?.(written - start);
        continue;
      }
      if (inFlight === 0 && (retries.length === 0 || error)) {
        if (error) break;
        if (eof !== undefined && written === eof) break;
        throw new SftpError(`get ${path}: transfer stalled at ${written}`, -1, path);
      }
      await new Promise<void>((r) => (wake = r));
    }
  } catch (e) {
    error ??= e as Error;
  }
  while (inFlight > 0) await new Promise<void>((r) => (wake = r));
  if (error) throw error;
  return written;
}

/**
 * Writes everything `source` yields to file `handle` from offset `start`, with up to
 * `maxRequests` writes in flight. Resolves with the offset after the last byte written.
 *
 * @example
 * ```ts ignore
 * const end = await upload(session, handle, "/remote/file", source, { start: 0 });
 * ```
 */
export async function upload(
  session: SftpSession,
  handle: Uint8Array,
  path: string,
  source: ByteSource,
  options: PipelineOptions & { start?: number } = {},
): Promise<number> {
  const chunk = options.chunkSize ?? session.limits.maxWriteLength;
  const maxRequests = options.maxRequests ?? DEFAULT_REQUESTS;
  const start = options.start ?? 0;
  // uint32 length, byte type, uint32 id, string handle, uint64 offset, uint32 data length.
  const header = 4 + 1 + 4 + 4 + handle.length + 8 + 4;
  let offset = start;
  let acked = 0;
  let inFlight = 0;
  let ended = false;
  let error: Error | undefined;
  let wake: (() => void) | undefined;
  const signal = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };

  // Request buffers are reused once their reply is in: a fresh 255 KiB buffer per request
  // costs a zero fill and page faults on every byte uploaded.
  const spare: Uint8Array[] = [];
  const send = (buf: Uint8Array, at: number, n: number) => {
    const view = new DataView(buf.buffer, buf.byteOffset, header);
    buf[4] = FXP.WRITE;
    view.setUint32(9, handle.length);
    buf.set(handle, 13);
    view.setBigUint64(13 + handle.length, BigInt(at));
    view.setUint32(21 + handle.length, n);
    inFlight++;
    session.requestPacket(buf.subarray(0, header + n))
      .then((reply) => {
        session.expectStatus(reply, "write", path);
        spare.push(buf);
        acked += n;
        options.onBytes?.(acked);
      })
      .catch((e) => {
        error ??= e;
      })
      .finally(() => {
        inFlight--;
        signal();
      });
  };

  try {
    for (;;) {
      while (!error && !ended && inFlight < maxRequests) {
        const buf = spare.pop() ?? new Uint8Array(header + chunk);
        const n = await fill(source, buf.subarray(header));
        if (n < chunk) ended = true;
        if (n === 0 || error) break;
        send(buf, offset, n);
        offset += n;
      }
      if (inFlight === 0 && (ended || error)) break;
      await new Promise<void>((r) => (wake = r));
    }
  } catch (e) {
    error ??= e as Error;
  }
  while (inFlight > 0) await new Promise<void>((r) => (wake = r));
  if (error) throw error;
  return offset;
}

/** Reads from `source` until `buf` is full or the source ends. */
async function fill(source: ByteSource, buf: Uint8Array): Promise<number> {
  let n = 0;
  while (n < buf.length) {
    const got = await source.read(buf.subarray(n));
    if (got === null) break;
    n += got;
  }
  return n;
}

/** A `ByteSink` writing to a file, or to a `WritableStream`. */
export function toSink(target: Deno.FsFile | WritableStreamDefaultWriter<Uint8Array>): ByteSink {
  if ("ready" in target) {
    return {
      async write(data) {
        await target.ready;
        await target.write(data);
      },
    };
  }
  return {
    async write(data) {
      let off = 0;
      while (off < data.length) off += await target.write(data.subarray(off));
    },
  };
}

/** A `ByteSource` reading a file, or a `ReadableStream` (keeping what a read did not take). */
export function toSource(
  from: Deno.FsFile | ReadableStreamDefaultReader<Uint8Array>,
): ByteSource {
  if (!("releaseLock" in from)) return { read: (buf) => from.read(buf) };
  let pending: Uint8Array | undefined;
  return {
    async read(buf) {
      while (!pending || pending.length === 0) {
        const r = await from.read();
        if (r.done) return null;
        pending = r.value;
      }
      const n = Math.min(buf.length, pending.length);
      buf.set(pending.subarray(0, n));
      pending = pending.subarray(n);
      return n;
    },
  };
}
