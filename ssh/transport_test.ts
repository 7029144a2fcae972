import { equal, ok, rejects } from "node:assert/strict";
import { ed25519, x25519 } from "@noble/curves/ed25519.js";
import { ml_kem768 } from "@noble/post-quantum/ml-kem.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { memoryConnPair } from "./_memory_conn.ts";
import { concat, SshReader, SshWriter } from "./_wire.ts";
import { CLIENT_VERSION, Transport } from "./transport.ts";
import { NoneOpener, NoneSealer } from "./_cipher.ts";
import { setNativeCrypto } from "./_libcrypto.ts";
import { ScriptedSshServer } from "./_test_server.ts";
import { encodeSignature } from "./host_key.ts";
import type { Conn } from "../net/conn.ts";
import {
  DisconnectError,
  KeyExchangeFailed,
  NoCommonAlgorithm,
  StrictKexViolation,
} from "./errors.ts";

const SERVER_VERSION = "SSH-2.0-ScriptedPeer_1.0";
const hex = (b: Uint8Array) =>
  Array.from(sha256(b), (x) => x.toString(16).padStart(2, "0")).join("");

/** A scripted server speaking the unencrypted part of the protocol. */
class ScriptedServer {
  #buf: Uint8Array = new Uint8Array(0);
  #sealer = new NoneSealer();
  #opener = new NoneOpener();
  constructor(readonly conn: Conn) {}
  async write(b: Uint8Array) {
    await this.conn.write(b);
  }
  async send(payload: Uint8Array) {
    await this.conn.write(this.#sealer.seal(0, payload));
  }
  async #fill() {
    const chunk = new Uint8Array(65536);
    const n = await this.conn.read(chunk);
    if (n === null) throw new Error("client closed");
    this.#buf = concat(this.#buf, chunk.subarray(0, n));
  }
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
  async packet(): Promise<Uint8Array> {
    while (this.#buf.length < 4) await this.#fill();
    const size = this.#opener.packetSize(0, this.#buf);
    while (this.#buf.length < size) await this.#fill();
    const p = this.#opener.open(0, this.#buf.subarray(0, size)).slice();
    this.#buf = this.#buf.subarray(size);
    return p;
  }
  /** Resolves with the client's close (EOF) or rejects on timeout. */
  async closedByClient(): Promise<boolean> {
    try {
      for (;;) await this.packet();
    } catch {
      return true;
    }
  }
}

function kexInit(kex: string[], hostKey = ["ssh-ed25519"]): Uint8Array {
  return new SshWriter().byte(20).raw(new Uint8Array(16)).nameList(kex).nameList(hostKey)
    .nameList(["aes128-gcm@openssh.com"]).nameList(["aes128-gcm@openssh.com"])
    .nameList(["hmac-sha2-256"]).nameList(["hmac-sha2-256"]).nameList(["none"]).nameList(["none"])
    .nameList([]).nameList([]).boolean(false).uint32(0).bytes().slice();
}

function setup(options: Partial<ConstructorParameters<typeof Transport>[1]> = {}) {
  const [clientConn, serverConn] = memoryConnPair();
  const transport = new Transport(clientConn, {
    verifyHostKey: async () => {},
    onMessage: () => {},
    ...options,
  });
  return { transport, server: new ScriptedServer(serverConn) };
}

Deno.test("transport: sends its identification and KEXINIT with strict-KEX and ext-info markers", async () => {
  const { transport, server } = setup();
  const started = transport.start().catch((e) => e);
  equal(await server.line(), CLIENT_VERSION);
  await server.write(new TextEncoder().encode("a banner line\r\n" + SERVER_VERSION + "\r\n"));
  const init = await server.packet();
  equal(init[0], 20);
  const kex = new SshReader(init, 17).nameList();
  ok(kex.includes("kex-strict-c-v00@openssh.com"));
  ok(kex.includes("ext-info-c"));
  ok(kex.includes("mlkem768x25519-sha256"));
  transport.abort(new Error("done"));
  await started;
});

Deno.test("transport: strict KEX refuses an IGNORE injected before the server's KEXINIT (Terrapin)", async () => {
  const { transport, server } = setup();
  const started = transport.start();
  await server.line();
  await server.write(new TextEncoder().encode(SERVER_VERSION + "\r\n"));
  await server.packet();
  await server.send(new SshWriter().byte(2).string("injected").bytes());
  await server.send(kexInit(["curve25519-sha256", "kex-strict-s-v00@openssh.com"]));
  await rejects(started, StrictKexViolation);
});

Deno.test("transport: strict KEX refuses an IGNORE during the initial exchange", async () => {
  const { transport, server } = setup();
  const started = transport.start();
  await server.line();
  await server.write(new TextEncoder().encode(SERVER_VERSION + "\r\n"));
  await server.packet();
  await server.send(kexInit(["curve25519-sha256", "kex-strict-s-v00@openssh.com"]));
  await server.send(new SshWriter().byte(2).string("injected").bytes());
  await rejects(started, StrictKexViolation);
  ok(await server.closedByClient());
});

Deno.test("transport: without strict KEX from the server, an early IGNORE is tolerated", async () => {
  const { transport, server } = setup();
  const started = transport.start().catch((e) => e);
  await server.line();
  await server.write(new TextEncoder().encode(SERVER_VERSION + "\r\n"));
  await server.packet(); // client KEXINIT
  await server.send(new SshWriter().byte(2).string("harmless").bytes());
  await server.send(kexInit(["curve25519-sha256"]));
  const ecdhInit = await server.packet();
  equal(ecdhInit[0], 30);
  equal(new SshReader(ecdhInit, 1).string().length, 32);
  ok(!transport.strictKex);
  transport.abort(new Error("done"));
  await started;
});

Deno.test("transport: no common algorithm is a typed error", async () => {
  const { transport, server } = setup();
  const started = transport.start();
  await server.line();
  await server.write(new TextEncoder().encode(SERVER_VERSION + "\r\n"));
  await server.packet();
  await server.send(kexInit(["diffie-hellman-group1-sha1"]));
  await rejects(started, (e: unknown) => e instanceof NoCommonAlgorithm && e.category === "kex");
});

/** Runs the server side of a hybrid or curve25519 exchange; returns H. */
async function serverKex(
  server: ScriptedServer,
  method: "mlkem768x25519-sha256" | "curve25519-sha256",
  options: { injectIgnoreBeforeNewKeys?: boolean; badSignature?: boolean } = {},
): Promise<Uint8Array> {
  await server.line();
  await server.write(new TextEncoder().encode(SERVER_VERSION + "\r\n"));
  const clientInit = await server.packet();
  const serverInit = kexInit([method, "kex-strict-s-v00@openssh.com"]);
  await server.send(serverInit);
  const init = await server.packet();
  equal(init[0], 30);
  const clientPublic = new SshReader(init, 1).string();
  const hostSecret = ed25519.utils.randomSecretKey();
  const hostKey = new SshWriter().string("ssh-ed25519").string(ed25519.getPublicKey(hostSecret))
    .bytes()
    .slice();
  const xSecret = x25519.utils.randomSecretKey();
  let serverPublic: Uint8Array;
  let k: Uint8Array;
  if (method === "mlkem768x25519-sha256") {
    equal(clientPublic.length, 1184 + 32);
    const { cipherText, sharedSecret } = ml_kem768.encapsulate(clientPublic.subarray(0, 1184));
    const cl = x25519.getSharedSecret(xSecret, clientPublic.subarray(1184));
    serverPublic = concat(cipherText, x25519.getPublicKey(xSecret));
    k = new SshWriter().string(sha256(concat(sharedSecret, cl))).bytes().slice();
  } else {
    const cl = x25519.getSharedSecret(xSecret, clientPublic);
    serverPublic = x25519.getPublicKey(xSecret);
    k = new SshWriter().mpintBytes(cl).bytes().slice();
  }
  const h = sha256(
    new SshWriter().string(CLIENT_VERSION).string(SERVER_VERSION).string(clientInit).string(
      serverInit,
    )
      .string(hostKey).string(clientPublic).string(serverPublic).raw(k).bytes(),
  );
  const sig = ed25519.sign(options.badSignature ? sha256(h) : h, hostSecret);
  await server.send(
    new SshWriter().byte(31).string(hostKey).string(serverPublic).string(
      encodeSignature("ssh-ed25519", sig),
    )
      .bytes(),
  );
  if (options.injectIgnoreBeforeNewKeys) await server.send(new Uint8Array([2, 0, 0, 0, 0]));
  await server.send(new Uint8Array([21]));
  return h;
}

for (const method of ["mlkem768x25519-sha256", "curve25519-sha256"] as const) {
  Deno.test(`transport: ${method} against an independent server computes the same exchange hash`, async () => {
    const { transport, server } = setup({
      algorithms: { kex: [method], hostKey: ["ssh-ed25519"] },
    });
    const started = transport.start();
    const h = await serverKex(server, method);
    const newKeys = await server.packet();
    equal(newKeys[0], 21);
    await started;
    equal(transport.algorithms.kex, method);
    ok(transport.strictKex);
    equal(Array.from(transport.sessionId).join(), Array.from(h).join());
    transport.abort(new Error("done"));
  });
}

Deno.test("transport: IGNORE injected just before NEWKEYS is refused under strict KEX", async () => {
  const { transport, server } = setup({ algorithms: { kex: ["curve25519-sha256"] } });
  const started = transport.start();
  await serverKex(server, "curve25519-sha256", { injectIgnoreBeforeNewKeys: true });
  await rejects(started, StrictKexViolation);
});

Deno.test("transport: a bad signature over the exchange hash fails the key exchange", async () => {
  const { transport, server } = setup({ algorithms: { kex: ["curve25519-sha256"] } });
  const started = transport.start();
  serverKex(server, "curve25519-sha256", { badSignature: true }).catch(() => {});
  await rejects(started, KeyExchangeFailed);
});

Deno.test("transport: the host key callback can refuse the key", async () => {
  class Refused extends Error {}
  const { transport, server } = setup({
    algorithms: { kex: ["curve25519-sha256"] },
    verifyHostKey: () => Promise.reject(new Refused("no")),
  });
  const started = transport.start();
  serverKex(server, "curve25519-sha256").catch(() => {});
  await rejects(started, Refused);
});

Deno.test("transport: an unsupported algorithm in the preferences is refused up front", () => {
  const [a] = memoryConnPair();
  let threw = false;
  try {
    new Transport(a, {
      verifyHostKey: async () => {},
      onMessage: () => {},
      algorithms: { cipher: ["3des-cbc"] },
    });
  } catch {
    threw = true;
  }
  ok(threw);
});

Deno.test("transport: the server's DISCONNECT is reported with its reason", async () => {
  const { transport, server } = setup();
  const started = transport.start();
  await server.line();
  await server.write(new TextEncoder().encode(SERVER_VERSION + "\r\n"));
  await server.packet();
  await server.send(new SshWriter().byte(1).uint32(12).string("too many").string("").bytes());
  await rejects(started, (e: unknown) => {
    ok(e instanceof DisconnectError);
    equal(e.reasonCode, 12);
    equal(e.reason, "TOO_MANY_CONNECTIONS");
    equal(e.description, "too many");
    return true;
  });
});

Deno.test("transport: an abort during the handshake rejects start() with the reason", async () => {
  const { transport, server } = setup();
  const started = transport.start();
  await server.line();
  class Aborted extends Error {}
  transport.abort(new Aborted("user gave up"));
  await rejects(started, Aborted);
  ok(transport.isClosed);
});

Deno.test("transport: a server that closes early is ConnectionLost", async () => {
  const { transport, server } = setup();
  const started = transport.start();
  await server.line();
  server.conn.close();
  await rejects(started, (e: unknown) => (e as Error).name === "ConnectionLost");
});

for (const cipher of ["aes128-gcm@openssh.com", "chacha20-poly1305@openssh.com", "aes128-ctr"]) {
  for (const native of [true, false]) {
    Deno.test(`transport: ${cipher}${native ? "" : " without libcrypto"}: packets of every size arrive whole and in order`, async () => {
      setNativeCrypto(native);
      const [clientConn, serverConn] = memoryConnPair();
      const server = new ScriptedSshServer(serverConn, { cipher });
      const transport = new Transport(clientConn, {
        verifyHostKey: async () => {},
        onMessage: () => {},
      });
      try {
        await Promise.all([server.handshake(), transport.start()]);
        // Small packets (noble or a write buffer), large ones (WebCrypto or a write buffer),
        // and channel data given as header and data: one order on the wire.
        const sizes = [10, 40000, 100, 32768 + 9, 5, 70000, 3000, 1];
        const sent: Uint8Array[] = [];
        const waits: Array<Promise<void> | undefined> = [];
        for (const [i, n] of sizes.entries()) {
          const payload = Uint8Array.from({ length: n }, (_, j) => (i * 7 + j) & 0xff);
          payload[0] = 2; // IGNORE
          sent.push(payload);
          if (i % 2) {
            waits.push(transport.sendData(payload.subarray(0, 1), payload.subarray(1)));
          } else waits.push(transport.send(payload));
        }
        await Promise.all(waits);
        for (const expected of sent) equal(hex(await server.packet()), hex(expected));
      } finally {
        setNativeCrypto(true);
        await transport.close();
      }
    });
  }
}
