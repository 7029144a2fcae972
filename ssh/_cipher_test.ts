import { deepEqual, equal, ok, rejects, throws } from "node:assert/strict";
import { chacha20orig } from "@noble/ciphers/chacha.js";
import {
  CIPHERS,
  createOpener,
  createSealer,
  type DirectionKeys,
  MACS,
  NoneOpener,
  NoneSealer,
  setWebCryptoThreshold,
} from "./_cipher.ts";
import { nativeCryptoAvailable, setNativeCrypto } from "./_libcrypto.ts";
import { IntegrityError, PacketTooLarge } from "./errors.ts";
import { SshWriter } from "./_wire.ts";

function keysFor(cipher: string, mac?: string, seed = 1): DirectionKeys {
  const spec = CIPHERS[cipher];
  const fill = (n: number, s: number) =>
    Uint8Array.from({ length: n }, (_, i) => (i * 7 + s) & 0xff);
  return {
    cipher,
    mac,
    key: fill(spec.keyLength, seed),
    iv: fill(spec.ivLength, seed + 1),
    macKey: mac ? fill(MACS[mac].keyLength, seed + 2) : undefined,
  };
}

const suites: Array<[string, string | undefined]> = [
  ["chacha20-poly1305@openssh.com", undefined],
  ["aes128-gcm@openssh.com", undefined],
  ["aes256-gcm@openssh.com", undefined],
  ...["aes128-ctr", "aes192-ctr", "aes256-ctr"].flatMap((c) =>
    Object.keys(MACS).map((m) => [c, m] as [string, string])
  ),
];

async function roundTrip(cipher: string, mac: string | undefined, sizes: number[]) {
  const sealer = createSealer(keysFor(cipher, mac));
  const opener = createOpener(keysFor(cipher, mac));
  for (let seq = 0; seq < sizes.length; seq++) {
    const payload = Uint8Array.from({ length: sizes[seq] }, (_, i) => (i + seq) & 0xff);
    const wire = await sealer.seal(seq, payload);
    const size = opener.packetSize(seq, wire.subarray(0, opener.headerLength));
    equal(size, wire.length);
    deepEqual(await opener.open(seq, wire), payload);
  }
}

