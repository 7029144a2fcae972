/**
 * A small certificate generator for tests and demos: a throw-away certificate authority and
 * server certificates issued by it, as PEM that `Deno.listenTls` / `Deno.serve` accept.
 * Keys are made with WebCrypto (ECDSA P-256 by default; P-384, Ed25519 and RSA on request).
 *
 * @module
 */

import { buf, randomBytes } from "../_bytes.ts";
import { sha256 } from "@noble/hashes/sha2.js";
import {
  derBitString,
  derBoolean,
  derContext,
  derInteger,
  derNull,
  derOctetString,
  derOid,
  derSequence,
  derSet,
  derTime,
  derUtf8String,
} from "./der_writer.ts";
import { parseIpAddress } from "./hostname.ts";
import { OID } from "./oid.ts";
import { encodePem } from "./pem.ts";
import { DerReader } from "./der_reader.ts";

/** Key types the generator can create. */
export type GeneratedKeyType = "P-256" | "P-384" | "Ed25519" | "RSA";

/** A generated certificate with its private key. */
export interface GeneratedCertificate {
  /** The certificate as PEM (`-----BEGIN CERTIFICATE-----`). */
  certPem: string;
  /** The private key as PEM PKCS#8 (`-----BEGIN PRIVATE KEY-----`). */
  keyPem: string;
  /** The certificate's DER encoding. */
  der: Uint8Array;
  /** The private key, for issuing further certificates. */
  privateKey: CryptoKey;
  /** The key type. */
  keyType: GeneratedKeyType;
  /** The subject Name's DER encoding (the issuer name of certificates it issues). */
  subjectName: Uint8Array;
  /** The subjectKeyIdentifier. */
  subjectKeyId: Uint8Array;
}

/** Options common to CAs and issued certificates. */
export interface GenerateOptions {
  /** Subject common name. */
  commonName?: string;
  /** Start of validity (default: one hour ago, to tolerate clock skew). */
  notBefore?: Date;
  /** End of validity (default: one year for CAs, 90 days for servers). */
  notAfter?: Date;
  /** Key type (default `P-256`). */
  keyType?: GeneratedKeyType;
  /** RSA modulus size when `keyType` is `RSA` (default 2048). */
  rsaBits?: number;
  /**
   * Signature hash the issuer uses (default: SHA-256, SHA-384 for P-384 issuers). SHA-1 exists
   * only to produce certificates that verifiers must refuse.
   */
  signatureHash?: "SHA-1" | "SHA-256" | "SHA-384" | "SHA-512";
}

/** Options for {@linkcode generateCertificateAuthority}. */
export interface CertificateAuthorityOptions extends GenerateOptions {
  /** basicConstraints pathLenConstraint. */
  pathLength?: number;
  /** nameConstraints permitted DNS subtrees. */
  permittedDnsNames?: string[];
  /** nameConstraints excluded DNS subtrees. */
  excludedDnsNames?: string[];
}

/** Options for {@linkcode issueCertificate}. */
export interface IssueOptions extends CertificateAuthorityOptions {
  /** subjectAltName DNS names. */
  dnsNames?: string[];
  /** subjectAltName IP addresses (IPv4 or IPv6 text). */
  ipAddresses?: string[];
  /** Issue a CA (intermediate) certificate instead of a server certificate. */
  isCa?: boolean;
  /**
   * extendedKeyUsage OIDs (default: serverAuth for server certificates, none for CAs);
   * `null` omits the extension.
   */
  extKeyUsage?: string[] | null;
  /** Include a keyUsage extension (default true). */
  keyUsage?: boolean;
  /** Additional extensions (DER of extnValue), e.g. to test unknown critical extensions. */
  extraExtensions?: Array<{ oid: string; critical: boolean; value: Uint8Array }>;
}

