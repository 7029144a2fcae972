/**
 * Initial sequence numbers (RFC 6528) and SYN cookies (RFC 4987 §3.6), both from a keyed hash
 * of the connection's endpoints so an off-path attacker cannot predict them.
 *
 * @module
 */
import { sha256 } from "@noble/hashes/sha2.js";

function tupleHash(
  secret: Uint8Array,
  a: number,
  b: number,
  c: number,
  d: number,
  extra: number,
): number {
  const input = new Uint8Array(secret.length + 20);
  input.set(secret, 0);
  const view = new DataView(input.buffer, secret.length);
  view.setUint32(0, a);
  view.setUint32(4, b);
  view.setUint32(8, c);
  view.setUint32(12, d);
  view.setUint32(16, extra >>> 0);
  const h = sha256(input);
  return ((h[0] << 24) | (h[1] << 16) | (h[2] << 8) | h[3]) >>> 0;
}

/**
 * ISN = M + F(localip, localport, remoteip, remoteport, secretkey) with M a 4 µs clock
 * (RFC 6528 §3).
 *
 * @example
 * ```ts
 * import { IsnGenerator } from "./isn.ts";
 * const isn = new IsnGenerator();
 * const a = isn.next(1, 1000, 2, 80, 0);
 * console.log(a === isn.next(1, 1000, 2, 80, 0)); // true: same tuple, same instant
 * ```
 */
export class IsnGenerator {
  readonly #secret: Uint8Array;

  /** @param secret key for the hash (default: 16 random bytes) */
  constructor(secret: Uint8Array = crypto.getRandomValues(new Uint8Array(16))) {
    this.#secret = secret;
  }

  /** The ISN for a connection at `nowMs`. */
  next(
    localAddress: number,
    localPort: number,
    remoteAddress: number,
    remotePort: number,
    nowMs: number,
  ): number {
    const clock = Math.floor(nowMs * 250) >>> 0; // 4 µs ticks
    return (clock +
      tupleHash(this.#secret, localAddress, localPort, remoteAddress, remotePort, 0)) >>> 0;
  }
}

/** MSS values a cookie can encode (3 bits), ascending. */
const COOKIE_MSS = [536, 1200, 1360, 1440, 1460, 4312, 8960, 65495];
/** Cookie time slot length, ms (64 s, as Linux). */
const COOKIE_SLOT = 64_000;

/**
 * SYN cookies: a SYN-ACK whose ISN encodes what is needed to build the connection when the final
 * ACK comes back, so a SYN flood needs no memory per SYN.
 * Layout: 5 bits time slot, 3 bits MSS index, 24 bits keyed hash.
 *
 * @example
 * ```ts
 * import { SynCookies } from "./isn.ts";
 * const cookies = new SynCookies();
 * const isn = cookies.make(1, 80, 2, 40000, 0x1000, 1460, 0);
 * console.log(cookies.check(1, 80, 2, 40000, 0x1001, (isn + 1) >>> 0, 1000)); // 1460
 * ```
 */
export class SynCookies {
  readonly #secret: Uint8Array;

  /** @param secret key for the hash (default: 16 random bytes) */
  constructor(secret: Uint8Array = crypto.getRandomValues(new Uint8Array(16))) {
    this.#secret = secret;
  }

  /** The cookie ISN for a SYN with sequence `clientIsn` offering `mss`. */
  make(
    localAddress: number,
    localPort: number,
    remoteAddress: number,
    remotePort: number,
    clientIsn: number,
    mss: number,
    nowMs: number,
  ): number {
    let index = 0;
    for (let i = 0; i < COOKIE_MSS.length; i++) if (COOKIE_MSS[i] <= mss) index = i;
    const slot = Math.floor(nowMs / COOKIE_SLOT) & 31;
    const hash = this.#hash(
      localAddress,
      localPort,
      remoteAddress,
      remotePort,
      clientIsn,
      slot,
      index,
    );
    return ((slot << 27) | (index << 24) | (hash & 0xffffff)) >>> 0;
  }

  /**
   * Checks the ACK of a cookie SYN-ACK (`seq` is the ACK's sequence = client ISN + 1,
   * `ack` = cookie + 1). Returns the encoded MSS, or undefined when the cookie is invalid or
   * older than two slots.
   */
  check(
    localAddress: number,
    localPort: number,
    remoteAddress: number,
    remotePort: number,
    seq: number,
    ack: number,
    nowMs: number,
  ): number | undefined {
    const cookie = (ack - 1) >>> 0;
    const clientIsn = (seq - 1) >>> 0;
    const slot = cookie >>> 27;
    const index = (cookie >>> 24) & 7;
    const current = Math.floor(nowMs / COOKIE_SLOT) & 31;
    const age = (current - slot + 32) & 31;
    if (age > 1) return undefined;
    const hash = this.#hash(
      localAddress,
      localPort,
      remoteAddress,
      remotePort,
      clientIsn,
      slot,
      index,
    );
    return (hash & 0xffffff) === (cookie & 0xffffff) ? COOKIE_MSS[index] : undefined;
  }

  #hash(
    la: number,
    lp: number,
    ra: number,
    rp: number,
    isn: number,
    slot: number,
    index: number,
  ): number {
    return tupleHash(this.#secret, la, ((lp << 16) | rp) >>> 0, ra, isn, (slot << 3) | index);
  }
}
