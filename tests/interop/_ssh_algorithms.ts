/**
 * The algorithms usernet's SSH client offers, as lists the OpenSSH interop suites (loopback and
 * over TAP) combine, and the full kex × host key × cipher product they both run.
 *
 * @module
 */

/** Key exchange methods. */
export const KEXES = [
  "curve25519-sha256",
  "curve25519-sha256@libssh.org",
  "ecdh-sha2-nistp256",
  "ecdh-sha2-nistp384",
  "diffie-hellman-group14-sha256",
  "diffie-hellman-group16-sha512",
  "diffie-hellman-group-exchange-sha256",
];

/** Host key signature algorithms. */
export const HOST_KEYS = [
  "ssh-ed25519",
  "ecdsa-sha2-nistp256",
  "ecdsa-sha2-nistp384",
  "rsa-sha2-256",
  "rsa-sha2-512",
];

/** Ciphers. */
export const CIPHERS = [
  "chacha20-poly1305@openssh.com",
  "aes128-gcm@openssh.com",
  "aes256-gcm@openssh.com",
  "aes128-ctr",
  "aes192-ctr",
  "aes256-ctr",
];

/** MACs (used with the CTR ciphers; the AEAD ciphers carry their own). */
export const MACS = [
  "hmac-sha2-256-etm@openssh.com",
  "hmac-sha2-512-etm@openssh.com",
  "hmac-sha2-256",
  "hmac-sha2-512",
];

/** Every kex × host key × cipher, each with a MAC taken in turn (every MAC appears). */
export function algorithmMatrix(): Array<[string, string, string, string]> {
  const combos: Array<[string, string, string, string]> = [];
  for (const kex of KEXES) {
    for (const hostKey of HOST_KEYS) {
      for (const cipher of CIPHERS) combos.push([kex, hostKey, cipher, MACS[combos.length % 4]]);
    }
  }
  return combos;
}
