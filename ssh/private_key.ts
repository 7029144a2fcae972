/**
 * Private keys for publickey authentication: OpenSSH's `openssh-key-v1` format (plain or
 * passphrase-protected with bcrypt_pbkdf) and PEM PKCS#8, PKCS#1 (RSA) and SEC1 (EC).
 *
 * @module
 */

import { ed25519 } from "@noble/curves/ed25519.js";
import { p256, p384 } from "@noble/curves/nist.js";
import { cbc, ctr, gcm } from "@noble/ciphers/aes.js";
import { bigIntToBytes, bs, bytesToBigInt, SshReader, SshWriter, utf8 } from "./_wire.ts";
import { DerReader, oidToString } from "./_der.ts";
import { bcryptPbkdf } from "./bcrypt_pbkdf.ts";
import { b64url, encodeSignature, fingerprint, formatPublicKey, fromBase64 } from "./host_key.ts";
import { KeyParseError, WrongPassphrase } from "./errors.ts";

/** Key types a private key can have. */
export type PrivateKeyType =
  | "ssh-ed25519"
  | "ecdsa-sha2-nistp256"
  | "ecdsa-sha2-nistp384"
  | "ssh-rsa";

type Material =
  | { kind: "ed25519"; seed: Uint8Array; pub: Uint8Array }
  | { kind: "ecdsa"; curve: "nistp256" | "nistp384"; d: Uint8Array; q: Uint8Array }
  | {
    kind: "rsa";
    n: Uint8Array;
    e: Uint8Array;
    d: Uint8Array;
    p: Uint8Array;
    q: Uint8Array;
    iqmp: Uint8Array;
  };

/**
 * A private key that signs for publickey authentication (RFC 4252 §7).
 *
 * @example
 * ```ts ignore
 * import { SshPrivateKey } from "./private_key.ts";
 * const key = SshPrivateKey.parse(await Deno.readTextFile("id_ed25519"), { passphrase: "pw" });
 * console.log(key.type, key.fingerprint);
 * ```
 */
export class SshPrivateKey {
  /** The public key blob (as in authorized_keys). */
  readonly publicKey: Uint8Array;
  #rsaKeys = new Map<string, Promise<CryptoKey>>();
  readonly #material: Material;

  private constructor(
    readonly type: PrivateKeyType,
    readonly comment: string,
    material: Material,
  ) {
    this.#material = material;
    this.publicKey = publicBlob(material);
  }

  /** `SHA256:...` fingerprint of the public key. */
  get fingerprint(): string {
    return fingerprint(this.publicKey);
  }

  /** The key as one line of an authorized_keys file. */
  get authorizedKey(): string {
    return formatPublicKey(this.publicKey, this.comment);
  }

  /** Signature algorithms this key can produce, best first. */
  get signatureAlgorithms(): string[] {
    return this.type === "ssh-rsa" ? ["rsa-sha2-512", "rsa-sha2-256"] : [this.type];
  }

  /**
   * Parses a private key file (OpenSSH or PEM). Encrypted OpenSSH keys need `passphrase`.
   *
   * @example
   * ```ts ignore
   * const key = SshPrivateKey.parse(text);
   * ```
   */
  static parse(text: string | Uint8Array, options: { passphrase?: string } = {}): SshPrivateKey {
    const s = typeof text === "string" ? text : new TextDecoder().decode(text);
    const m = s.match(/-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/);
    if (!m) throw new KeyParseError("no PEM block found: not a private key file");
    const label = m[1];
    const body = m[2];
    if (/Proc-Type:\s*4,ENCRYPTED/.test(body)) {
      throw new KeyParseError(
        "legacy encrypted PEM keys are not supported; convert with `ssh-keygen -p -f KEY` " +
          "(writes the OpenSSH format)",
      );
    }
    const der = fromBase64(body.replace(/^[A-Za-z-]+:.*$/gm, ""));
    switch (label) {
      case "OPENSSH PRIVATE KEY":
        return parseOpenSsh(der, options.passphrase);
      case "PRIVATE KEY":
        return fromMaterial(parsePkcs8(der), "");
      case "RSA PRIVATE KEY":
        return fromMaterial(parsePkcs1(new DerReader(der)), "");
      case "EC PRIVATE KEY":
        return fromMaterial(parseSec1(der), "");
      case "ENCRYPTED PRIVATE KEY":
        throw new KeyParseError(
          "encrypted PKCS#8 keys are not supported; convert with `ssh-keygen -p -f KEY`",
        );
    }
    throw new KeyParseError(`unsupported key file type "${label}"`);
  }

