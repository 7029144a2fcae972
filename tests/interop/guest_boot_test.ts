/**
 * Self-tests of the QEMU Linux guest (see _guest.ts), without usernet: the test itself is the
 * guest's peer on the socket, reads its frames and answers ARP and ICMP echo by hand. They prove
 * the guest's network is alive over each netdev kind, that scripts, files and results travel,
 * and report boot timings.
 */
import assert from "node:assert/strict";
import { interopTest, tempDir } from "./_harness.ts";
import {
  bootGuest,
  ensureGuest,
  GUEST_MAC,
  GuestExited,
  type GuestImage,
  GuestNetdevError,
  GuestTimeout,
} from "./_guest.ts";

const needs = { programs: ["qemu-system-x86_64", "busybox"], root: true };
const GATEWAY_MAC = [0x52, 0x55, 0x0a, 0x00, 0x02, 0x02];

let image: Promise<GuestImage> | undefined;
function guestImage(): Promise<GuestImage> {
  return image ??= ensureGuest();
}

const macText = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, "0")).join(":");
const ipText = (b: Uint8Array) => [...b].join(".");
const ipBytes = (s: string) => new Uint8Array(s.split(".").map(Number));
const macBytes = (s: string) => new Uint8Array(s.split(":").map((x) => parseInt(x, 16)));

/** Frames of a QEMU stream socket: each a 4-byte big-endian length, then the Ethernet frame. */
async function* streamFrames(conn: Deno.Conn): AsyncGenerator<Uint8Array> {
  let buffer = new Uint8Array(0);
  const chunk = new Uint8Array(65536);
  while (true) {
    while (buffer.length >= 4) {
      const length = new DataView(buffer.buffer, buffer.byteOffset).getUint32(0);
      if (buffer.length < 4 + length) break;
      yield buffer.slice(4, 4 + length);
      buffer = buffer.slice(4 + length);
    }
    const n = await conn.read(chunk);
    if (n === null) return;
    const next = new Uint8Array(buffer.length + n);
    next.set(buffer);
    next.set(chunk.subarray(0, n), buffer.length);
    buffer = next;
  }
}

function streamFrame(frame: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + frame.length);
  new DataView(out.buffer).setUint32(0, frame.length);
  out.set(frame, 4);
  return out;
}

interface ArpRequest {
  senderMac: string;
  senderIp: string;
  targetIp: string;
}

function parseArpRequest(frame: Uint8Array): ArpRequest | undefined {
  if (frame.length < 42) return undefined;
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  if (view.getUint16(12) !== 0x0806 || view.getUint16(20) !== 1) return undefined;
  return {
    senderMac: macText(frame.subarray(22, 28)),
    senderIp: ipText(frame.subarray(28, 32)),
    targetIp: ipText(frame.subarray(38, 42)),
  };
}

/** An ARP reply saying `ip` is at the gateway MAC. */
function arpReply(request: ArpRequest): Uint8Array {
  const frame = new Uint8Array(42);
  const view = new DataView(frame.buffer);
  frame.set(macBytes(request.senderMac), 0);
  frame.set(GATEWAY_MAC, 6);
  view.setUint16(12, 0x0806);
  view.setUint16(14, 1); // Ethernet
  view.setUint16(16, 0x0800); // IPv4
  frame[18] = 6;
  frame[19] = 4;
  view.setUint16(20, 2); // reply
  frame.set(GATEWAY_MAC, 22);
  frame.set(ipBytes(request.targetIp), 28);
  frame.set(macBytes(request.senderMac), 32);
  frame.set(ipBytes(request.senderIp), 38);
  return frame;
}

function checksum(bytes: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i + 1 < bytes.length; i += 2) sum += (bytes[i] << 8) | bytes[i + 1];
  if (bytes.length % 2) sum += bytes[bytes.length - 1] << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** The echo reply to an ICMP echo request in `frame`, or undefined if it is not one. */
