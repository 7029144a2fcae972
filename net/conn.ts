/**
 * The byte-stream shape shared by usernet TCP connections and `Deno.Conn`.
 *
 * TLS, HTTP and SSH clients accept any value of this shape, so they run over
 * usernet's TCP and over `Deno.connect` alike.
 *
 * @module
 */

/**
 * A bidirectional byte stream with the reading and writing half of `Deno.Conn`.
 *
 * @example Wrap a Deno TCP connection
 * ```ts ignore
 * import type { Conn } from "./conn.ts";
 * const conn: Conn = await Deno.connect({ hostname: "127.0.0.1", port: 443 });
 * ```
 */
export interface Conn {
  /** Reads up to `p.byteLength` bytes into `p`; resolves to the count, or `null` at end of stream. */
  read(p: Uint8Array): Promise<number | null>;
  /** Writes some of `p`; resolves to the count written. */
  write(p: Uint8Array): Promise<number>;
  /** Shuts down the writing half (sends FIN on TCP). */
  closeWrite(): Promise<void>;
  /** Closes both halves and releases the connection. */
  close(): void;
}
