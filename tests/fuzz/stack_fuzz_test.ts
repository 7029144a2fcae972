/**
 * Fuzzes a running Stack with random and mutated frames over a memory link: valid ARP, ICMP,
 * UDP, TCP and fragment frames addressed to it, then bit flips, truncation, length fields that
 * lie (with checksums fixed so the lie reaches the next layer), random IPv4 and TCP option
 * bytes, fragment offset games, and plain noise.
 *
 * Asserts that nothing escapes as an exception (no `stack/internal-error`, no unhandled
 * rejection), that every frame is accounted for (accepted or counted as a drop), that memory
 * stays bounded (reassembly and neighbour tables within their limits), and that the stack still
 * answers a ping and a UDP echo afterwards.
 *
 * Seeded: set USERNET_FUZZ_SEED to replay a run (the seed is printed); USERNET_FUZZ_FRAMES sets
 * the number of frames (default 200 000).
 *
 * @module
 */
import assert from "node:assert/strict";
import { MemoryLink } from "../../drivers/memory.ts";
import { seededRandom } from "../../drivers/_random.ts";
import { Stack } from "../../net/stack.ts";
import { BROADCAST_MAC } from "../../net/wire/address.ts";
import { ARP_REPLY, ARP_REQUEST, writeArp } from "../../net/wire/arp.ts";
import {
  foldChecksum,
  internetChecksum,
  pseudoHeaderSum,
  sumWords,
} from "../../net/wire/checksum.ts";
import { ETHERTYPE_ARP, ETHERTYPE_IPV4, writeEthernetHeader } from "../../net/wire/ethernet.ts";
import {
  ICMP_DESTINATION_UNREACHABLE,
  ICMP_ECHO_REPLY,
  ICMP_ECHO_REQUEST,
  ICMP_TIME_EXCEEDED,
  writeIcmpEcho,
  writeIcmpError,
} from "../../net/wire/icmpv4.ts";
import { PROTOCOL_ICMP, PROTOCOL_TCP, PROTOCOL_UDP, writeIpv4Header } from "../../net/wire/ipv4.ts";
import { TcpFlags, writeTcp } from "../../net/wire/tcp.ts";
import { writeUdp } from "../../net/wire/udp.ts";

const STACK_IP = 0x0a000002; // 10.0.0.2
const PEER_IP = 0x0a000001; // 10.0.0.1, a real stack that pings afterwards
const ECHO_PORT = 7;
const LIMITS = { maxDatagrams: 16, maxBytes: 256 * 1024, maxEntries: 64 };

const seed = Number(Deno.env.get("USERNET_FUZZ_SEED") ?? Math.floor(Math.random() * 2 ** 31));
const frameCount = Number(Deno.env.get("USERNET_FUZZ_FRAMES") ?? 200_000);

/** The fuzzer's random source and the frame templates and mutations built on it. */
class FrameFuzzer {
  readonly random: () => number;
  constructor(seed: number, readonly stackMac: Uint8Array) {
    this.random = seededRandom(seed);
  }