function echoReply(frame: Uint8Array): Uint8Array | undefined {
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  if (frame.length < 34 || view.getUint16(12) !== 0x0800 || frame[23] !== 1) return undefined;
  const ihl = (frame[14] & 0x0f) * 4;
  const totalLength = view.getUint16(16);
  if (frame[14 + ihl] !== 8) return undefined;
  const reply = frame.slice(0, 14 + totalLength);
  reply.set(frame.subarray(6, 12), 0);
  reply.set(GATEWAY_MAC, 6);
  reply.set(frame.subarray(30, 34), 26); // swapping addresses keeps the header checksum
  reply.set(frame.subarray(26, 30), 30);
  const icmp = reply.subarray(14 + ihl);
  icmp[0] = 0;
  icmp[2] = icmp[3] = 0;
  const sum = checksum(icmp);
  icmp[2] = sum >> 8;
  icmp[3] = sum & 0xff;
  return reply;
}

interopTest(
  "qemu_guest: Linux guest ARPs for 10.0.2.2 on a unix stream socket, pings it and powers off",
  needs,
  async () => {
    const dir = await tempDir("guest-stream");
    const path = `${dir.path}/net.sock`;
    const listener = Deno.listen({ transport: "unix", path }); // up before QEMU starts
    const img = await guestImage();
    await using guest = bootGuest({
      image: img,
      netdev: { unixPath: path },
      script: "check ping ping -c1 -W10 10.0.2.2\nresult done yes\n",
    });
    try {
      const conn = await listener.accept();
      let firstFrameMs: number | undefined;
      let arp: ArpRequest | undefined;
      let arpMs: number | undefined;
      let echoes = 0;
      for await (const frame of streamFrames(conn)) {
        firstFrameMs ??= performance.now() - guest.startedAt;
        const request = parseArpRequest(frame);
        if (request?.targetIp === "10.0.2.2") {
          arp ??= request;
          arpMs ??= performance.now() - guest.startedAt;
          assert.equal(macText(frame.subarray(6, 12)), GUEST_MAC, "Ethernet source");
          await conn.write(streamFrame(arpReply(request)));
        }
        const reply = echoReply(frame);
        if (reply) {
          echoes++;
          await conn.write(streamFrame(reply));
        }
      } // QEMU closes the socket when the guest powers off
      conn.close();
      const exit = await guest.waitForExit(60_000);
      const totalMs = performance.now() - guest.startedAt;
      assert.deepEqual(arp, { senderMac: GUEST_MAC, senderIp: "10.0.2.15", targetIp: "10.0.2.2" });
      assert.equal(echoes, 1);
      assert.equal(guest.results.ping, "0", "the guest got our echo reply");
      assert.equal(guest.results.done, "yes");
      assert.match(guest.console, /^USERNET-READY ip=10\.0\.2\.15\/24 /m);
      assert.deepEqual(exit, { code: 0, signal: null, scriptStatus: 0 });
      console.log(
        `guest boot: first frame ${firstFrameMs?.toFixed(0)} ms, ARP ${arpMs?.toFixed(0)} ms, ` +
          `powered off ${totalMs.toFixed(0)} ms after QEMU started`,
      );
    } finally {
      listener.close();
      await guest.kill();
      await dir.cleanup();
    }
  },
);

interopTest(
  "qemu_guest: TCP stream netdev, own MAC and address, files in, sha256 and exit status out",
  needs,
  async () => {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (listener.addr as Deno.NetAddr).port;
    const blob = crypto.getRandomValues(new Uint8Array(60_000));
    const expected = [...new Uint8Array(await crypto.subtle.digest("SHA-256", blob))]
      .map((b) => b.toString(16).padStart(2, "0")).join("");
    const mac = "52:54:00:ab:cd:ef";
    await using guest = bootGuest({
      image: await guestImage(),
      netdev: { tcp: `127.0.0.1:${port}` },
      mac,
      ipv6: false,
      net: { ip: "192.168.77.9/24", mtu: 1400 },
      files: {
        "/data/blob.bin": blob,
        "/data/run.sh": { data: "echo ran; exit 7\n", mode: 0o755 },
      },
      script: [
        "result sha256 $(sha256sum /data/blob.bin | cut -d' ' -f1)",
        "result mtu $(cat /sys/class/net/eth0/mtu)",
        "ping -c1 -W1 192.168.77.1",
        "/data/run.sh",
      ].join("\n"),
    });
    try {
      const conn = await listener.accept();
      let arp: ArpRequest | undefined;
      for await (const frame of streamFrames(conn)) {
        arp ??= parseArpRequest(frame);
      }
      conn.close();
      const exit = await guest.waitForExit(60_000);
      assert.deepEqual(arp, { senderMac: mac, senderIp: "192.168.77.9", targetIp: "192.168.77.1" });
      assert.equal(guest.results.sha256, expected);
      assert.equal(guest.results.mtu, "1400");
      assert.match(guest.console, /^ran$/m);
      assert.deepEqual(exit, { code: 0, signal: null, scriptStatus: 7 });
    } finally {
      listener.close();
      await guest.kill();
    }
  },
);

