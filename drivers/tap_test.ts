import assert from "node:assert/strict";
import { inNetns, TapError, TapNic } from "./tap.ts";
import { interopTest } from "../tests/interop/_harness.ts";
import { createTapNamespace } from "../tests/interop/_netns.ts";
import { ARP_REPLY, ARP_REQUEST, parseArp, writeArp } from "../net/wire/arp.ts";
import { ETHERTYPE_ARP, writeEthernetHeader } from "../net/wire/ethernet.ts";
import { BROADCAST_MAC, formatMac } from "../net/wire/address.ts";
import { WireError } from "../net/wire/errors.ts";
import type { Frame } from "./nic.ts";

Deno.test("tap: invalid interface and namespace names are refused before any system call", () => {
  for (const name of ["", "tap0 ", "a/b", "sixteen-chars-xx", "tap;rm"]) {
    assert.throws(() => TapNic.open({ name }), TapError, JSON.stringify(name));
  }
  for (const netns of ["", "../etc", "a b"]) {
    assert.throws(() => inNetns(netns, () => 1), TapError, JSON.stringify(netns));
  }
});

const needs = { root: true, programs: ["ip"], files: ["/dev/net/tun"] };
const OUR_MAC = new Uint8Array([0x02, 0x75, 0x6e, 0, 0, 0x02]);

/** Receives until a frame matches or the deadline passes. */
async function receiveMatching(nic: TapNic, match: (f: Frame) => boolean, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const frames = await Promise.race([
      nic.receive(),
      new Promise<null>((r) => setTimeout(() => r(null), deadline - Date.now())),
    ]);
    for (const f of frames ?? []) if (match(f)) return f;
  }
  throw new Error("no matching frame from the TAP");
}

interopTest(
  "linux_tap: TapNic asks Linux's ARP and reads the reply; short frames are padded",
  needs,
  async () => {
    const ns = await createTapNamespace("tap-drv", "10.78.0.1/24");
    const nic = TapNic.open({ name: ns.tap, netns: ns.name, mac: OUR_MAC });
    try {
      assert.equal(nic.name, "tap0");
      assert.equal(nic.mtu, 1500);
      const request = new Uint8Array(42); // Linux sees it padded to 60
      writeEthernetHeader(request, 0, BROADCAST_MAC, OUR_MAC, ETHERTYPE_ARP);
      writeArp(request, 14, ARP_REQUEST, OUR_MAC, 0x0a4e0002, new Uint8Array(6), 0x0a4e0001);
      // Retried like an ARP client would: right after the TAP comes up Linux may miss one.
      let reply: Frame | undefined;
      for (let attempt = 0; !reply && attempt < 10; attempt++) {
        nic.transmit([{ data: request }]);
        reply = await receiveMatching(nic, (f) => f.data[12] === 8 && f.data[13] === 6, 500)
          .catch(() => undefined);
      }
      assert.ok(reply, "Linux answered the ARP request");
      const arp = parseArp(reply.data.subarray(14));
      assert.ok(!(arp instanceof WireError));
      assert.equal(arp.operation, ARP_REPLY);
      assert.equal(arp.senderProtocolAddress, 0x0a4e0001);
      const linuxMac = (await ns.exec("cat", ["/sys/class/net/tap0/address"])).trim();
      assert.equal(formatMac(arp.senderHardwareAddress), linuxMac);
      assert.deepEqual(arp.targetHardwareAddress, OUR_MAC);
      const { txFrames, txBytes } = nic.stats();
      assert.ok(txFrames >= 1);
      assert.equal(txBytes, 60 * txFrames, "padded to the Ethernet minimum");
      assert.ok(nic.stats().rxFrames >= 1);
      // Linux learned our MAC from the request.
      assert.match(await ns.exec("ip", ["neigh", "show", "10.78.0.2"]), /02:75:6e:00:00:02/);
    } finally {
      nic.close();
      await ns.cleanup();
    }
  },
);

interopTest("linux_tap: close resolves a pending receive with null", needs, async () => {
  const ns = await createTapNamespace("tap-close", "10.78.1.1/24");
  const nic = TapNic.open({ name: ns.tap, netns: ns.name });
  try {
    // Drain whatever Linux announced on bring-up, then wait with nothing arriving.
    const pending = (async () => {
      for (;;) {
        const frames = await nic.receive();
        if (frames === null) return null;
      }
    })();
    await Promise.resolve();
    nic.close();
    assert.equal(await pending, null);
    nic.transmit([{ data: new Uint8Array(60) }]);
    assert.equal(nic.stats().txDropped, 1);
  } finally {
    await ns.cleanup();
  }
});

interopTest(
  "linux_tap: a missing namespace is a TapError that says how to create it",
  needs,
  () => {
    assert.throws(
      () => TapNic.open({ name: "tap0", netns: "un-no-such-namespace" }),
      (e: unknown) => e instanceof TapError && /ip netns add un-no-such-namespace/.test(e.message),
    );
    return Promise.resolve();
  },
);