  int(n: number): number {
    return Math.floor(this.random() * n);
  }
  chance(p: number): boolean {
    return this.random() < p;
  }
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.int(256);
    return out;
  }
  pick<T>(items: T[]): T {
    return items[this.int(items.length)];
  }

  /** A source address: on-link (never the peer's or ours), off-link, or odd. */
  sourceAddress(): number {
    const r = this.random();
    if (r < 0.6) return 0x0a000000 + 3 + this.int(250); // 10.0.0.3 – 10.0.0.252
    if (r < 0.8) return (this.int(0xffffffff) | 0x01000000) >>> 0;
    return this.pick([0, 0xffffffff, 0xe0000001, 0x0a0000ff, 0x7f000001]);
  }
  mac(): Uint8Array {
    const m = this.bytes(6);
    m[0] &= 0xfe; // unicast, mostly
    return this.chance(0.05) ? this.bytes(6) : m;
  }
  destinationMac(): Uint8Array {
    const r = this.random();
    if (r < 0.85) return this.stackMac;
    if (r < 0.95) return BROADCAST_MAC;
    return this.bytes(6);
  }
  destinationAddress(): number {
    const r = this.random();
    if (r < 0.85) return STACK_IP;
    if (r < 0.92) return 0x0a0000ff; // subnet broadcast
    if (r < 0.97) return 0xffffffff;
    return this.int(0xffffffff) >>> 0;
  }

  frame(etherType: number, payload: Uint8Array, destination = this.destinationMac()): Uint8Array {
    const out = new Uint8Array(14 + payload.length);
    writeEthernetHeader(out, 0, destination, this.mac(), etherType);
    out.set(payload, 14);
    return out;
  }

  ipv4(
    protocol: number,
    payload: Uint8Array,
    f: { source?: number; destination?: number; more?: boolean; offset?: number; id?: number } = {},
  ): Uint8Array {
    const out = new Uint8Array(20 + payload.length);
    writeIpv4Header(out, 0, {
      source: f.source ?? this.sourceAddress(),
      destination: f.destination ?? this.destinationAddress(),
      protocol,
      payloadLength: payload.length,
      identification: f.id ?? this.int(65536),
      ttl: 1 + this.int(255),
      dontFragment: this.chance(0.3),
      moreFragments: f.more,
      fragmentOffset: f.offset,
      typeOfService: this.chance(0.1) ? this.int(256) : 0,
    });
    out.set(payload, 20);
    return out;
  }

  udp(
    source: number,
    destination: number,
    port = this.udpPort(),
    sourcePort = 1 + this.int(65535),
  ): Uint8Array {
    const data = this.bytes(this.int(this.chance(0.1) ? 1400 : 64));
    const out = new Uint8Array(8 + data.length);
    writeUdp(out, 0, source, destination, sourcePort, port, data, this.chance(0.1));
    return out;
  }
  udpPort(): number {
    return this.chance(0.6) ? ECHO_PORT : this.int(65536);
  }

  tcp(source: number, destination: number): Uint8Array {
    const out = new Uint8Array(60 + 200);
    const options = this.chance(0.5)
      ? {
        maxSegmentSize: this.int(65536),
        windowScale: this.int(16),
        sackPermitted: this.chance(0.5),
        timestamp: this.chance(0.5) ? { value: this.int(2 ** 32), echoReply: 0 } : undefined,
      }
      : undefined;
    const n = writeTcp(out, 0, source, destination, {
      sourcePort: this.int(65536),
      destinationPort: this.int(65536),
      sequence: this.int(2 ** 32),
      acknowledgment: this.int(2 ** 32),
      flags: this.chance(0.5) ? TcpFlags.SYN : this.int(256),
      window: this.int(65536),
      options,
    }, this.bytes(this.int(200)));
    return out.subarray(0, n);
  }

  icmp(): Uint8Array {
    const r = this.random();
    if (r < 0.5) {
      const out = new Uint8Array(8 + 56);
      const type = this.chance(0.8) ? ICMP_ECHO_REQUEST : ICMP_ECHO_REPLY;
      writeIcmpEcho(out, 0, type, this.int(65536), this.int(65536), this.bytes(56));
      return out;
    }
    // An error quoting a packet "we" sent: UDP from our echo port, ICMP echo, or TCP.
    const protocol = this.pick([PROTOCOL_UDP, PROTOCOL_ICMP, PROTOCOL_TCP, 99]);
    const inner = protocol === PROTOCOL_UDP
      ? this.udp(STACK_IP, PEER_IP + 3, this.int(65536), this.chance(0.5) ? ECHO_PORT : 1024)
      : protocol === PROTOCOL_TCP
      ? this.tcp(STACK_IP, PEER_IP + 3)
      : this.bytes(8 + this.int(30));
    const quoted = this.ipv4(protocol, inner, {
      source: STACK_IP,
      destination: this.sourceAddress(),
    })
      .subarray(0, 20 + this.pick([0, 4, 8, 8, 8, 40]));
    const out = new Uint8Array(8 + quoted.length);
    const type = this.pick([ICMP_DESTINATION_UNREACHABLE, ICMP_TIME_EXCEEDED, 5, 12, 13, 42]);
    writeIcmpError(out, 0, type, this.int(16), this.chance(0.5) ? 1400 : this.int(2 ** 32), quoted);
    return out;
  }

  arp(): Uint8Array {
    const out = new Uint8Array(28);
    const op = this.chance(0.6) ? ARP_REQUEST : this.chance(0.9) ? ARP_REPLY : this.int(65536);
    const target = this.chance(0.7) ? STACK_IP : this.sourceAddress();
    writeArp(out, 0, op, this.mac(), this.sourceAddress(), this.bytes(6), target);
    return this.frame(ETHERTYPE_ARP, out, this.chance(0.6) ? BROADCAST_MAC : this.destinationMac());
  }

  /** All or some fragments of one datagram, in any order, possibly overlapping. */
  fragments(): Uint8Array[] {
    const source = this.sourceAddress();
    const protocol = this.pick([PROTOCOL_UDP, PROTOCOL_ICMP, PROTOCOL_TCP]);
    const payload = protocol === PROTOCOL_UDP
      ? this.udp(source, STACK_IP, ECHO_PORT)
      : this.bytes(8 + this.int(4000));
    const id = this.int(65536);
    const size = 8 * (1 + this.int(200));
    const out: Uint8Array[] = [];
    for (let offset = 0; offset < payload.length; offset += size) {
      const piece = payload.subarray(offset, offset + size);
      const more = offset + size < payload.length;
      const games = this.chance(0.1);
      out.push(this.frame(
        ETHERTYPE_IPV4,
        this.ipv4(protocol, games ? this.bytes(this.int(64)) : piece, {
          source,
          destination: STACK_IP,
          id,
          more: games ? this.chance(0.5) : more,
          offset: games ? 8 * this.int(8192) : offset,
        }),
        this.stackMac,
      ));
    }
    // Drop some, duplicate some, shuffle.
    const sent = out.filter(() => !this.chance(0.1));
    if (this.chance(0.2) && out.length) sent.push(this.pick(out));
    for (let i = sent.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [sent[i], sent[j]] = [sent[j], sent[i]];
    }
    return sent;
  }

  /** One valid frame of a random kind. */
  template(): Uint8Array[] {
    const r = this.random();
    if (r < 0.15) return [this.arp()];
    if (r < 0.35) return [this.frame(ETHERTYPE_IPV4, this.ipv4(PROTOCOL_ICMP, this.icmp()))];
    if (r < 0.6) {
      const source = this.sourceAddress();
      const destination = this.destinationAddress();
      return [
        this.frame(
          ETHERTYPE_IPV4,
          this.ipv4(PROTOCOL_UDP, this.udp(source, destination), { source, destination }),
        ),
      ];
    }
    if (r < 0.7) {
      const source = this.sourceAddress();
      return [
        this.frame(
          ETHERTYPE_IPV4,
          this.ipv4(PROTOCOL_TCP, this.tcp(source, STACK_IP), { source, destination: STACK_IP }),
        ),
      ];
    }
    if (r < 0.85) return this.fragments();
    if (r < 0.9) {
      return [this.frame(ETHERTYPE_IPV4, this.ipv4(this.int(256), this.bytes(this.int(100))))];
    }
    if (r < 0.95) return [this.frame(this.int(65536), this.bytes(this.int(100)))];
    return [this.bytes(this.int(100))];
  }

  /** Damages a frame in one of many ways; often re-fixes checksums so damage goes deeper. */
  mutate(frame: Uint8Array): Uint8Array {
    const r = this.random();
    let f: Uint8Array = frame.slice();
    if (r < 0.2) return f; // valid as built
    if (r < 0.35) {
      for (let k = 1 + this.int(8); k > 0; k--) f[this.int(f.length)] ^= 1 << this.int(8);
      if (this.chance(0.5)) fixIpv4Checksum(f);
      if (this.chance(0.3)) fixTransportChecksum(f);
    } else if (r < 0.45) {
      f = f.subarray(0, this.int(f.length + 1));
    } else if (r < 0.5) {
      const longer = new Uint8Array(f.length + 1 + this.int(64));
      longer.set(f);
      longer.set(this.bytes(longer.length - f.length), f.length);
      f = longer;
    } else if (r < 0.6 && f.length >= 34) {
      // IPv4 total length lies.
      const total = this.pick([
        0,
        19,
        20,
        21,
        f.length - 14 - 1,
        f.length - 14 + 1,
        this.int(65536),
      ]);
      f[16] = total >>> 8;
      f[17] = total & 0xff;
      fixIpv4Checksum(f);
    } else if (r < 0.66 && f.length >= 34) {
      // Header length lies.
      f[14] = (f[14] & 0xf0) | this.int(16);
      fixIpv4Checksum(f);
    } else if (r < 0.72 && f.length >= 34) {
      // Random IPv4 option bytes.
      f = insertIpv4Options(f, this.bytes(4 * (1 + this.int(10))));
      fixIpv4Checksum(f);
      if (this.chance(0.5)) fixTransportChecksum(f);
    } else if (r < 0.8 && f.length >= 42) {
      // Transport length lies: UDP length, TCP data offset, with the checksum fixed.
      const ihl = (f[14] & 0x0f) * 4;
      const t = 14 + ihl;
      if (f[23] === PROTOCOL_UDP && f.length >= t + 8) {
        const length = this.pick([0, 7, 8, 9, f.length - t + 1, this.int(65536)]);
        f[t + 4] = length >>> 8;
        f[t + 5] = length & 0xff;
      } else if (f[23] === PROTOCOL_TCP && f.length >= t + 20) {
        f[t + 12] = this.int(16) << 4;
        // Random option bytes where the options are.
        for (let i = t + 20; i < Math.min(f.length, t + 60); i++) {
          if (this.chance(0.5)) f[i] = this.pick([0, 1, 2, 3, 4, 5, 8, 255, this.int(256)]);
        }
      } else {
        f[this.int(f.length)] = this.int(256);
      }
      fixTransportChecksum(f);
    } else if (r < 0.88 && f.length >= 34) {
      // Fragment offset games on any packet.
      const offset = this.pick([0, 8, 1480, 65528, 8 * this.int(8192)]);
      const flags = this.pick([0, 0x2000, 0x4000, 0x6000, 0x8000]);
      const field = flags | (offset >>> 3);
      f[20] = field >>> 8;
      f[21] = field & 0xff;
      fixIpv4Checksum(f);
    } else if (r < 0.94 && f.length >= 15) {
      // Version and EtherType games.
      if (this.chance(0.5)) f[14] = (this.int(16) << 4) | (f[14] & 0x0f);
      else f[12] = this.pick([0x08, 0x86, 0x81, 0x00, this.int(256)]);
      fixIpv4Checksum(f);
    } else {
      // Splice: the head of this frame on random bytes.
      const tail = this.bytes(this.int(200));
      const cut = this.int(f.length + 1);
      const spliced = new Uint8Array(cut + tail.length);
      spliced.set(f.subarray(0, cut));
      spliced.set(tail, cut);
      f = spliced;
    }
    return f;
  }
}