for (const [cipher, mac] of suites) {
  Deno.test(`cipher: ${cipher} ${mac ?? ""} round-trips small and large packets`, async () => {
    await roundTrip(cipher, mac, [1, 15, 16, 17, 100, 4000, 32768 + 9, 70000]);
  });

  Deno.test(`cipher: ${cipher} ${mac ?? ""} noble and WebCrypto paths make identical packets`, async () => {
    // Same keys, same sequence: the ciphertext must not depend on which engine ran it,
    // apart from random padding, so compare after opening with the other engine.
    const payloads = [new Uint8Array(5000).fill(3), new Uint8Array(20).fill(9)];
    setWebCryptoThreshold(1 << 30);
    const sealer = createSealer(keysFor(cipher, mac));
    const wires = [];
    for (let i = 0; i < payloads.length; i++) wires.push(await sealer.seal(i, payloads[i]));
    setWebCryptoThreshold(0);
    try {
      const opener = createOpener(keysFor(cipher, mac));
      for (let i = 0; i < wires.length; i++) {
        opener.packetSize(i, wires[i]);
        deepEqual(await opener.open(i, wires[i]), payloads[i]);
      }
    } finally {
      setWebCryptoThreshold(2048);
    }
  });

  Deno.test(`cipher: ${cipher} ${mac ?? ""} seals payload and data into a write buffer`, async () => {
    const sealer = createSealer(keysFor(cipher, mac));
    const opener = createOpener(keysFor(cipher, mac));
    const header = new Uint8Array([94, 0, 0, 0, 1, 0, 0, 0, 200]);
    const data = Uint8Array.from({ length: 32768 }, (_, i) => i & 0xff);
    const buf = new Uint8Array(3 * 33000);
    let at = 3;
    const wires: Uint8Array[] = [];
    for (let seq = 0; seq < 3; seq++) {
      const n = header.length + data.length;
      const size = sealer.sealedSize?.(n) ?? -1;
      let wire: Uint8Array;
      if (size > 0) {
        wire = buf.subarray(at, at + size);
        sealer.sealInto!(seq, header, data, wire);
        at += size;
      } else {
        wire = await sealer.seal(seq, header, data); // no synchronous path for this cipher
      }
      wires.push(wire);
    }
    for (let seq = 0; seq < wires.length; seq++) {
      equal(opener.packetSize(seq, wires[seq].subarray(0, opener.headerLength)), wires[seq].length);
      const payload = await opener.open(seq, wires[seq]);
      deepEqual(payload.subarray(0, 9), header);
      deepEqual(payload.subarray(9), data);
    }
  });

  if (cipher.includes("gcm")) {
    Deno.test({
      name: `cipher: ${cipher} libcrypto, WebCrypto and noble open each other's packets`,
      ignore: !nativeCryptoAvailable(),
      async fn() {
        const sizes = [20, 5000, 32768 + 9];
        const payloads = sizes.map((n, i) => new Uint8Array(n).fill(i + 1));
        const run = async (sealNative: boolean) => {
          setNativeCrypto(sealNative);
          const sealer = createSealer(keysFor(cipher));
          setNativeCrypto(!sealNative);
          const opener = createOpener(keysFor(cipher));
          for (let seq = 0; seq < payloads.length; seq++) {
            const wire = await sealer.seal(seq, payloads[seq]);
            opener.packetSize(seq, wire);
            deepEqual(await opener.open(seq, wire), payloads[seq]);
          }
        };
        try {
          await run(true);
          await run(false);
        } finally {
          setNativeCrypto(true);
        }
      },
    });

    Deno.test(`cipher: ${cipher} without libcrypto round-trips and detects a flipped bit`, async () => {
      setNativeCrypto(false);
      try {
        await roundTrip(cipher, mac, [1, 15, 16, 17, 100, 4000, 32768 + 9, 70000]);
        equal(createSealer(keysFor(cipher)).sealedSize?.(100), -1);
        for (const size of [50, 9000]) {
          const wire = await createSealer(keysFor(cipher)).seal(0, new Uint8Array(size));
          wire[wire.length - 20] ^= 1;
          const opener = createOpener(keysFor(cipher));
          opener.packetSize(0, wire);
          await rejects(async () => await opener.open(0, wire), IntegrityError);
        }
      } finally {
        setNativeCrypto(true);
      }
    });
  }

  Deno.test(`cipher: ${cipher} ${mac ?? ""} detects a flipped bit`, async () => {
    for (const size of [50, 9000]) {
      const sealer = createSealer(keysFor(cipher, mac));
      const opener = createOpener(keysFor(cipher, mac));
      const wire = await sealer.seal(0, new Uint8Array(size));
      wire[wire.length - 20] ^= 1;
      opener.packetSize(0, wire);
      let err: unknown;
      try {
        await opener.open(0, wire);
      } catch (e) {
        err = e;
      }
      ok(err instanceof IntegrityError, `size ${size}: ${err}`);
    }
  });

  Deno.test(`cipher: ${cipher} ${mac ?? ""} wrong sequence number fails`, async () => {
    if (cipher.includes("gcm")) return; // GCM binds the invocation counter, not seq
    const sealer = createSealer(keysFor(cipher, mac));
    const opener = createOpener(keysFor(cipher, mac));
    const wire = await sealer.seal(5, new Uint8Array(100));
    let failed = false;
    try {
      opener.packetSize(6, wire);
      await opener.open(6, wire);
    } catch {
      failed = true;
    }
    ok(failed);
  });
}

Deno.test("cipher: chacha20-poly1305@openssh.com layout follows PROTOCOL.chacha20poly1305", async () => {
  const keys = keysFor("chacha20-poly1305@openssh.com");
  const wire = await createSealer(keys).seal(7, new Uint8Array([94, 1, 2, 3]));
  const nonce = new Uint8Array(8);
  new DataView(nonce.buffer).setUint32(4, 7);
  // The length is encrypted with K_1 (the second half of the key) at block 0.
  const len = chacha20orig(keys.key.subarray(32), nonce, wire.subarray(0, 4));
  const packetLength = new DataView(len.buffer).getUint32(0);
  equal(wire.length, 4 + packetLength + 16);
  equal(packetLength % 8, 0);
  // The payload is encrypted with K_2 from block 1.
  const body = chacha20orig(
    keys.key.subarray(0, 32),
    nonce,
    wire.subarray(4, 4 + packetLength),
    undefined,
    1,
  );
  deepEqual(body.subarray(1, 5), new Uint8Array([94, 1, 2, 3]));
});

Deno.test("cipher: plaintext packets follow RFC 4253 §6 padding rules", () => {
  const wire = new NoneSealer().seal(0, new Uint8Array(10));
  equal(wire.length % 8, 0);
  const pad = wire[4];
  ok(pad >= 4);
  equal(new NoneOpener().packetSize(0, wire), wire.length);
});

Deno.test("cipher: oversized packet length is PacketTooLarge", () => {
  const header = new SshWriter().uint32(1 << 24).bytes();
  throws(() => new NoneOpener().packetSize(0, header), PacketTooLarge);
});
