/**
 * A minimal DER reader for the private key containers OpenSSL writes (PKCS#1, PKCS#8, SEC1).
 *
 * @module
 */

import { KeyParseError } from "./errors.ts";

/** One DER element: tag and contents (a view into the input). */
export interface DerNode {
  tag: number;
  value: Uint8Array;
}

/** Reads DER elements one after another from `bytes`. */
export class DerReader {
  #pos = 0;
  constructor(readonly bytes: Uint8Array) {}

  get done(): boolean {
    return this.#pos >= this.bytes.length;
  }

  next(): DerNode {
    const b = this.bytes;
    if (this.#pos + 2 > b.length) throw new KeyParseError("truncated DER");
    const tag = b[this.#pos++];
    let len = b[this.#pos++];
    if (len & 0x80) {
      const n = len & 0x7f;
      if (n === 0 || n > 4) throw new KeyParseError("unsupported DER length");
      len = 0;
      for (let i = 0; i < n; i++) len = len * 256 + b[this.#pos++];
    }
    if (this.#pos + len > b.length) throw new KeyParseError("truncated DER");
    const value = b.subarray(this.#pos, this.#pos + len);
    this.#pos += len;
    return { tag, value };
  }

  /** Reads an element and checks its tag. */
  expect(tag: number, what: string): Uint8Array {
    const n = this.next();
    if (n.tag !== tag) throw new KeyParseError(`expected ${what} in DER`);
    return n.value;
  }

  /** An INTEGER as unsigned big-endian bytes without leading zeros. */
  integer(): Uint8Array {
    const v = this.expect(0x02, "INTEGER");
    let i = 0;
    while (i < v.length - 1 && v[i] === 0) i++;
    return v.subarray(i);
  }
}

/** Dotted string form of an OBJECT IDENTIFIER's contents. */
export function oidToString(v: Uint8Array): string {
  const parts = [Math.floor(v[0] / 40), v[0] % 40];
  let n = 0;
  for (let i = 1; i < v.length; i++) {
    n = n * 128 + (v[i] & 0x7f);
    if (!(v[i] & 0x80)) {
      parts.push(n);
      n = 0;
    }
  }
  return parts.join(".");
}
