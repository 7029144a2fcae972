/**
 * A scripted SSH server for tests: it completes a real key exchange (curve25519-sha256, an
 * Ed25519 host key, strict KEX) with the client's own packet ciphers, so that tests can then
 * misbehave under encryption (bad MACs, oversized lengths, malformed packets) or play the
 * server's side of authentication. Not part of the public API.
 *
 * @module
 */

import { ed25519, x25519 } from "@noble/curves/ed25519.js";
import { sha256 } from "@noble/hashes/sha2.js";
import type { Conn } from "../net/conn.ts";
import {
  CIPHERS,
  createOpener,
  createSealer,
  type DirectionKeys,
  MACS,
  NoneOpener,
  NoneSealer,
  type PacketOpener,
  type PacketSealer,
} from "./_cipher.ts";
import { concat, SshReader, SshWriter } from "./_wire.ts";
import { deriveKey } from "./kex.ts";
import { encodeSignature, formatPublicKey } from "./host_key.ts";

/** The identification string the scripted server sends. */
export const SCRIPTED_SERVER_VERSION = "SSH-2.0-ScriptedServer_1.0";

/** Options of {@linkcode ScriptedSshServer}. */
export interface ScriptedSshServerOptions {
  /** Packet cipher for both directions (default aes128-gcm@openssh.com). */
  cipher?: string;
  /** MAC for non-AEAD ciphers (default hmac-sha2-256-etm@openssh.com). */
  mac?: string;
  /** Offer strict KEX (default true). */
  strictKex?: boolean;
  /** Host key secret (default: a fixed test key, so known_hosts lines can be made up front). */
  hostSecret?: Uint8Array;
}

/** A fixed Ed25519 host key for scripted servers. */
export const SCRIPTED_HOST_SECRET: Uint8Array = sha256(new TextEncoder().encode("scripted host"));

/** The known_hosts key part (`ssh-ed25519 AAAA...`) of a host secret. */
export function scriptedHostKeyLine(secret = SCRIPTED_HOST_SECRET): string {
  return formatPublicKey(hostKeyBlob(secret)).trim();
}

function hostKeyBlob(secret: Uint8Array): Uint8Array {
  return new SshWriter().string("ssh-ed25519").string(ed25519.getPublicKey(secret)).bytes()
    .slice();
}

/** The server end of a scripted SSH session. */
export class ScriptedSshServer {
  #buf: Uint8Array = new Uint8Array(0);
  #sealer: PacketSealer = new NoneSealer();
  #opener: PacketOpener = new NoneOpener();
  #sendSeq = 0;
  #recvSeq = 0;
  readonly cipher: string;
  readonly mac: string | undefined;
  /** The client's identification line. */
  clientVersion = "";
  /** The last USERAUTH_REQUEST's method names, in order. */
  readonly authMethodsSeen: string[] = [];

  constructor(readonly conn: Conn, readonly options: ScriptedSshServerOptions = {}) {
    this.cipher = options.cipher ?? "aes128-gcm@openssh.com";
    this.mac = CIPHERS[this.cipher].aead
      ? undefined
      : options.mac ?? "hmac-sha2-256-etm@openssh.com";
  }

  /** Writes raw bytes. */
  async writeRaw(bytes: Uint8Array): Promise<void> {
    let off = 0;
    while (off < bytes.length) off += await this.conn.write(bytes.subarray(off));
  }

  /** Wire bytes of `payload` under the current keys (advances the sequence number). */
  async seal(payload: Uint8Array): Promise<Uint8Array> {
    const wire = await this.#sealer.seal(this.#sendSeq, payload);
    this.#sendSeq = (this.#sendSeq + 1) >>> 0;
    return wire;
  }

  /** Sends one packet under the current keys. */
  async send(payload: Uint8Array): Promise<void> {
    await this.writeRaw(await this.seal(payload));
  }

