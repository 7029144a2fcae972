import { deepEqual, equal, ok, throws } from "node:assert/strict";
import { sha256 } from "@noble/hashes/sha2.js";
import { concat, SshReader, SshWriter } from "./_wire.ts";
import {
  createKeyExchange,
  deriveKey,
  group14Prime,
  group16Prime,
  KEX_ALGORITHMS,
  modPow,
} from "./kex.ts";
import { KeyExchangeFailed, ProtocolError } from "./errors.ts";

const ctx = {
  clientVersion: "SSH-2.0-a",
  serverVersion: "SSH-2.0-b",
  clientKexInit: new Uint8Array([20, 1]),
  serverKexInit: new Uint8Array([20, 2]),
};

Deno.test("kex: RFC 3526 primes computed from π match the published ends", () => {
  const p14 = group14Prime().toString(16);
  equal(p14.length, 512);
  ok(p14.startsWith("ffffffffffffffffc90fdaa22168c234c4c6628b80dc1cd1"));
  ok(p14.endsWith("15728e5a8aacaa68ffffffffffffffff"));
  const p16 = group16Prime().toString(16);
  equal(p16.length, 1024);
  ok(p16.endsWith("4df435c934063199ffffffffffffffff"));
});

Deno.test("kex: deriveKey follows RFC 4253 §7.2 (K1 = H(K||H||X||sid), Kn extends)", () => {
  const k = new SshWriter().mpint(12345n).bytes().slice();
  const h = sha256(new Uint8Array([1]));
  const sid = sha256(new Uint8Array([2]));
  const out = deriveKey(sha256, k, h, "C", sid, 64);
  const k1 = sha256(concat(k, h, new Uint8Array([0x43]), sid));
  const k2 = sha256(concat(k, h, k1));
  deepEqual(out, concat(k1, k2));
});

Deno.test("kex: finite-field DH: the exchange hash covers e, f and K (RFC 4253 §8)", () => {
  const kex = createKeyExchange("diffie-hellman-group14-sha256", ctx);
  const [init] = kex.start();
  equal(init[0], 30);
  const e = new SshReader(init, 1).mpint();
  const p = group14Prime();
  const y = 123456789n;
  const f = modPow(2n, y, p);
  const hostKey = new SshWriter().string("ssh-ed25519").string(new Uint8Array(32)).bytes().slice();
  const reply = new SshWriter().byte(31).string(hostKey).mpint(f).string(new Uint8Array(8)).bytes()
    .slice();
  const { result } = kex.handle(reply);
  const k = modPow(e, y, p);
  const expectedK = new SshWriter().mpint(k).bytes();
  deepEqual(result!.sharedSecret, expectedK);
  const h = sha256(
    new SshWriter().string(ctx.clientVersion).string(ctx.serverVersion).string(ctx.clientKexInit)
      .string(ctx.serverKexInit).string(hostKey).mpint(e).mpint(f).raw(expectedK).bytes(),
  );
  deepEqual(result!.exchangeHash, h);
});

Deno.test("kex: DH refuses f outside (1, p-1)", () => {
  const kex = createKeyExchange("diffie-hellman-group14-sha256", ctx);
  kex.start();
  const reply = new SshWriter().byte(31).string(new Uint8Array(4)).mpint(1n).string(
    new Uint8Array(8),
  ).bytes();
  throws(() => kex.handle(reply), KeyExchangeFailed);
});

Deno.test("kex: group exchange refuses a group smaller than 2048 bits", () => {
  const kex = createKeyExchange("diffie-hellman-group-exchange-sha256", ctx);
  const [req] = kex.start();
  equal(req[0], 34);
  const group = new SshWriter().byte(31).mpint((1n << 1023n) + 1n).mpint(2n).bytes();
  throws(() => kex.handle(group), KeyExchangeFailed);
});

Deno.test("kex: group exchange hash includes min, n, max, p and g (RFC 4419 §3)", () => {
  const kex = createKeyExchange("diffie-hellman-group-exchange-sha256", ctx);
  kex.start();
  const p = group14Prime();
  const { send } = kex.handle(new SshWriter().byte(31).mpint(p).mpint(2n).bytes().slice());
  equal(send[0][0], 32);
  const e = new SshReader(send[0], 1).mpint();
  const f = modPow(2n, 99991n, p);
  const hostKey = new Uint8Array([0, 0, 0, 1, 120]);
  const { result } = kex.handle(
    new SshWriter().byte(33).string(hostKey).mpint(f).string(new Uint8Array(4)).bytes().slice(),
  );
  const k = new SshWriter().mpint(modPow(e, 99991n, p)).bytes();
  const h = sha256(
    new SshWriter().string(ctx.clientVersion).string(ctx.serverVersion).string(ctx.clientKexInit)
      .string(ctx.serverKexInit).string(hostKey).uint32(2048).uint32(3072).uint32(8192).mpint(p)
      .mpint(2n).mpint(e).mpint(f).raw(k).bytes(),
  );
  deepEqual(result!.exchangeHash, h);
});

Deno.test("kex: X25519 refuses a zero shared secret (RFC 8731 §3)", () => {
  const kex = createKeyExchange("curve25519-sha256", ctx);
  kex.start();
  const reply = new SshWriter().byte(31).string(new Uint8Array(4)).string(new Uint8Array(32))
    .string(new Uint8Array(8)).bytes();
  throws(() => kex.handle(reply), KeyExchangeFailed);
});

Deno.test("kex: ECDH refuses a point not on the curve", () => {
  const kex = createKeyExchange("ecdh-sha2-nistp256", ctx);
  const [init] = kex.start();
  equal(new SshReader(init, 1).string().length, 65);
  const bad = new Uint8Array(65);
  bad[0] = 4;
  bad[1] = 1;
  const reply = new SshWriter().byte(31).string(new Uint8Array(4)).string(bad).string(
    new Uint8Array(8),
  )
    .bytes();
  throws(() => kex.handle(reply), KeyExchangeFailed);
});

Deno.test("kex: a message of the wrong type is a protocol error", () => {
  for (const name of KEX_ALGORITHMS) {
    const kex = createKeyExchange(name, ctx);
    kex.start();
    throws(() => kex.handle(new Uint8Array([99])), ProtocolError, name);
  }
});
