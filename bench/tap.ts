/**
 * TAP frames per second, usernet's `TapNic` next to the Linux side of the same TAP device in the
 * same run, in a network namespace made for the run (Linux at 10.77.0.1, usernet at 10.77.0.2):
 *
 * - Linux sends, usernet reads: a python3 sender in the namespace writes prebuilt 60-byte UDP
 *   frames to tap0 through an AF_PACKET socket as fast as it can for 2 s; usernet reads with
 *   `TapNic.receive`. Reference: the frames Linux's sender got out per second; usernet: the
 *   frames it read per second over the same span.
 * - usernet writes, Linux receives: usernet writes 60-byte UDP frames (to Linux's address and
 *   MAC, a closed port) with `TapNic.transmit` in batches for 2 s. usernet: frames written per
 *   second; reference: frames the Linux interface took in per second (tap0 `rx_packets`).
 *
 * Needs root (namespaces, TAP), `ip` and python3; otherwise the rows say why they are missing.
 *
 * @module
 */
import { TapNic } from "../drivers/tap.ts";
import { createTapNamespace } from "../tests/interop/_netns.ts";
import { writeEthernetHeader } from "../net/wire/ethernet.ts";
import { writeIpv4Header } from "../net/wire/ipv4.ts";
import { writeUdp } from "../net/wire/udp.ts";
import { parseMac } from "../net/wire/address.ts";
import type { BenchRow } from "./row.ts";

const LINUX = 0x0a4d0001; // 10.77.0.1
const USERNET = 0x0a4d0002; // 10.77.0.2
const USERNET_MAC = new Uint8Array([0x02, 0x75, 0x6e, 0x00, 0x00, 0x02]);
const SECONDS = 2;

/** A 60-byte Ethernet/IPv4/UDP frame (18 bytes of payload). */
function udpFrame(destinationMac: Uint8Array, source: number, destination: number): Uint8Array {
  const frame = new Uint8Array(60);
  writeEthernetHeader(frame, 0, destinationMac, USERNET_MAC, 0x0800);
  writeUdp(frame, 34, source, destination, 40000, 9, new Uint8Array(18));
  writeIpv4Header(frame, 14, {
    source,
    destination,
    protocol: 17,
    payloadLength: 26,
    identification: 0,
    ttl: 64,
  });
  return frame;
}

const SENDER = `
import socket, sys, time
frame = bytes.fromhex(sys.argv[1]); seconds = float(sys.argv[2])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("tap0", 0))
send = s.send
sent = 0
end = time.perf_counter() + seconds
start = time.perf_counter()
while True:
    for _ in range(1000):
        try:
            send(frame); sent += 1
        except OSError:
            pass
    now = time.perf_counter()
    if now >= end:
        break
print(sent, now - start, flush=True)
`;

function missing(why: string): BenchRow[] {
  return [
    {
      name: "TAP read, 60 B frames (Linux sends)",
      usernet: NaN,
      reference: undefined,
      referenceLabel: "Linux AF_PACKET sender (python3)",
      unit: "frames/s",
      note: why,
    },
    {
      name: "TAP write, 60 B frames (Linux receives)",
      usernet: NaN,
      reference: undefined,
      referenceLabel: "Linux tap0 rx_packets",
      unit: "frames/s",
      note: why,
    },
  ];
}

async function interfaceCounters(
  ns: string,
): Promise<{ rx: number; tx: number; txDropped: number }> {
  const out = await new Deno.Command("ip", {
    args: ["-n", ns, "-s", "-j", "link", "show", "tap0"],
    stdout: "piped",
  }).output();
  const [link] = JSON.parse(new TextDecoder().decode(out.stdout));
  return {
    rx: link.stats64.rx.packets,
    tx: link.stats64.tx.packets,
    txDropped: link.stats64.tx.dropped,
  };
}

