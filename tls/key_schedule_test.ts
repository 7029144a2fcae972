import { equal } from "node:assert/strict";
import { sha256 } from "@noble/hashes/sha2.js";
import { x25519 } from "@noble/curves/ed25519.js";
import { concat, fromHex, toHex } from "./_bytes.ts";
import { finishedVerifyData, hkdfExpandLabel, KeySchedule } from "./key_schedule.ts";
import { rfc8448 as v } from "./testdata/rfc8448.ts";

const none = new Uint8Array(0);
const msg = (name: keyof typeof v) => fromHex(v[name]);

Deno.test("RFC 8448 §3: X25519 shared secret", () => {
  const shared = x25519.getSharedSecret(msg("clientPrivateKey"), msg("serverPublicKey"));
  equal(toHex(shared), v.sharedSecret);
  equal(toHex(x25519.getPublicKey(msg("clientPrivateKey"))), v.clientPublicKey);
});

Deno.test("RFC 8448 §3: early, handshake and master secrets and traffic keys", () => {
  const ks = new KeySchedule(sha256);
  equal(toHex(ks.earlySecret), v.earlySecret);
  const helloHash = sha256(concat(msg("clientHello"), msg("serverHello")));
  const hs = ks.handshake(msg("sharedSecret"), helloHash);
  equal(toHex(hs.handshakeSecret), v.handshakeSecret);
  equal(toHex(hs.clientSecret), v.clientHandshakeTrafficSecret);
  equal(toHex(hs.serverSecret), v.serverHandshakeTrafficSecret);
  equal(toHex(hkdfExpandLabel(sha256, hs.serverSecret, "key", none, 16)), v.serverHandshakeKey);
  equal(toHex(hkdfExpandLabel(sha256, hs.serverSecret, "iv", none, 12)), v.serverHandshakeIv);
  equal(toHex(hkdfExpandLabel(sha256, hs.clientSecret, "key", none, 16)), v.clientHandshakeKey);
  equal(toHex(hkdfExpandLabel(sha256, hs.clientSecret, "iv", none, 12)), v.clientHandshakeIv);

  // Server Finished over CH..CertificateVerify.
  const throughCv = concat(
    msg("clientHello"),
    msg("serverHello"),
    msg("encryptedExtensions"),
    msg("certificate"),
    msg("certificateVerify"),
  );
  const serverVerify = finishedVerifyData(sha256, hs.serverSecret, sha256(throughCv));
  equal(toHex(serverVerify), v.serverFinished.slice(8));

  const throughServerFinished = concat(throughCv, msg("serverFinished"));
  const app = ks.application(sha256(throughServerFinished));
  equal(toHex(app.masterSecret), v.masterSecret);
  equal(toHex(app.clientSecret), v.clientApplicationTrafficSecret);
  equal(toHex(app.serverSecret), v.serverApplicationTrafficSecret);
  equal(toHex(app.exporterSecret), v.exporterMasterSecret);
  equal(toHex(hkdfExpandLabel(sha256, app.clientSecret, "key", none, 16)), v.clientApplicationKey);
  equal(toHex(hkdfExpandLabel(sha256, app.clientSecret, "iv", none, 12)), v.clientApplicationIv);

  // Client Finished over CH..server Finished, and the resumption master secret after it.
  const clientVerify = finishedVerifyData(sha256, hs.clientSecret, sha256(throughServerFinished));
  equal(toHex(clientVerify), v.clientFinished.slice(8));
  const rms = ks.resumption(sha256(concat(throughServerFinished, msg("clientFinished"))));
  equal(toHex(rms), v.resumptionMasterSecret);
});