  /** @internal */
  static _fromMaterial(material: Material, comment: string): SshPrivateKey {
    const type: PrivateKeyType = material.kind === "ed25519"
      ? "ssh-ed25519"
      : material.kind === "rsa"
      ? "ssh-rsa"
      : material.curve === "nistp256"
      ? "ecdsa-sha2-nistp256"
      : "ecdsa-sha2-nistp384";
    return new SshPrivateKey(type, comment, material);
  }

  /**
   * Signs `data`; returns an SSH signature blob (`string alg, string sig`).
   *
   * @example
   * ```ts ignore
   * const sig = await key.sign(data, "rsa-sha2-256");
   * ```
   */
  async sign(data: Uint8Array, algorithm = this.signatureAlgorithms[0]): Promise<Uint8Array> {
    const m = this.#material;
    if (!this.signatureAlgorithms.includes(algorithm)) {
      throw new KeyParseError(`a ${this.type} key cannot make ${algorithm} signatures`);
    }
    if (m.kind === "ed25519") return encodeSignature(algorithm, ed25519.sign(data, m.seed));
    if (m.kind === "ecdsa") {
      const curve = m.curve === "nistp256" ? p256 : p384;
      const size = m.curve === "nistp256" ? 32 : 48;
      const raw = curve.sign(data, m.d, { format: "compact" });
      const inner = new SshWriter().mpintBytes(raw.subarray(0, size)).mpintBytes(
        raw.subarray(size),
      ).bytes().slice();
      return encodeSignature(algorithm, inner);
    }
    const hash = algorithm === "rsa-sha2-512" ? "SHA-512" : "SHA-256";
    let key = this.#rsaKeys.get(hash);
    if (!key) {
      key = importRsa(m, hash);
      this.#rsaKeys.set(hash, key);
    }
    const sig = new Uint8Array(await crypto.subtle.sign("RSASSA-PKCS1-v1_5", await key, bs(data)));
    return encodeSignature(algorithm, sig);
  }
}

function fromMaterial(m: Material, comment: string): SshPrivateKey {
  return SshPrivateKey._fromMaterial(m, comment);
}

function publicBlob(m: Material): Uint8Array {
  const w = new SshWriter();
  if (m.kind === "ed25519") w.string("ssh-ed25519").string(m.pub);
  else if (m.kind === "ecdsa") w.string(`ecdsa-sha2-${m.curve}`).string(m.curve).string(m.q);
  else w.string("ssh-rsa").mpintBytes(m.e).mpintBytes(m.n);
  return w.bytes().slice();
}

function importRsa(m: Extract<Material, { kind: "rsa" }>, hash: string): Promise<CryptoKey> {
  const d = bytesToBigInt(m.d);
  const p = bytesToBigInt(m.p);
  const q = bytesToBigInt(m.q);
  return crypto.subtle.importKey(
    "jwk",
    {
      kty: "RSA",
      n: b64url(m.n),
      e: b64url(m.e),
      d: b64url(m.d),
      p: b64url(m.p),
      q: b64url(m.q),
      dp: b64url(bigIntToBytes(d % (p - 1n))),
      dq: b64url(bigIntToBytes(d % (q - 1n))),
      qi: b64url(m.iqmp),
      ext: true,
    },
    { name: "RSASSA-PKCS1-v1_5", hash },
    false,
    ["sign"],
  );
}

