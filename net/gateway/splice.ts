/**
 * Joins two byte streams both ways, with backpressure and half-close carried through: what one
 * side sends, the other receives; a FIN on one side becomes a FIN on the other; a reset on one
 * side resets the other.
 *
 * @module
 */
import type { Conn } from "../conn.ts";

/** A Conn that can also be dropped with a reset. */
export interface AbortableConn extends Conn {
  /** Closes with RST, if the transport can. */
  abort?(): void;
}

async function writeAll(to: Conn, bytes: Uint8Array): Promise<void> {
  let done = 0;
  while (done < bytes.length) done += await to.write(done === 0 ? bytes : bytes.subarray(done));
}

/** Bytes moved in each direction by {@linkcode splice}. */
export interface SpliceResult {
  /** Bytes from `a` to `b`. */
  aToB: number;
  /** Bytes from `b` to `a`. */
  bToA: number;
  /** Whether either side failed (reset, error) rather than closing cleanly. */
  failed: boolean;
}

/**
 * Pumps `a` → `b` and `b` → `a` until both directions end, then closes both.
 *
 * @example
 * ```ts ignore
 * const outside = await Deno.connect({ hostname: "127.0.0.1", port: 80 });
 * await splice(insideConn, outside);
 * ```
 */
export async function splice(
  a: AbortableConn,
  b: AbortableConn,
  bufferSize = 128 * 1024,
): Promise<SpliceResult> {
  let failed = false;
  const result = { aToB: 0, bToA: 0 };
  const pump = async (from: AbortableConn, to: AbortableConn, count: "aToB" | "bToA") => {
    // Each direction has its own buffer: a read waits while the write before it drains
    // (backpressure), so at most one buffer per direction is in flight.
    const buffer = new Uint8Array(bufferSize);
    try {
      for (;;) {
        const n = await from.read(buffer);
        if (n === null) break;
        await writeAll(to, buffer.subarray(0, n));
        result[count] += n;
      }
      await to.closeWrite();
    } catch {
      if (!failed) {
        failed = true;
        // One side failed: make the other see a reset, not a clean close.
        for (const c of [a, b]) {
          try {
            if (c.abort) c.abort();
            else c.close();
          } catch { /* already closed */ }
        }
      }
    }
  };
  await Promise.all([pump(a, b, "aToB"), pump(b, a, "bToA")]);
  for (const c of [a, b]) {
    try {
      c.close();
    } catch { /* already closed */ }
  }
  return { ...result, failed };
}
