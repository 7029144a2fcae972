/**
 * Blowfish (Schneier, 1993) as used by bcrypt_pbkdf: only the "expensive key schedule"
 * variants and ECB encryption that OpenBSD's bcrypt_pbkdf needs.
 *
 * @module
 */

import { piFractionWords } from "./_pi.ts";

let initial: Uint32Array | undefined;

/** P (18 words) followed by S0..S3 (4 × 256 words), from π's fractional hex digits. */
function initialState(): Uint32Array {
  initial ??= piFractionWords(18 + 1024);
  return initial;
}

/** Blowfish state: P-array and four S-boxes, in one array. */
export class Blowfish {
  readonly p: Uint32Array;
  readonly s: Uint32Array;
  constructor() {
    const init = initialState();
    this.p = init.slice(0, 18);
    this.s = init.slice(18);
  }

  #f(x: number): number {
    const s = this.s;
    return (((s[x >>> 24] + s[256 + ((x >>> 16) & 0xff)]) ^ s[512 + ((x >>> 8) & 0xff)]) +
      s[768 + (x & 0xff)]) >>> 0;
  }

  /** Encrypts one 64-bit block given as two words; writes the result to `out[0..1]`. */
  encipher(l: number, r: number, out: Uint32Array, at: number): void {
    const p = this.p;
    l ^= p[0];
    for (let i = 1; i <= 16; i += 2) {
      r ^= this.#f(l >>> 0) ^ p[i];
      l ^= this.#f(r >>> 0) ^ p[i + 1];
    }
    out[at] = (r ^ p[17]) >>> 0;
    out[at + 1] = l >>> 0;
  }

  /** Reads a big-endian word from `data`, cycling over it (Blowfish_stream2word). */
  static word(data: Uint8Array, pos: { j: number }): number {
    let w = 0;
    for (let i = 0; i < 4; i++) {
      if (pos.j >= data.length) pos.j = 0;
      w = (w << 8) | data[pos.j++];
    }
    return w >>> 0;
  }

  /** The salted key schedule (Blowfish_expandstate). */
  expandState(data: Uint8Array, key: Uint8Array): void {
    const pos = { j: 0 };
    for (let i = 0; i < 18; i++) this.p[i] ^= Blowfish.word(key, pos);
    pos.j = 0;
    const block = new Uint32Array(2);
    for (let i = 0; i < 18; i += 2) {
      block[0] ^= Blowfish.word(data, pos);
      block[1] ^= Blowfish.word(data, pos);
      this.encipher(block[0], block[1], block, 0);
      this.p[i] = block[0];
      this.p[i + 1] = block[1];
    }
    for (let i = 0; i < 1024; i += 2) {
      block[0] ^= Blowfish.word(data, pos);
      block[1] ^= Blowfish.word(data, pos);
      this.encipher(block[0], block[1], block, 0);
      this.s[i] = block[0];
      this.s[i + 1] = block[1];
    }
  }

  /** The unsalted key schedule (Blowfish_expand0state). */
  expand0State(key: Uint8Array): void {
    const pos = { j: 0 };
    for (let i = 0; i < 18; i++) this.p[i] ^= Blowfish.word(key, pos);
    const block = new Uint32Array(2);
    for (let i = 0; i < 18; i += 2) {
      this.encipher(block[0], block[1], block, 0);
      this.p[i] = block[0];
      this.p[i + 1] = block[1];
    }
    for (let i = 0; i < 1024; i += 2) {
      this.encipher(block[0], block[1], block, 0);
      this.s[i] = block[0];
      this.s[i + 1] = block[1];
    }
  }

  /** Encrypts consecutive 64-bit blocks (pairs of words) in place, in ECB mode. */
  encryptWords(words: Uint32Array): void {
    for (let i = 0; i < words.length; i += 2) this.encipher(words[i], words[i + 1], words, i);
  }
}