// ---------------------------------------------------------------- openssh-key-v1 (PROTOCOL.key)

const AUTH_MAGIC = utf8("openssh-key-v1\0");

const KEY_CIPHERS: Record<string, { key: number; iv: number; tag?: number }> = {
  "none": { key: 0, iv: 0 },
  "aes128-ctr": { key: 16, iv: 16 },
  "aes192-ctr": { key: 24, iv: 16 },
  "aes256-ctr": { key: 32, iv: 16 },
  "aes128-cbc": { key: 16, iv: 16 },
  "aes256-cbc": { key: 32, iv: 16 },
  "aes256-gcm@openssh.com": { key: 32, iv: 12, tag: 16 },
};

function parseOpenSsh(der: Uint8Array, passphrase?: string): SshPrivateKey {
  if (der.length < AUTH_MAGIC.length || AUTH_MAGIC.some((b, i) => der[i] !== b)) {
    throw new KeyParseError("not an openssh-key-v1 private key");
  }
  const r = new SshReader(der, AUTH_MAGIC.length);
  const cipherName = r.text();
  const kdfName = r.text();
  const kdfOptions = r.string();
  const count = r.uint32();
  if (count !== 1) throw new KeyParseError(`key files with ${count} keys are not supported`);
  r.string(); // public key (repeated inside the private section)
  let section = r.string();
  const cipher = KEY_CIPHERS[cipherName];
  if (!cipher) throw new KeyParseError(`unsupported private key cipher ${cipherName}`);
  if (cipherName !== "none") {
    if (kdfName !== "bcrypt") throw new KeyParseError(`unsupported key derivation ${kdfName}`);
    if (passphrase === undefined) {
      throw new WrongPassphrase("this private key is encrypted: a passphrase is required");
    }
    const kr = new SshReader(kdfOptions);
    const salt = kr.string();
    const rounds = kr.uint32();
    if (rounds > 1 << 16) throw new KeyParseError(`bcrypt rounds ${rounds} too large`);
    const km = bcryptPbkdf(utf8(passphrase), salt, cipher.key + cipher.iv, rounds);
    const key = km.subarray(0, cipher.key);
    const iv = km.subarray(cipher.key);
    try {
      if (cipherName.endsWith("-ctr")) section = ctr(key, iv).decrypt(section);
      else if (cipherName.endsWith("-cbc")) {
        section = cbc(key, iv, { disablePadding: true }).decrypt(section);
      } else {
        const tag = r.raw(cipher.tag!);
        const joined = new Uint8Array(section.length + tag.length);
        joined.set(section);
        joined.set(tag, section.length);
        section = gcm(key, iv).decrypt(joined);
      }
    } catch {
      throw new WrongPassphrase("wrong passphrase for private key");
    }
  }
  const s = new SshReader(section);
  if (s.uint32() !== s.uint32()) throw new WrongPassphrase("wrong passphrase for private key");
  const type = s.text();
  let material: Material;
  if (type === "ssh-ed25519") {
    const pub = s.string();
    const priv = s.string();
    if (pub.length !== 32 || priv.length !== 64) throw new KeyParseError("bad Ed25519 key");
    material = { kind: "ed25519", seed: priv.slice(0, 32), pub: pub.slice() };
  } else if (type === "ecdsa-sha2-nistp256" || type === "ecdsa-sha2-nistp384") {
    const curve = s.text() as "nistp256" | "nistp384";
    if (`ecdsa-sha2-${curve}` !== type) throw new KeyParseError("ECDSA curve mismatch");
    const q = s.string().slice();
    const size = curve === "nistp256" ? 32 : 48;
    const d = leftPad(s.mpintBytes(), size);
    material = { kind: "ecdsa", curve, d, q };
  } else if (type === "ssh-rsa") {
    const n = s.mpintBytes().slice();
    const e = s.mpintBytes().slice();
    const d = s.mpintBytes().slice();
    const iqmp = s.mpintBytes().slice();
    const p = s.mpintBytes().slice();
    const q = s.mpintBytes().slice();
    material = { kind: "rsa", n, e, d, p, q, iqmp };
  } else {
    throw new KeyParseError(`unsupported private key type ${type}`);
  }
  const comment = s.text();
  return fromMaterial(material, comment);
}