  async #fill(): Promise<void> {
    const chunk = new Uint8Array(65536);
    const n = await this.conn.read(chunk);
    if (n === null) throw new Error("client closed the connection");
    this.#buf = concat(this.#buf, chunk.subarray(0, n));
  }

  /** Reads the client's identification line. */
  async line(): Promise<string> {
    for (;;) {
      const i = this.#buf.indexOf(10);
      if (i >= 0) {
        const l = new TextDecoder().decode(this.#buf.subarray(0, i)).replace(/\r$/, "");
        this.#buf = this.#buf.subarray(i + 1);
        return l;
      }
      await this.#fill();
    }
  }

  /** Reads and opens one packet from the client. */
  async packet(): Promise<Uint8Array> {
    while (this.#buf.length < this.#opener.headerLength) await this.#fill();
    const size = this.#opener.packetSize(
      this.#recvSeq,
      this.#buf.subarray(0, this.#opener.headerLength),
    );
    while (this.#buf.length < size) await this.#fill();
    const payload = (await this.#opener.open(this.#recvSeq, this.#buf.slice(0, size))).slice();
    this.#buf = this.#buf.subarray(size);
    this.#recvSeq = (this.#recvSeq + 1) >>> 0;
    return payload;
  }

  /** Resolves once the client has closed the connection (reads until EOF or an error). */
  async closedByClient(): Promise<void> {
    try {
      for (;;) await this.#fill();
    } catch { /* EOF or reset */ }
  }

  /** Sends the identification string (after `banner` lines, if any). */
  async sendVersion(banner = ""): Promise<void> {
    await this.writeRaw(new TextEncoder().encode(banner + SCRIPTED_SERVER_VERSION + "\r\n"));
  }

  /** The server's KEXINIT. */
  kexInit(): Uint8Array {
    const kex = ["curve25519-sha256"];
    if (this.options.strictKex ?? true) kex.push("kex-strict-s-v00@openssh.com");
    const macs = this.mac ? [this.mac] : ["hmac-sha2-256"];
    return new SshWriter().byte(20).raw(new Uint8Array(16)).nameList(kex)
      .nameList(["ssh-ed25519"]).nameList([this.cipher]).nameList([this.cipher])
      .nameList(macs).nameList(macs).nameList(["none"]).nameList(["none"])
      .nameList([]).nameList([]).boolean(false).uint32(0).bytes().slice();
  }

  /**
   * Runs the version exchange and the first key exchange; on return both directions use the
   * negotiated cipher.
   */
  async handshake(): Promise<void> {
    this.clientVersion = await this.line();
    await this.sendVersion();
    const clientInit = await this.packet();
    if (clientInit[0] !== 20) throw new Error(`expected KEXINIT, got ${clientInit[0]}`);
    const serverInit = this.kexInit();
    await this.send(serverInit);
    const init = await this.packet();
    if (init[0] !== 30) throw new Error(`expected KEX_ECDH_INIT, got ${init[0]}`);
    const clientPublic = new SshReader(init, 1).string();
    const secret = this.options.hostSecret ?? SCRIPTED_HOST_SECRET;
    const hostKey = hostKeyBlob(secret);
    const xSecret = x25519.utils.randomSecretKey();
    const serverPublic = x25519.getPublicKey(xSecret);
    const k = new SshWriter().mpintBytes(x25519.getSharedSecret(xSecret, clientPublic)).bytes()
      .slice();
    const h = sha256(
      new SshWriter().string(this.clientVersion).string(SCRIPTED_SERVER_VERSION)
        .string(clientInit).string(serverInit).string(hostKey).string(clientPublic)
        .string(serverPublic).raw(k).bytes(),
    );
    const signature = ed25519.sign(h, secret);
    await this.send(
      new SshWriter().byte(31).string(hostKey).string(serverPublic)
        .string(encodeSignature("ssh-ed25519", signature)).bytes(),
    );
    await this.send(new Uint8Array([21]));
    const strict = this.options.strictKex ?? true;
    if (strict) this.#sendSeq = 0;
    const derive = (letter: string, length: number) => deriveKey(sha256, k, h, letter, h, length);
    const spec = CIPHERS[this.cipher];
    const keys = (iv: string, key: string, mac: string): DirectionKeys => ({
      cipher: this.cipher,
      mac: this.mac,
      iv: derive(iv, spec.ivLength),
      key: derive(key, spec.keyLength),
      macKey: this.mac ? derive(mac, MACS[this.mac].keyLength) : undefined,
    });
    this.#sealer = createSealer(keys("B", "D", "F"));
    const newKeys = await this.packet();
    if (newKeys[0] !== 21) throw new Error(`expected NEWKEYS, got ${newKeys[0]}`);
    this.#opener = createOpener(keys("A", "C", "E"));
    if (strict) this.#recvSeq = 0;
  }

  /**
   * Plays the server's side of authentication: accepts the ssh-userauth service, refuses
   * `none`, and answers the first password request with `accept(password)`'s verdict.
   * Resolves to whether the client was let in.
   */
  async authenticate(accept: (password: string) => boolean): Promise<boolean> {
    const service = await this.packet();
    if (service[0] !== 5) throw new Error(`expected SERVICE_REQUEST, got ${service[0]}`);
    await this.send(new SshWriter().byte(6).string("ssh-userauth").bytes());
    for (;;) {
      const request = await this.packet();
      if (request[0] !== 50) throw new Error(`expected USERAUTH_REQUEST, got ${request[0]}`);
      const r = new SshReader(request, 1);
      r.string();
      r.string();
      const method = r.text();
      this.authMethodsSeen.push(method);
      if (method === "password") {
        r.boolean();
        if (accept(r.text())) {
          await this.send(new Uint8Array([52]));
          return true;
        }
      }
      await this.send(new SshWriter().byte(51).nameList(["password"]).boolean(false).bytes());
      if (method === "password") return false;
    }
  }
}