/** TAP rows in frames/s, or rows that say why they could not run. */
export async function tapRows(): Promise<BenchRow[]> {
  if (Deno.uid() !== 0) return missing("needs root (network namespace and TAP device)");
  try {
    Deno.statSync("/dev/net/tun");
  } catch {
    return missing("no /dev/net/tun");
  }
  const ns = await createTapNamespace("bench-tap", "10.77.0.1/24");
  const nic = TapNic.open({ name: ns.tap, netns: ns.name, mac: USERNET_MAC });
  try {
    await ns.exec("ip", ["link", "set", "tap0", "txqueuelen", "10000"]);
    const linuxMac = parseMac(
      (await ns.exec("cat", ["/sys/class/net/tap0/address"])).trim(),
    )!;
    await ns.exec("ip", [
      "neigh",
      "replace",
      "10.77.0.2",
      "lladdr",
      "02:75:6e:00:00:02",
      "dev",
      "tap0",
    ]);

    // Linux sends, usernet reads.
    const toUsernet = udpFrame(USERNET_MAC, LINUX, USERNET);
    const hex = Array.from(toUsernet, (b) => b.toString(16).padStart(2, "0")).join("");
    const sender = new Deno.Command("ip", {
      args: ["netns", "exec", ns.name, "python3", "-c", SENDER, hex, String(SECONDS)],
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    let read = 0;
    let batches = 0;
    let done = false;
    const senderOutput = sender.output().finally(() => (done = true));
    let firstAt = 0;
    let lastAt = 0;
    while (!done) {
      const frames = await Promise.race([nic.receive(), senderOutput.then(() => null)]);
      if (!frames) break;
      if (!firstAt) firstAt = performance.now();
      lastAt = performance.now();
      read += frames.length;
      batches++;
    }
    // Drain what is still queued.
    for (;;) {
      const frames = await Promise.race([
        nic.receive(),
        new Promise<null>((r) => setTimeout(() => r(null), 200)),
      ]);
      if (!frames) break;
      lastAt = performance.now();
      read += frames.length;
    }
    const result = await senderOutput;
    const [sentText, secondsText] = new TextDecoder().decode(result.stdout).trim().split(" ");
    const sent = Number(sentText);
    const senderSeconds = Number(secondsText);
    const readRate = read / Math.max(senderSeconds, (lastAt - firstAt) / 1000);

    // usernet writes, Linux receives.
    const toLinux = udpFrame(linuxMac, USERNET, LINUX);
    const batch = Array.from({ length: 256 }, () => ({ data: toLinux }));
    const before = await interfaceCounters(ns.name);
    const txBefore = nic.stats().txFrames;
    const start = performance.now();
    while (performance.now() - start < SECONDS * 1000) {
      for (let i = 0; i < 16; i++) nic.transmit(batch);
      await new Promise((r) => setTimeout(r, 0)); // let the event loop breathe, as a stack would
    }
    const elapsed = (performance.now() - start) / 1000;
    const written = nic.stats().txFrames - txBefore;
    const after = await interfaceCounters(ns.name);
    const linuxReceived = after.rx - before.rx;
    return [
      {
        name: "TAP read, 60 B frames (Linux sends)",
        usernet: readRate,
        reference: sent / senderSeconds,
        referenceLabel: "Linux AF_PACKET sender (python3) on the same TAP",
        unit: "frames/s",
        note: `usernet read ${read} of ${sent} frames sent, ${
          (read / Math.max(1, batches)).toFixed(0)
        } per receive()`,
      },
      {
        name: "TAP write, 60 B frames (Linux receives)",
        usernet: written / elapsed,
        reference: linuxReceived / elapsed,
        referenceLabel: "Linux tap0 rx_packets, same run",
        unit: "frames/s",
        note: `${written - linuxReceived} written frames not counted by Linux`,
      },
    ];
  } catch (error) {
    return missing(`failed: ${(error as Error).message}`);
  } finally {
    nic.close();
    await ns.cleanup();
  }
}