function leftPad(b: Uint8Array, size: number): Uint8Array {
  if (b.length > size) throw new KeyParseError("private scalar too long");
  const out = new Uint8Array(size);
  out.set(b, size - b.length);
  return out;
}

// ---------------------------------------------------------------- PEM containers

const OID_RSA = "1.2.840.113549.1.1.1";
const OID_EC = "1.2.840.10045.2.1";
const OID_ED25519 = "1.3.101.112";
const OID_P256 = "1.2.840.10045.3.1.7";
const OID_P384 = "1.3.132.0.34";

function parsePkcs1(r: DerReader): Material {
  const seq = new DerReader(r.expect(0x30, "RSAPrivateKey SEQUENCE"));
  seq.integer(); // version
  const n = seq.integer().slice();
  const e = seq.integer().slice();
  const d = seq.integer().slice();
  const p = seq.integer().slice();
  const q = seq.integer().slice();
  seq.integer(); // dp
  seq.integer(); // dq
  const iqmp = seq.integer().slice();
  return { kind: "rsa", n, e, d, p, q, iqmp };
}

function curveFromOid(oid: string): "nistp256" | "nistp384" {
  if (oid === OID_P256) return "nistp256";
  if (oid === OID_P384) return "nistp384";
  throw new KeyParseError(`unsupported EC curve ${oid}`);
}

function ecMaterial(curve: "nistp256" | "nistp384", d: Uint8Array): Material {
  const size = curve === "nistp256" ? 32 : 48;
  const dd = leftPad(d, size);
  const q = (curve === "nistp256" ? p256 : p384).getPublicKey(dd, false);
  return { kind: "ecdsa", curve, d: dd, q };
}

function parseSec1(der: Uint8Array, curveHint?: "nistp256" | "nistp384"): Material {
  const seq = new DerReader(new DerReader(der).expect(0x30, "ECPrivateKey SEQUENCE"));
  seq.integer(); // version 1
  const d = seq.expect(0x04, "private key OCTET STRING");
  let curve = curveHint;
  while (!seq.done) {
    const node = seq.next();
    if (node.tag === 0xa0) {
      curve = curveFromOid(oidToString(new DerReader(node.value).expect(0x06, "OID")));
    }
  }
  if (!curve) throw new KeyParseError("EC private key names no curve");
  return ecMaterial(curve, d);
}

function parsePkcs8(der: Uint8Array): Material {
  const seq = new DerReader(new DerReader(der).expect(0x30, "PrivateKeyInfo SEQUENCE"));
  seq.integer(); // version
  const alg = new DerReader(seq.expect(0x30, "AlgorithmIdentifier"));
  const oid = oidToString(alg.expect(0x06, "OID"));
  const inner = seq.expect(0x04, "privateKey OCTET STRING");
  if (oid === OID_RSA) return parsePkcs1(new DerReader(inner));
  if (oid === OID_EC) {
    const curve = curveFromOid(oidToString(alg.expect(0x06, "curve OID")));
    return parseSec1(inner, curve);
  }
  if (oid === OID_ED25519) {
    const seed = new DerReader(inner).expect(0x04, "Ed25519 seed").slice();
    if (seed.length !== 32) throw new KeyParseError("bad Ed25519 seed");
    return { kind: "ed25519", seed, pub: ed25519.getPublicKey(seed) };
  }
  throw new KeyParseError(`unsupported PKCS#8 key algorithm ${oid}`);
}