/** Recomputes the IPv4 header checksum when the header fits in the frame. */
function fixIpv4Checksum(f: Uint8Array): void {
  if (f.length < 34 || f[12] !== 0x08 || f[13] !== 0x00) return;
  const ihl = (f[14] & 0x0f) * 4;
  if (ihl < 20 || 14 + ihl > f.length) return;
  f[24] = f[25] = 0;
  const sum = internetChecksum(f, 14, ihl);
  f[24] = sum >>> 8;
  f[25] = sum & 0xff;
}

/** Recomputes the UDP, TCP or ICMP checksum over what the IPv4 header says is the payload. */
function fixTransportChecksum(f: Uint8Array): void {
  if (f.length < 34) return;
  const ihl = (f[14] & 0x0f) * 4;
  const total = (f[16] << 8) | f[17];
  const t = 14 + ihl;
  const end = Math.min(f.length, 14 + total);
  if (ihl < 20 || end <= t) return;
  const length = end - t;
  const protocol = f[23];
  const source = ((f[26] << 24) | (f[27] << 16) | (f[28] << 8) | f[29]) >>> 0;
  const destination = ((f[30] << 24) | (f[31] << 16) | (f[32] << 8) | f[33]) >>> 0;
  const at = protocol === PROTOCOL_UDP
    ? 6
    : protocol === PROTOCOL_TCP
    ? 16
    : protocol === PROTOCOL_ICMP
    ? 2
    : -1;
  if (at < 0 || length < at + 2) return;
  f[t + at] = f[t + at + 1] = 0;
  const initial = protocol === PROTOCOL_ICMP
    ? 0
    : pseudoHeaderSum(source, destination, protocol, length);
  const sum = foldChecksum(sumWords(f, t, length, initial));
  f[t + at] = sum >>> 8;
  f[t + at + 1] = sum & 0xff;
}

