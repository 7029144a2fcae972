import { deepEqual, equal, notDeepEqual, rejects, throws } from "node:assert/strict";
import { x25519 } from "@noble/curves/ed25519.js";
import { ml_kem768 } from "@noble/post-quantum/ml-kem.js";
import { concat } from "./_bytes.ts";
import { memoryConnPair } from "./_memory_conn.ts";
import { ScriptedServer } from "./_test_server.ts";
import { IllegalParameter } from "./errors.ts";
import {
  DEFAULT_GROUPS,
  DEFAULT_KEY_SHARE_GROUPS,
  generateKeyShare,
  groupName,
  NAMED_GROUPS,
  respondToKeyShare,
} from "./key_exchange.ts";
import { connect } from "./tls_connection.ts";
import { generateCertificateAuthority, issueCertificate } from "./x509/generate.ts";

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
  // Build the server's share by hand from the two halves of the client's (draft-ietf-tls-
  // ecdhe-mlkem §3): ML-KEM-768 encapsulation key then X25519 public key; the server answers
  // ML-KEM ciphertext then X25519 public key, and the secret is ML-KEM secret || X25519 secret.
  const kem = ml_kem768.encapsulate(client.publicKey.subarray(0, 1184));
  equal(kem.cipherText.length, 1088);
  const ecdh = x25519.keygen();
  const secret = await client.complete(concat(kem.cipherText, ecdh.publicKey));
  deepEqual(secret.subarray(0, 32), kem.sharedSecret);
  deepEqual(
    secret.subarray(32),
    x25519.getSharedSecret(ecdh.secretKey, client.publicKey.subarray(1184)),
  );
  throws(() => client.complete(new Uint8Array(100)), IllegalParameter);
});

Deno.test("key exchange: by default the ClientHello offers X25519MLKEM768 first, with shares for it and X25519", async () => {
  const ca = await generateCertificateAuthority();
  const leaf = await issueCertificate(ca, { dnsNames: ["server.test"] });
  const [c, s] = memoryConnPair();
  const server = new ScriptedServer(s, { chain: [leaf] });
  const serverDone = server.handshake();
  const tls = await connect(c, { serverName: "server.test", caCerts: ca.certPem });
  await serverDone;
  const hello = server.clientHello;
  // supported_groups (RFC 8446 §4.2.7), most preferred first.
  deepEqual(hello.supportedGroups, [
    NAMED_GROUPS.X25519MLKEM768,
    NAMED_GROUPS.x25519,
    NAMED_GROUPS.secp256r1,
    NAMED_GROUPS.secp384r1,
  ]);
  deepEqual(hello.supportedGroups.map(groupName), [...DEFAULT_GROUPS]);
  // key_share (RFC 8446 §4.2.8): entries in the same order as supported_groups.
  deepEqual([...hello.keyShares.keys()], [NAMED_GROUPS.X25519MLKEM768, NAMED_GROUPS.x25519]);
  deepEqual([...hello.keyShares.keys()].map(groupName), [...DEFAULT_KEY_SHARE_GROUPS]);
  const hybrid = hello.keyShares.get(NAMED_GROUPS.X25519MLKEM768)!;
  equal(hybrid.length, 1184 + 32);
  // The hybrid share's X25519 half is not the separate X25519 share (fresh keys for each).
  notDeepEqual(hybrid.subarray(1184), hello.keyShares.get(NAMED_GROUPS.x25519));
  equal(hello.keyShares.get(NAMED_GROUPS.x25519)!.length, 32);
  equal(tls.handshake.group, "X25519MLKEM768");
  equal(tls.handshake.helloRetryRequest, false);
  tls.close();
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
