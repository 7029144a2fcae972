/**
 * Reassembles handshake messages from record contents (RFC 8446 §5.1): a message may span
 * several records and one record may hold several messages. Memory is bounded by the
 * largest message allowed.
 *
 * @module
 */

import { concat } from "./_bytes.ts";
import { DecodeError, UnexpectedMessage } from "./errors.ts";

/** A complete handshake message. */
export interface HandshakeMessage {
  /** HandshakeType (RFC 8446 §4). */
  type: number;
  /** The body, without the 4-byte header. */
  body: Uint8Array;
  /** Header and body, as hashed into the transcript. */
  raw: Uint8Array;
}

/** Default limit for one handshake message: large certificate chains fit easily. */
export const MAX_HANDSHAKE_MESSAGE = 256 * 1024;

/**
 * Collects handshake record contents and yields whole messages.
 *
 * @example
 * ```ts
 * import { HandshakeReassembler } from "./handshake_reassembler.ts";
 * const r = new HandshakeReassembler();
 * r.push(new Uint8Array([20, 0, 0, 2, 0xaa]));
 * console.log(r.next()); // undefined: one body byte missing
 * r.push(new Uint8Array([0xbb]));
 * console.log(r.next()?.body); // Uint8Array [ 170, 187 ]
 * ```
 */
export class HandshakeReassembler {
  #pending: Uint8Array = new Uint8Array(0);
  /** Whether #pending is our own copy (else a view into the caller's record). */
  #owned = true;
  readonly #max: number;

  constructor(maxMessage = MAX_HANDSHAKE_MESSAGE) {
    this.#max = maxMessage;
  }

  /** Whether any handshake bytes are buffered (a key change must not happen then). */
  get hasPartial(): boolean {
    return this.#pending.length > 0;
  }

  /** Adds the content of one handshake record. Empty handshake records are not allowed. */
  push(content: Uint8Array): void {
    if (content.length === 0) throw new UnexpectedMessage("empty handshake record");
    if (this.#pending.length) {
      this.#pending = concat(this.#pending, content);
      this.#owned = true;
    } else {
      this.#pending = content;
      this.#owned = false;
    }
    if (this.#pending.length >= 4) {
      const len = (this.#pending[1] << 16) | (this.#pending[2] << 8) | this.#pending[3];
      if (len > this.#max) {
        throw new DecodeError(`handshake message of ${len} bytes exceeds the ${this.#max} limit`);
      }
    }
  }

  /** The next complete message, or `undefined` when more records are needed. */
  next(): HandshakeMessage | undefined {
    const p = this.#pending;
    const len = p.length >= 4 ? (p[1] << 16) | (p[2] << 8) | p[3] : -1;
    if (len > this.#max) {
      throw new DecodeError(`handshake message of ${len} bytes exceeds the ${this.#max} limit`);
    }
    if (len < 0 || p.length < 4 + len) {
      // Keep our own copy: the record buffer the view points into will be reused.
      if (!this.#owned) {
        this.#pending = p.slice();
        this.#owned = true;
      }
      return undefined;
    }
    const raw = p.subarray(0, 4 + len);
    this.#pending = p.subarray(4 + len);
    return { type: raw[0], body: raw.subarray(4), raw };
  }
}
