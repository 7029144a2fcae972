/**
 * AES-GCM from the system's OpenSSL libcrypto through FFI, for bulk packet protection.
 *
 * WebCrypto's AES-GCM runs on the JavaScript thread at about 0.6 GB/s here, which caps a
 * transfer well below what sshd sustains; libcrypto's (AES-NI, carry-less multiply) runs at
 * about 5 GB/s, in place, with no promise per packet. It is used only when the program already
 * holds the FFI permission (this module never prompts) and a libcrypto loads; otherwise
 * {@linkcode nativeAesGcm} returns `undefined` and callers keep to WebCrypto and noble.
 *
 * @module
 */

import { ffiPermitted } from "../drivers/_libc.ts";

/** EVP_{Encrypt,Decrypt}{Init_ex,Update,Final_ex} share their signatures. */
const INIT = {
  parameters: ["pointer", "pointer", "pointer", "buffer", "buffer"],
  result: "i32",
} as const;
const UPDATE = {
  parameters: ["pointer", "buffer", "buffer", "buffer", "i32"],
  result: "i32",
} as const;
const FINAL = { parameters: ["pointer", "buffer", "buffer"], result: "i32" } as const;

const SYMBOLS = {
  EVP_CIPHER_CTX_new: { parameters: [], result: "pointer" },
  EVP_CIPHER_CTX_free: { parameters: ["pointer"], result: "void" },
  EVP_aes_128_gcm: { parameters: [], result: "pointer" },
  EVP_aes_256_gcm: { parameters: [], result: "pointer" },
  EVP_EncryptInit_ex: INIT,
  EVP_EncryptUpdate: UPDATE,
  EVP_EncryptFinal_ex: FINAL,
  EVP_DecryptInit_ex: INIT,
  EVP_DecryptUpdate: UPDATE,
  EVP_DecryptFinal_ex: FINAL,
  EVP_CIPHER_CTX_ctrl: { parameters: ["pointer", "i32", "i32", "buffer"], result: "i32" },
} as const;

type Libcrypto = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];

/** EVP_CTRL_GCM_GET_TAG and EVP_CTRL_GCM_SET_TAG (openssl/evp.h). */
const GET_TAG = 0x10;
const SET_TAG = 0x11;

/** Library names tried in order: OpenSSL 3 and 1.1 on Linux, then macOS (Homebrew). */
const NAMES = [
  "libcrypto.so.3",
  "libcrypto.so.1.1",
  "libcrypto.so",
  "libcrypto.3.dylib",
  "/opt/homebrew/opt/openssl@3/lib/libcrypto.3.dylib",
  "/usr/local/opt/openssl@3/lib/libcrypto.3.dylib",
];

let loaded: Libcrypto | null | undefined;
let enabled = true;

function library(): Libcrypto | undefined {
  if (!enabled) return undefined;
  if (loaded === undefined) {
    loaded = null;
    if (ffiPermitted()) {
      for (const name of NAMES) {
        try {
          const lib = Deno.dlopen(name, SYMBOLS).symbols;
          if (selfTest(lib)) {
            loaded = lib;
            break;
          }
        } catch { /* try the next name */ }
      }
    }
  }
  return loaded ?? undefined;
}

const hex = (s: string) => Uint8Array.from(s.match(/../g)!, (b) => parseInt(b, 16));

/**
 * The library must reproduce a published AES-GCM vector (McGrew and Viega, "The Galois/Counter
 * Mode of Operation", test case 2: zero key, IV and block) before it carries any packet, so a
 * library with another ABI or constants is never used.
 */
function selfTest(lib: Libcrypto): boolean {
  try {
    const gcm = new NativeAesGcm(lib, new Uint8Array(16));
    const iv = new Uint8Array(12);
    const body = new Uint8Array(16);
    const tag = new Uint8Array(16);
    gcm.seal(iv, new Uint8Array(0), body, tag);
    const same = (a: Uint8Array, b: Uint8Array) => a.every((x, i) => x === b[i]);
    if (!same(body, hex("0388dace60b6a392f328c2b971b2fe78"))) return false;
    if (!same(tag, hex("ab6e47d42cec13bdf53a67b21257bddf"))) return false;
    const out = new Uint8Array(16);
    const badTag = tag.slice();
    badTag[15] ^= 1;
    return gcm.open(iv, new Uint8Array(0), body, tag, out) && out.every((b) => b === 0) &&
      !gcm.open(iv, new Uint8Array(0), body, badTag, out);
  } catch {
    return false;
  }
}

/**
 * Turns the libcrypto path on or off for codecs created afterwards (on by default, when
 * available); for tests and benchmarks that compare it with WebCrypto.
 */
export function setNativeCrypto(on: boolean): void {
  enabled = on;
}

/** Whether codecs created now would use libcrypto. */
export function nativeCryptoAvailable(): boolean {
  return library() !== undefined;
}