/**
 * Creates a self-signed certificate authority.
 *
 * @example
 * ```ts
 * import { generateCertificateAuthority, issueCertificate } from "./generate.ts";
 * const ca = await generateCertificateAuthority({ commonName: "Demo CA" });
 * const server = await issueCertificate(ca, { dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"] });
 * console.log(server.certPem.startsWith("-----BEGIN CERTIFICATE-----")); // true
 * ```
 */
export async function generateCertificateAuthority(
  options: CertificateAuthorityOptions = {},
): Promise<GeneratedCertificate> {
  const keyType = options.keyType ?? "P-256";
  const keys = await generateKeyPair(keyType, options.rsaBits);
  const spki = new Uint8Array(await crypto.subtle.exportKey("spki", keys.publicKey));
  const name = distinguishedName(
    options.commonName ??
      `usernet test CA ${
        Array.from(randomBytes(4), (b) => b.toString(16).padStart(2, "0")).join("")
      }`,
  );
  const now = Date.now();
  return await build({
    subjectName: name,
    issuerName: name,
    spki,
    subjectKeys: keys,
    keyType,
    signer: { privateKey: keys.privateKey, keyType, subjectKeyId: undefined },
    notBefore: options.notBefore ?? new Date(now - 3600_000),
    notAfter: options.notAfter ?? new Date(now + 365 * 86400_000),
    extensions: caExtensions(options),
    signatureHash: options.signatureHash,
  });
}

/**
 * Issues a certificate signed by `ca`: by default a server certificate for `dnsNames` and
 * `ipAddresses` with serverAuth; with `isCa` an intermediate CA.
 *
 * @example
 * ```ts
 * import { generateCertificateAuthority, issueCertificate } from "./generate.ts";
 * const ca = await generateCertificateAuthority();
 * const { certPem, keyPem } = await issueCertificate(ca, { dnsNames: ["localhost"] });
 * // Deno.listenTls({ hostname: "127.0.0.1", port: 8443, cert: certPem, key: keyPem });
 * console.log(keyPem.includes("PRIVATE KEY")); // true
 * ```
 */
export async function issueCertificate(
  ca: GeneratedCertificate,
  options: IssueOptions = {},
): Promise<GeneratedCertificate> {
  const keyType = options.keyType ?? "P-256";
  const keys = await generateKeyPair(keyType, options.rsaBits);
  const spki = new Uint8Array(await crypto.subtle.exportKey("spki", keys.publicKey));
  const dnsNames = options.dnsNames ?? [];
  const ipAddresses = options.ipAddresses ?? [];
  const commonName = options.commonName ?? dnsNames[0] ?? ipAddresses[0] ?? "usernet server";
  const now = Date.now();
  const extensions: Uint8Array[] = [];
  if (options.isCa) {
    extensions.push(...caExtensions(options));
  } else {
    extensions.push(extension(OID.basicConstraints, true, derSequence()));
    if (options.keyUsage !== false) {
      // digitalSignature (bit 0), plus keyEncipherment (bit 2) for RSA keys.
      extensions.push(
        extension(OID.keyUsage, true, namedBits(keyType === "RSA" ? [0, 2] : [0])),
      );
    }
  }
  const eku = options.extKeyUsage === undefined
    ? (options.isCa ? null : [OID.serverAuth])
    : options.extKeyUsage;
  if (eku) extensions.push(extension(OID.extKeyUsage, false, derSequence(...eku.map(derOid))));
  for (const e of options.extraExtensions ?? []) {
    extensions.push(extension(e.oid, e.critical, e.value));
  }
  if (dnsNames.length || ipAddresses.length) {
    const names = [
      ...dnsNames.map((n) => derContext(2, false, new TextEncoder().encode(n))),
      ...ipAddresses.map((ip) => {
        const bytes = parseIpAddress(ip);
        if (!bytes) throw new TypeError(`not an IP address: ${ip}`);
        return derContext(7, false, bytes);
      }),
    ];
    extensions.push(extension(OID.subjectAltName, false, derSequence(...names)));
  }
  return await build({
    subjectName: distinguishedName(commonName),
    issuerName: ca.subjectName,
    spki,
    subjectKeys: keys,
    keyType,
    signer: { privateKey: ca.privateKey, keyType: ca.keyType, subjectKeyId: ca.subjectKeyId },
    notBefore: options.notBefore ?? new Date(now - 3600_000),
    notAfter: options.notAfter ?? new Date(now + 90 * 86400_000),
    extensions,
    signatureHash: options.signatureHash,
  });
}