/** Inserts option bytes after the 20-byte IPv4 header and grows IHL and total length. */
function insertIpv4Options(f: Uint8Array, options: Uint8Array): Uint8Array {
  const ihl = Math.max(20, (f[14] & 0x0f) * 4);
  const room = Math.min(options.length, 60 - ihl);
  if (room <= 0 || f.length < 14 + ihl) return f;
  const out = new Uint8Array(f.length + room);
  out.set(f.subarray(0, 14 + ihl));
  out.set(options.subarray(0, room), 14 + ihl);
  out.set(f.subarray(14 + ihl), 14 + ihl + room);
  out[14] = (out[14] & 0xf0) | ((ihl + room) / 4);
  const total = ((f[16] << 8) | f[17]) + room;
  out[16] = (total >>> 8) & 0xff;
  out[17] = total & 0xff;
  return out;
}

Deno.test({
  name: `fuzz: ${frameCount} random and mutated frames into a running stack (seed ${seed})`,
  sanitizeOps: false,
  fn: async () => {
    console.log(
      `stack fuzz: seed ${seed} (replay with USERNET_FUZZ_SEED=${seed}), ${frameCount} frames`,
    );
    const unhandled: unknown[] = [];
    const onUnhandled = (e: PromiseRejectionEvent) => {
      e.preventDefault();
      unhandled.push(e.reason);
    };
    globalThis.addEventListener("unhandledrejection", onUnhandled);

    let now = 0;
    let realTime = false;
    const clock = () => (realTime ? 1e9 + performance.now() : now);
    const [a, b] = MemoryLink.pair({ queueLimit: 1 << 20 });
    const stack = new Stack({
      nic: a,
      address: "10.0.0.2/24",
      gateway: "10.0.0.1",
      clock,
      reassembly: { maxDatagrams: LIMITS.maxDatagrams, maxBytes: LIMITS.maxBytes },
      neighbor: { maxEntries: LIMITS.maxEntries },
    });
    // The peer shares b with the fuzzer: its frames and the fuzzer's both reach the stack.
    const peer = new Stack({ nic: b, address: "10.0.0.1/24", clock });
    const echo = stack.listenDatagram({ port: ECHO_PORT });
    let echoErrors = 0;
    let echoClosed = false;
    const echoLoop = (async () => {
      for (;;) {
        try {
          const [data, from] = await echo.receive();
          await echo.send(data, from);
        } catch (error) {
          if (echoClosed) return;
          echoErrors++; // ICMP errors for our port reject one receive (IP_RECVERR style)
          void error;
        }
      }
    })();

    const fuzzer = new FrameFuzzer(seed, a.mac);
    const started = performance.now();
    let sent = 0;
    let maxPending = 0;
    let maxNeighbors = 0;
    while (sent < frameCount) {
      const batch: { data: Uint8Array }[] = [];
      while (batch.length < 256 && sent + batch.length < frameCount) {
        for (const f of fuzzer.template()) batch.push({ data: fuzzer.mutate(f) });
      }
      sent += batch.length;
      b.transmit(batch);
      now += 50; // virtual time: ARP retries, reassembly timeouts and token buckets all run
      await new Promise((r) => setTimeout(r, 0));
      const iface = stack._iface;
      maxPending = Math.max(maxPending, iface.reassembler.pending);
      maxNeighbors = Math.max(maxNeighbors, iface.neighbors.size);
      assert.ok(iface.reassembler.pending <= LIMITS.maxDatagrams, `seed ${seed}: reassembly`);
      assert.ok(iface.neighbors.size <= LIMITS.maxEntries, `seed ${seed}: neighbour cache`);
    }
    const elapsed = performance.now() - started;

    const stats = stack.stats();
    const drops = Object.entries(stats.drops).sort((x, y) => y[1] - x[1]);
    const totalDrops = drops.reduce((n, [, v]) => n + v, 0);
    console.log(
      `stack fuzz: ${sent} frames in ${
        (elapsed / 1000).toFixed(1)
      } s; ${totalDrops} drops in ${drops.length} kinds; ` +
        `max reassembly pending ${maxPending}/${LIMITS.maxDatagrams}, max neighbours ${maxNeighbors}/${LIMITS.maxEntries}; ` +
        `echo socket errors ${echoErrors}`,
    );
    console.log(drops.map(([k, v]) => `  ${k}: ${v}`).join("\n"));

    assert.equal(stats.drops["stack/internal-error"], undefined, `seed ${seed}: internal errors`);
    assert.deepEqual(unhandled, [], `seed ${seed}: unhandled rejections`);
    // Every frame the NIC delivered was either taken by Ethernet input or counted as dropped.
    // (Looped-back frames are taken without the NIC: hence at least, not exactly.)
    const ethernetDrops = drops.filter(([k]) => k.startsWith("ethernet/"))
      .reduce((n, [, v]) => n + v, 0);
    assert.ok(
      stats.ethernet.packetsIn + ethernetDrops >= a.stats().rxFrames,
      `seed ${seed}: accounting`,
    );
    assert.ok(a.stats().rxFrames >= sent, "the link lost nothing");
    assert.ok(drops.length >= 20, `the fuzz reached many drop reasons (${drops.length})`);
    assert.ok(stats.udp.packetsIn > 0 && stats.icmp.echoRequestsIn > 0);

    // The stack still works: the peer re-announces itself (undoing any ARP poisoning the fuzz
    // did), then pings and uses the UDP echo. Real time from here on.
    realTime = true;
    peer.setIpv4({ address: "10.0.0.1", prefixLength: 24 });
    const reply = await peer.ping("10.0.0.2", { timeout: 5000 });
    assert.equal(reply.from, "10.0.0.2");
    // A fragmented echo too: the fuzz's partial datagrams have timed out of the reassembler.
    const client = peer.listenDatagram({});
    for (const size of [11, 3000]) {
      const message = new Uint8Array(size).fill(0x5a);
      await client.send(message, { hostname: "10.0.0.2", port: ECHO_PORT });
      const [data] = await client.receive();
      assert.deepEqual(data, message);
    }
    assert.ok(peer.stats().ipv4.reassembled >= 1);
    client.close();

    echoClosed = true;
    echo.close();
    await echoLoop;
    await stack.close();
    await peer.close();
    globalThis.removeEventListener("unhandledrejection", onUnhandled);
  },
});
