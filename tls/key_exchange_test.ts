import { deepEqual, equal, rejects, throws } from "node:assert/strict";
import { ml_kem768 } from "@noble/post-quantum/ml-kem.js";
import { IllegalParameter } from "./errors.ts";
import { generateKeyShare, groupName, respondToKeyShare } from "./key_exchange.ts";

for (const group of ["X25519MLKEM768", "x25519", "secp256r1", "secp384r1"] as const) {
  Deno.test(`key exchange ${group}: client and server derive the same secret`, async () => {
    const client = await generateKeyShare(group);
    const server = await respondToKeyShare(group, client.publicKey);
    deepEqual(await client.complete(server.publicKey), server.sharedSecret);
  });
}

Deno.test("key exchange X25519MLKEM768: share layout is ML-KEM first, then X25519", async () => {
  const client = await generateKeyShare("X25519MLKEM768");
  equal(client.publicKey.length, 1184 + 32);
  const server = await respondToKeyShare("X25519MLKEM768", client.publicKey);
  equal(server.publicKey.length, 1088 + 32);
  equal(server.sharedSecret.length, 64);
  // The first 32 bytes of the secret are the ML-KEM shared secret (draft-ietf-tls-ecdhe-mlkem).
  const kemOnly = ml_kem768.encapsulate(client.publicKey.subarray(0, 1184));
  equal(kemOnly.cipherText.length, 1088);
  throws(() => client.complete(new Uint8Array(100)), IllegalParameter);
});

Deno.test("key exchange: low-order X25519 points and off-curve P-256 points are illegal_parameter", async () => {
  const x = await generateKeyShare("x25519");
  await rejects(async () => await x.complete(new Uint8Array(32)), IllegalParameter);
  const p = await generateKeyShare("secp256r1");
  const bad = new Uint8Array(65);
  bad[0] = 4;
  bad[64] = 1;
  await rejects(p.complete(bad), IllegalParameter);
  await rejects(p.complete(new Uint8Array(33).fill(2)), IllegalParameter); // compressed form
});

Deno.test("key exchange: group names", () => {
  equal(groupName(0x11ec), "X25519MLKEM768");
  equal(groupName(0x0018), "secp384r1");
  equal(groupName(0x0019), undefined);
});