function caExtensions(options: CertificateAuthorityOptions): Uint8Array[] {
  const bc = options.pathLength === undefined
    ? derSequence(derBoolean(true))
    : derSequence(derBoolean(true), derInteger(options.pathLength));
  // keyCertSign (5) and cRLSign (6), plus digitalSignature (0).
  const out = [
    extension(OID.basicConstraints, true, bc),
    extension(OID.keyUsage, true, namedBits([0, 5, 6])),
  ];
  if (options.permittedDnsNames?.length || options.excludedDnsNames?.length) {
    const subtrees = (names: string[]) =>
      names.map((n) => derSequence(derContext(2, false, new TextEncoder().encode(n))));
    const parts: Uint8Array[] = [];
    if (options.permittedDnsNames?.length) {
      parts.push(derContext(0, true, ...subtrees(options.permittedDnsNames)));
    }
    if (options.excludedDnsNames?.length) {
      parts.push(derContext(1, true, ...subtrees(options.excludedDnsNames)));
    }
    out.push(extension(OID.nameConstraints, true, derSequence(...parts)));
  }
  return out;
}

interface BuildParams {
  subjectName: Uint8Array;
  issuerName: Uint8Array;
  spki: Uint8Array;
  subjectKeys: CryptoKeyPair;
  keyType: GeneratedKeyType;
  signer: {
    privateKey: CryptoKey;
    keyType: GeneratedKeyType;
    subjectKeyId: Uint8Array | undefined;
  };
  notBefore: Date;
  notAfter: Date;
  extensions: Uint8Array[];
  signatureHash: GenerateOptions["signatureHash"];
}

async function build(p: BuildParams): Promise<GeneratedCertificate> {
  const subjectKeyId = sha256(subjectPublicKeyBits(p.spki)).subarray(0, 20);
  const extensions = [
    ...p.extensions,
    extension(OID.subjectKeyIdentifier, false, derOctetString(subjectKeyId)),
  ];
  if (p.signer.subjectKeyId) {
    extensions.push(
      extension(
        OID.authorityKeyIdentifier,
        false,
        derSequence(derContext(0, false, p.signer.subjectKeyId)),
      ),
    );
  }
  const hash = p.signatureHash ?? (p.signer.keyType === "P-384" ? "SHA-384" : "SHA-256");
  const sigAlg = signatureAlgorithmIdentifier(p.signer.keyType, hash);
  const serial = randomBytes(16);
  serial[0] = (serial[0] & 0x7f) | 0x01;
  const tbs = derSequence(
    derContext(0, true, derInteger(2)),
    derInteger(serial),
    sigAlg,
    p.issuerName,
    derSequence(derTime(p.notBefore), derTime(p.notAfter)),
    p.subjectName,
    p.spki,
    derContext(3, true, derSequence(...extensions)),
  );
  const signature = await sign(p.signer.privateKey, p.signer.keyType, hash, tbs);
  const der = derSequence(tbs, sigAlg, derBitString(signature));
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", p.subjectKeys.privateKey));
  return {
    certPem: encodePem("CERTIFICATE", der),
    keyPem: encodePem("PRIVATE KEY", pkcs8),
    der,
    privateKey: p.subjectKeys.privateKey,
    keyType: p.keyType,
    subjectName: p.subjectName,
    subjectKeyId,
  };
}

