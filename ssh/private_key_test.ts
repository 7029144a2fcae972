import { deepEqual, equal, ok, rejects, throws } from "node:assert/strict";
import { SshPrivateKey } from "./private_key.ts";
import { fromBase64, parsePublicKey, verifySignature } from "./host_key.ts";
import { KeyParseError, WrongPassphrase } from "./errors.ts";

const dir = new URL("../tests/fixtures/ssh/", import.meta.url);
const read = (name: string) => Deno.readTextFileSync(new URL(name, dir));
const pubBlob = (name: string) => fromBase64(read(name).trim().split(/\s+/)[1]);
const data = new TextEncoder().encode("data to sign");

const cases: Array<[string, string, string | undefined, string]> = [
  ["id_ed25519", "ssh-ed25519", undefined, "fixture-ed25519"],
  ["id_ed25519_pw", "ssh-ed25519", "correct horse", "fixture-ed25519-pw"],
  ["id_ed25519_pw_cbc", "ssh-ed25519", "correct horse", "cbc"],
  ["id_ed25519_pw_gcm", "ssh-ed25519", "correct horse", "gcm"],
  ["id_ecdsa256", "ecdsa-sha2-nistp256", undefined, "fixture-ecdsa256"],
  ["id_ecdsa384", "ecdsa-sha2-nistp384", undefined, "fixture-ecdsa384"],
  ["id_ecdsa384_pw", "ecdsa-sha2-nistp384", "correct horse", "fixture-ecdsa384-pw"],
  ["id_rsa", "ssh-rsa", undefined, "fixture-rsa"],
  ["id_rsa_pw", "ssh-rsa", "correct horse", "fixture-rsa-pw"],
  ["rsa_pkcs1.pem", "ssh-rsa", undefined, ""],
  ["rsa_pkcs8.pem", "ssh-rsa", undefined, ""],
  ["ec_sec1.pem", "ecdsa-sha2-nistp256", undefined, ""],
  ["ec_pkcs8.pem", "ecdsa-sha2-nistp384", undefined, ""],
];

for (const [file, type, passphrase, comment] of cases) {
  Deno.test(`private key: ${file} parses, matches its .pub and signs verifiably`, async () => {
    const key = SshPrivateKey.parse(read(file), { passphrase });
    equal(key.type, type);
    equal(key.comment, comment);
    deepEqual(key.publicKey, pubBlob(file + ".pub"));
    for (const alg of key.signatureAlgorithms) {
      const sig = await key.sign(data, alg);
      ok(await verifySignature(parsePublicKey(key.publicKey), sig, data, [alg]), alg);
      const tampered = data.slice();
      tampered[0] ^= 1;
      ok(!(await verifySignature(parsePublicKey(key.publicKey), sig, tampered, [alg])));
    }
  });
}

Deno.test("private key: Ed25519 PKCS#8 from openssl matches its SPKI public key", () => {
  const key = SshPrivateKey.parse(read("ed25519_pkcs8.pem"));
  const spki = fromBase64(read("ed25519_pkcs8.spki.pem").replace(/-----[^-]+-----/g, ""));
  deepEqual(key.publicKey.subarray(-32), spki.subarray(-32));
});

Deno.test("private key: encrypted key without passphrase throws WrongPassphrase", () => {
  throws(() => SshPrivateKey.parse(read("id_ed25519_pw")), WrongPassphrase);
});

Deno.test("private key: wrong passphrase throws WrongPassphrase", () => {
  throws(
    () => SshPrivateKey.parse(read("id_ed25519_pw"), { passphrase: "wrong" }),
    WrongPassphrase,
  );
});

Deno.test("private key: garbage throws KeyParseError", () => {
  throws(() => SshPrivateKey.parse("hello"), KeyParseError);
  throws(
    () => SshPrivateKey.parse("-----BEGIN FOO KEY-----\nAAAA\n-----END FOO KEY-----"),
    KeyParseError,
  );
});

Deno.test("private key: RSA key refuses a non-RSA signature algorithm", async () => {
  const key = SshPrivateKey.parse(read("id_rsa"));
  await rejects(key.sign(data, "ssh-ed25519"), KeyParseError);
  await rejects(key.sign(data, "ssh-rsa"), KeyParseError); // SHA-1 signatures are refused
});