interopTest(
  "qemu_guest: dgram netdev delivers one frame per datagram",
  needs,
  async () => {
    const dir = await tempDir("guest-dgram");
    const ours = `${dir.path}/ours.sock`;
    const socket = Deno.listenDatagram({ transport: "unixpacket", path: ours });
    await using guest = bootGuest({
      image: await guestImage(),
      netdev: { dgram: { localPath: `${dir.path}/qemu.sock`, remotePath: ours } },
      ipv6: false,
      script: "check ping ping -c1 -W10 10.0.2.2\n",
    });
    try {
      let arp: ArpRequest | undefined;
      while (!arp) {
        const [frame] = await socket.receive();
        arp = parseArpRequest(frame);
        if (arp) {
          await socket.send(arpReply(arp), {
            transport: "unixpacket",
            path: `${dir.path}/qemu.sock`,
          });
        }
      }
      assert.deepEqual(arp, { senderMac: GUEST_MAC, senderIp: "10.0.2.15", targetIp: "10.0.2.2" });
      // After our ARP reply the guest sends its echo request to the gateway MAC.
      while (true) {
        const [frame] = await socket.receive();
        const reply = echoReply(frame);
        if (reply) {
          assert.deepEqual([...frame.subarray(0, 6)], GATEWAY_MAC);
          await socket.send(reply, { transport: "unixpacket", path: `${dir.path}/qemu.sock` });
          break;
        }
      }
      const exit = await guest.waitForExit(60_000);
      assert.equal(guest.results.ping, "0");
      assert.deepEqual(exit, { code: 0, signal: null, scriptStatus: 0 });
    } finally {
      socket.close();
      await guest.kill();
      await dir.cleanup();
    }
  },
);

interopTest(
  "qemu_slirp: guest takes a DHCP lease from QEMU's user network through udhcpc",
  needs,
  async () => {
    await using guest = bootGuest({
      image: await guestImage(),
      netdev: { slirp: true }, // restrict=on: nothing leaves QEMU
      net: { dhcp: true },
      ipv6: false,
      script: "check ping ping -c1 -W5 10.0.2.2\n",
    });
    const exit = await guest.waitForExit(60_000);
    assert.equal(guest.results["dhcp.event"], "bound");
    assert.equal(guest.results["dhcp.ip"], "10.0.2.15/24");
    assert.equal(guest.results["dhcp.serverid"], "10.0.2.2");
    assert.equal(guest.results.ping, "0");
    assert.match(guest.console, /^USERNET-READY ip=10\.0\.2\.15\/24 /m);
    assert.equal(exit.scriptStatus, 0);
  },
);

interopTest(
  "qemu_guest: GuestNetdevError without a listener, GuestExited on bad options, GuestTimeout",
  needs,
  async () => {
    const dir = await tempDir("guest-errors");
    try {
      const img = await guestImage();
      assert.throws(
        () =>
          bootGuest({
            image: img,
            netdev: { unixPath: `${dir.path}/nobody-listens.sock` },
            script: "true",
          }),
        (e: unknown) => e instanceof GuestNetdevError && /nobody-listens/.test(e.message),
      );
      await using refused = bootGuest({
        image: img,
        netdev: { slirp: true },
        deviceOptions: "no_such_property=1",
        script: "true",
      });
      await assert.rejects(
        refused.waitForMarker(/USERNET-READY/, 60_000),
        (e: unknown) =>
          e instanceof GuestExited && e.exit.code !== 0 && /no_such_property/.test(e.message),
      );
      await using slow = bootGuest({
        image: await guestImage(),
        netdev: { slirp: true },
        script: "sleep 600",
      });
      await slow.waitForMarker(/^USERNET-READY/m, 60_000);
      await assert.rejects(slow.waitForMarker("NEVER-PRINTED", 200), GuestTimeout);
      const killed = await slow.kill();
      assert.equal(killed.signal, "SIGKILL");
      assert.equal(killed.scriptStatus, undefined);
    } finally {
      await dir.cleanup();
    }
  },
);