/** Frees EVP contexts whose codec was garbage-collected (OpenSSL wipes the key schedule). */
const contexts = new FinalizationRegistry<{ lib: Libcrypto; ctx: Deno.PointerObject }>(
  ({ lib, ctx }) => lib.EVP_CIPHER_CTX_free(ctx),
);

/** One AES-GCM key in libcrypto: 12-byte IVs, 16-byte tags. */
export class NativeAesGcm {
  readonly #lib: Libcrypto;
  readonly #cipher: Deno.PointerValue;
  readonly #key: Uint8Array;
  #enc: Deno.PointerObject | undefined;
  #dec: Deno.PointerObject | undefined;
  readonly #outLength = new Uint8Array(4);

  /** Use {@linkcode nativeAesGcm}. */
  constructor(lib: Libcrypto, key: Uint8Array) {
    this.#lib = lib;
    this.#cipher = key.length === 16 ? lib.EVP_aes_128_gcm() : lib.EVP_aes_256_gcm();
    this.#key = key.slice();
  }

  #context(encrypt: boolean): Deno.PointerObject {
    const lib = this.#lib;
    const ctx = lib.EVP_CIPHER_CTX_new();
    if (ctx === null) throw new Error("libcrypto: EVP_CIPHER_CTX_new failed");
    contexts.register(this, { lib, ctx });
    const init = encrypt ? lib.EVP_EncryptInit_ex : lib.EVP_DecryptInit_ex;
    if (init(ctx, this.#cipher, null, this.#key, null) !== 1) {
      throw new Error("libcrypto: cipher init failed");
    }
    return ctx;
  }

  /** Encrypts `body` in place, authenticating `aad` too, and writes the 16-byte tag to `tag`. */
  seal(iv: Uint8Array, aad: Uint8Array, body: Uint8Array, tag: Uint8Array): void {
    if (iv.length !== 12 || tag.length < 16) throw new RangeError("bad IV or tag length");
    const lib = this.#lib;
    const ctx = this.#enc ??= this.#context(true);
    const out = this.#outLength;
    if (
      lib.EVP_EncryptInit_ex(ctx, null, null, null, iv) !== 1 ||
      lib.EVP_EncryptUpdate(ctx, null, out, aad, aad.length) !== 1 ||
      lib.EVP_EncryptUpdate(ctx, body, out, body, body.length) !== 1 ||
      lib.EVP_EncryptFinal_ex(ctx, body, out) !== 1 ||
      lib.EVP_CIPHER_CTX_ctrl(ctx, GET_TAG, 16, tag) !== 1
    ) {
      throw new Error("libcrypto: AES-GCM encryption failed");
    }
  }

  /**
   * Decrypts `ciphertext` into `out` (at least as long) if `tag` authenticates it and `aad`;
   * returns false, with `out` to be discarded, if it does not.
   */
  open(
    iv: Uint8Array,
    aad: Uint8Array,
    ciphertext: Uint8Array,
    tag: Uint8Array,
    out: Uint8Array,
  ): boolean {
    if (iv.length !== 12 || tag.length !== 16 || out.length < ciphertext.length) {
      throw new RangeError("bad IV, tag or output length");
    }
    const lib = this.#lib;
    const ctx = this.#dec ??= this.#context(false);
    const n = this.#outLength;
    if (
      lib.EVP_DecryptInit_ex(ctx, null, null, null, iv) !== 1 ||
      lib.EVP_DecryptUpdate(ctx, null, n, aad, aad.length) !== 1 ||
      lib.EVP_DecryptUpdate(ctx, out, n, ciphertext, ciphertext.length) !== 1 ||
      lib.EVP_CIPHER_CTX_ctrl(ctx, SET_TAG, 16, tag) !== 1
    ) {
      throw new Error("libcrypto: AES-GCM decryption failed");
    }
    // GCM's final step writes no bytes; it compares the tag.
    return lib.EVP_DecryptFinal_ex(ctx, out, n) === 1;
  }
}

/**
 * An AES-GCM engine for a 16- or 32-byte key from libcrypto, or `undefined` when FFI is not
 * permitted, no libcrypto loads, or it was turned off with {@linkcode setNativeCrypto}.
 *
 * @example
 * ```ts
 * import { nativeAesGcm } from "./_libcrypto.ts";
 * const gcm = nativeAesGcm(new Uint8Array(16));
 * if (gcm) {
 *   const body = new Uint8Array(64);
 *   const tag = new Uint8Array(16);
 *   gcm.seal(new Uint8Array(12), new Uint8Array(4), body, tag);
 * }
 * ```
 */
export function nativeAesGcm(key: Uint8Array): NativeAesGcm | undefined {
  if (key.length !== 16 && key.length !== 32) return undefined;
  const lib = library();
  return lib ? new NativeAesGcm(lib, key) : undefined;
}
