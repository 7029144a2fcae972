/**
 * Binary digits of π, computed once with Machin's formula. Blowfish's initial state
 * (the fractional hex digits of π) and the RFC 3526 MODP primes are both defined from π,
 * so computing it here replaces two large tables.
 *
 * @module
 */

let cached: { bits: number; value: bigint } | undefined;

function arctanInverse(x: bigint, one: bigint): bigint {
  // atan(1/x) = Σ (-1)^k / ((2k+1) x^(2k+1)), in fixed point scaled by `one`.
  const x2 = x * x;
  let power = one / x;
  let sum = power;
  let k = 1n;
  let sign = -1n;
  while (power !== 0n) {
    power /= x2;
    sum += sign * (power / (2n * k + 1n));
    sign = -sign;
    k++;
  }
  return sum;
}

/** floor(π · 2^bits), exact for bits up to the guard margin used. */
export function piFixed(bits: number): bigint {
  if (cached && cached.bits >= bits) return cached.value >> BigInt(cached.bits - bits);
  const guard = 64;
  const one = 1n << BigInt(bits + guard);
  const pi = 16n * arctanInverse(5n, one) - 4n * arctanInverse(239n, one);
  const value = pi >> BigInt(guard);
  cached = { bits, value };
  return value;
}

/** The first `count` 32-bit words of π's fractional part (0x243F6A88, 0x85A308D3, ...). */
export function piFractionWords(count: number): Uint32Array {
  const bits = count * 32;
  const frac = piFixed(bits) & ((1n << BigInt(bits)) - 1n);
  const out = new Uint32Array(count);
  let v = frac;
  for (let i = count - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffffffffn);
    v >>= 32n;
  }
  return out;
}