function generateKeyPair(keyType: GeneratedKeyType, rsaBits = 2048): Promise<CryptoKeyPair> {
  switch (keyType) {
    case "P-256":
    case "P-384":
      return crypto.subtle.generateKey({ name: "ECDSA", namedCurve: keyType }, true, [
        "sign",
        "verify",
      ]) as Promise<CryptoKeyPair>;
    case "Ed25519":
      return crypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"]) as Promise<
        CryptoKeyPair
      >;
    case "RSA":
      return crypto.subtle.generateKey(
        {
          name: "RSASSA-PKCS1-v1_5",
          modulusLength: rsaBits,
          publicExponent: new Uint8Array([1, 0, 1]),
          hash: "SHA-256",
        },
        true,
        ["sign", "verify"],
      ) as Promise<CryptoKeyPair>;
  }
}

function signatureAlgorithmIdentifier(keyType: GeneratedKeyType, hash: string): Uint8Array {
  if (keyType === "Ed25519") return derSequence(derOid(OID.ed25519));
  if (keyType === "RSA") {
    const oid = {
      "SHA-1": OID.sha1WithRsa,
      "SHA-256": OID.sha256WithRsa,
      "SHA-384": OID.sha384WithRsa,
      "SHA-512": OID.sha512WithRsa,
    }[hash]!;
    return derSequence(derOid(oid), derNull());
  }
  const oid = {
    "SHA-1": OID.ecdsaWithSha1,
    "SHA-256": OID.ecdsaWithSha256,
    "SHA-384": OID.ecdsaWithSha384,
    "SHA-512": OID.ecdsaWithSha512,
  }[hash]!;
  return derSequence(derOid(oid));
}

async function sign(
  key: CryptoKey,
  keyType: GeneratedKeyType,
  hash: string,
  data: Uint8Array,
): Promise<Uint8Array> {
  if (keyType === "Ed25519") {
    return new Uint8Array(await crypto.subtle.sign({ name: "Ed25519" }, key, buf(data)));
  }
  if (keyType === "RSA") {
    // The key was generated for SHA-256; re-import it for the requested hash.
    const pkcs8 = await crypto.subtle.exportKey("pkcs8", key);
    const k = await crypto.subtle.importKey(
      "pkcs8",
      pkcs8,
      { name: "RSASSA-PKCS1-v1_5", hash },
      false,
      [
        "sign",
      ],
    );
    return new Uint8Array(await crypto.subtle.sign({ name: "RSASSA-PKCS1-v1_5" }, k, buf(data)));
  }
  const raw = new Uint8Array(await crypto.subtle.sign({ name: "ECDSA", hash }, key, buf(data)));
  const half = raw.length / 2;
  return derSequence(derInteger(raw.subarray(0, half)), derInteger(raw.subarray(half)));
}

function extension(oid: string, critical: boolean, value: Uint8Array): Uint8Array {
  return critical
    ? derSequence(derOid(oid), derBoolean(true), derOctetString(value))
    : derSequence(derOid(oid), derOctetString(value));
}

/** A DER named-bit BIT STRING with the given bit positions set (trailing zeros removed). */
function namedBits(bits: number[]): Uint8Array {
  const highest = Math.max(...bits);
  const bytes = new Uint8Array((highest >> 3) + 1);
  for (const b of bits) bytes[b >> 3] |= 0x80 >> (b & 7);
  return derBitString(bytes, 7 - (highest & 7));
}

function distinguishedName(commonName: string): Uint8Array {
  return derSequence(
    derSet(derSequence(derOid(OID.organizationName), derUtf8String("usernet"))),
    derSet(derSequence(derOid(OID.commonName), derUtf8String(commonName))),
  );
}

/** The subjectPublicKey bits of an SPKI (what the key identifier is computed over). */
function subjectPublicKeyBits(spki: Uint8Array): Uint8Array {
  const seq = new DerReader(spki).sequence();
  seq.sequence();
  return seq.bitString().bytes;
}
