/**
 * One Ethernet interface with IPv4: link-layer input and output, ARP and the neighbour cache,
 * on-link vs gateway routing, fragmentation on output and reassembly on input.
 *
 * The interface does no I/O of its own: it appends outgoing frames to a transmit batch the
 * stack flushes, and is polled by the stack's event loop for its timers.
 *
 * @module
 */
import type { Frame, FrameMetadata, Nic } from "../drivers/nic.ts";
import { FRAME_DATA_VALID, FRAME_NEEDS_CHECKSUM } from "../drivers/nic.ts";
import { completeChecksum } from "./wire/checksum.ts";
import {
  BROADCAST_MAC,
  formatIpv4Address,
  IPV4_BROADCAST,
  macEquals,
  prefixMask,
} from "./wire/address.ts";
import {
  ARP_PACKET_LENGTH,
  ARP_REPLY,
  ARP_REQUEST,
  type ArpPacket,
  parseArp,
  writeArp,
} from "./wire/arp.ts";
import { WireError } from "./wire/errors.ts";
import { ALL_HOSTS_GROUP, ipv4MulticastMac, isIpv4Multicast, PROTOCOL_IGMP } from "./wire/igmp.ts";
import {
  ETHERNET_HEADER_LENGTH,
  ETHERTYPE_ARP,
  ETHERTYPE_IPV4,
  writeEthernetHeader,
} from "./wire/ethernet.ts";
import {
  IPV4_HEADER_LENGTH,
  Ipv4Packet,
  parseIpv4,
  PROTOCOL_UDP,
  writeIpv4Header,
} from "./wire/ipv4.ts";
import { NeighborCache, type NeighborCacheOptions } from "./neighbor_cache.ts";
import { Ipv4Reassembler, type ReassemblyOptions } from "./ipv4_reassembly.ts";
import type { StatsCounters } from "./stats.ts";
import { HostUnreachable, MessageTooLong, NetworkUnreachable } from "./errors.ts";

/** IPv4 configuration of an interface. */
export interface Ipv4Config {
  /** Our address (uint32). */
  address: number;
  /** Prefix length of the on-link network. */
  prefixLength: number;
  /** Default gateway (uint32), if any. */
  gateway?: number;
}

/** Fields for {@linkcode NetworkInterface.sendIpv4}. */
export interface Ipv4SendOptions {
  /** Destination address. */
  destination: number;
  /** Payload protocol. */
  protocol: number;
  /** Source address; defaults to the interface's. */
  source?: number;
  /** Time to live (default: the interface's). */
  ttl?: number;
  /** Set Don't Fragment. */
  dontFragment?: boolean;
  /**
   * To a multicast destination: also deliver a copy to this host (IP_MULTICAST_LOOP), which
   * takes it when it is a member of the group.
   */
  multicastLoop?: boolean;
  /** DSCP/ECN byte. */
  typeOfService?: number;
  /**
   * The transport checksum field (at this offset in the transport header) holds only the
   * pseudo-header sum: the NIC completes it (checksum offload), or the interface does in
   * software when the frame cannot be offloaded (fragments, loopback).
   */
  checksumFieldOffset?: number;
}

/** Options of {@linkcode NetworkInterface}. */
export interface InterfaceOptions {
  /** IP MTU (default: the NIC's). */
  mtu?: number;
  /** Default TTL (default 64). */
  ttl?: number;
  /** Neighbour cache tunables. */
  neighbor?: NeighborCacheOptions;
  /** Fragment reassembly limits. */
  reassembly?: ReassemblyOptions;
}

/** Handler for a received IPv4 packet of one protocol. */
export type Ipv4Handler = (packet: Ipv4Packet, now: number) => void;

/** Called when packets waiting for ARP resolution are dropped. */
export type UnreachableHandler = (packet: Uint8Array, error: HostUnreachable) => void;

/**
 * An Ethernet/IPv4 interface.
 *
 * @example
 * ```ts ignore
 * const iface = new NetworkInterface(nic, stats, { mtu: 1500 });
 * iface.configure({ address: 0x0a000002, prefixLength: 24, gateway: 0x0a000001 });
 * ```
 */
export class NetworkInterface {
  readonly nic: Nic;
  readonly mac: Uint8Array;
  /** IP MTU; a DHCP lease may lower it (never above the NIC's). */
  mtu: number;
  readonly ttl: number;
  readonly neighbors: NeighborCache;
  readonly reassembler: Ipv4Reassembler;
  config: Ipv4Config | undefined;
  /** Per-protocol receive handlers (ICMP, UDP, TCP). */
  readonly handlers: Map<number, Ipv4Handler> = new Map();
  /** Receives packets to protocols without a handler. */
  onUnknownProtocol: Ipv4Handler = () => {};
  /** Told when queued packets are dropped because ARP failed. */
  onUnreachable: UnreachableHandler = () => {};
  /** Sees every valid ARP packet received (DHCP's RFC 5227 address probe watches for conflicts). */
  onArp: ((arp: ArpPacket, now: number) => void) | undefined;
  /** Accept IPv4 packets for any destination (a gateway's inside interface, DHCP before a lease). */
  acceptAnyDestination = false;
  /**
   * UDP ports that take datagrams to any unicast address at our MAC while the interface has
   * no address: the DHCP client's port 68, because a server may send OFFER and ACK to the
   * offered address before it is ours (RFC 2131 §4.1; passt does so even when the client sets
   * the BROADCAST flag).
   */
  readonly unconfiguredUdpPorts: Set<number> = new Set();
  /** More addresses this host answers ARP for and treats as its own (a gateway's DNS address). */
  readonly extraAddresses: Set<number> = new Set();
  /** Frames to transmit at the next flush. */
  transmitQueue: Frame[] = [];
  /** Whether the NIC completes transport checksums (callers may leave them partial). */
  readonly checksumOffload: boolean;
  /** Frames sent to our own address, to be fed back to input by the stack. */
  loopbackQueue: Frame[] = [];
  /** Multicast groups joined (by the IGMP layer); 224.0.0.1 is always joined. */
  readonly #groups = new Set<number>();
  /** Groups per Ethernet group address (its low 23 bits): 32 groups share each one. */
  readonly #groupMacs = new Map<number, number>([[ALL_HOSTS_GROUP & 0x7fffff, 1]]);
  readonly #groupMac = new Uint8Array(6);
  #identification = Math.floor(Math.random() * 65536);
  readonly #stats: StatsCounters;

  constructor(nic: Nic, stats: StatsCounters, options: InterfaceOptions = {}) {
    this.nic = nic;
    this.mac = nic.mac;
    this.mtu = Math.min(options.mtu ?? nic.mtu, nic.mtu);
    this.ttl = options.ttl ?? 64;
    this.#stats = stats;
    this.checksumOffload = nic.features.txChecksum;
    this.neighbors = new NeighborCache(options.neighbor);
    this.reassembler = new Ipv4Reassembler(options.reassembly);
    this.reassembler.onDrop = (reason) => stats.drop("ipv4-reassembly", reason);
  }

  /** Sets (or with `undefined` removes) the IPv4 configuration; announces it with gratuitous ARP. */
  configure(config: Ipv4Config | undefined, now: number): void {
    this.config = config;
    this.neighbors.clear();
    if (config) this.sendGratuitousArp(now);
  }

  /** The directed broadcast address of the on-link network, or undefined. */
  get subnetBroadcast(): number | undefined {
    const c = this.config;
    if (!c || c.prefixLength >= 31) return undefined;
    return (c.address | ~prefixMask(c.prefixLength)) >>> 0;
  }

  /** Whether `address` is on the directly attached network. */
  isOnLink(address: number): boolean {
    const c = this.config;
    if (!c) return false;
    const mask = prefixMask(c.prefixLength);
    return ((address & mask) >>> 0) === ((c.address & mask) >>> 0);
  }

  /** Whether UDP to `port` is taken for any destination now (no address; see the set). */
  acceptsUnconfigured(port: number): boolean {
    return this.config === undefined && this.unconfiguredUdpPorts.has(port);
  }

  /**
   * Takes frames and packets for multicast `group` from now on (its Ethernet address, RFC 1112
   * §6.4). The IGMP layer calls this; joining twice is one join.
   */
  joinGroup(group: number): void {
    if (group === ALL_HOSTS_GROUP || this.#groups.has(group)) return;
    this.#groups.add(group);
    const key = group & 0x7fffff;
    this.#groupMacs.set(key, (this.#groupMacs.get(key) ?? 0) + 1);
  }

  /** Stops taking multicast `group` (its Ethernet address too, unless another group shares it). */
  leaveGroup(group: number): void {
    if (!this.#groups.delete(group)) return;
    const key = group & 0x7fffff;
    const n = this.#groupMacs.get(key)! - 1;
    if (n === 0) this.#groupMacs.delete(key);
    else this.#groupMacs.set(key, n);
  }

  /** Whether this host is a member of multicast `group` (always of 224.0.0.1). */
  isGroupMember(group: number): boolean {
    return group === ALL_HOSTS_GROUP || this.#groups.has(group);
  }

  /** Whether a frame's destination is the Ethernet address of a group we joined. */
  #forJoinedGroupMac(data: Uint8Array): boolean {
    return data[0] === 0x01 && data[1] === 0x00 && data[2] === 0x5e && (data[3] & 0x80) === 0 &&
      this.#groupMacs.has((data[3] << 16) | (data[4] << 8) | data[5]);
  }

  /** Whether a packet to `address` is for this host. */
  isLocalAddress(address: number): boolean {
    const c = this.config;
    return address === IPV4_BROADCAST || this.extraAddresses.has(address) ||
      (c !== undefined && (address === c.address || address === this.subnetBroadcast));
  }

  // ---- input ----

  /** Processes one received frame. */
  input(frame: Frame, now: number): void {
    const data = frame.data;
    const s = this.#stats.live;
    if (data.length < ETHERNET_HEADER_LENGTH) {
      this.#stats.drop("ethernet", "truncated");
      return;
    }
    // Accept frames for our MAC, broadcast, and the groups we joined (224.0.0.1 always).
    if (
      !macEquals(data, 0, this.mac, 0) && !macEquals(data, 0, BROADCAST_MAC, 0) &&
      !this.#forJoinedGroupMac(data)
    ) {
      this.#stats.drop("ethernet", (data[0] & 1) ? "multicast" : "not-for-us");
      return;
    }
    const etherType = (data[12] << 8) | data[13];
    if (etherType !== ETHERTYPE_IPV4 && etherType !== ETHERTYPE_ARP) {
      this.#stats.drop("ethernet", "unknown-ethertype");
      return;
    }
    s.ethernet.packetsIn++;
    s.ethernet.bytesIn += data.length;
    const payload = data.subarray(ETHERNET_HEADER_LENGTH);
    if (etherType === ETHERTYPE_IPV4) {
      this.#inputIpv4(
        payload,
        now,
        // Validated by the NIC, or a partial checksum from a local sender (virtio semantics:
        // such a frame never crossed a wire).
        frame.meta !== undefined &&
          (frame.meta.flags & (FRAME_DATA_VALID | FRAME_NEEDS_CHECKSUM)) !== 0,
      );
    } else {
      this.#inputArp(payload, now);
    }
  }

  #inputArp(bytes: Uint8Array, now: number): void {
    const arp = parseArp(bytes);
    if (arp instanceof WireError) {
      this.#stats.drop("arp", arp.reason);
      return;
    }
    const s = this.#stats.live.arp;
    s.packetsIn++;
    s.bytesIn += bytes.length;
    this.onArp?.(arp, now);
    const sender = arp.senderProtocolAddress;
    const senderMac = arp.senderHardwareAddress;
    const c = this.config;
    if (senderMac[0] & 1) {
      this.#stats.drop("arp", "group-sender-mac");
      return;
    }
    const target = arp.targetProtocolAddress;
    const forUs = c !== undefined && (target === c.address || this.extraAddresses.has(target));
    if (sender !== 0 && (c === undefined || sender !== c.address)) {
      // RFC 826 merge: refresh an existing entry from any ARP; create one only if it is for us.
      const released = this.neighbors.learn(sender, senderMac, now, forUs);
      for (const packet of released) this.#transmitResolved(packet, senderMac);
    }
    if (forUs && arp.operation === ARP_REQUEST) {
      this.#sendArp(ARP_REPLY, senderMac, senderMac, sender, target);
    }
  }

  #inputIpv4(bytes: Uint8Array, now: number, checksumValid: boolean): void {
    const packet = parseIpv4(bytes, !checksumValid);
    if (packet instanceof WireError) {
      this.#stats.drop("ipv4", packet.reason);
      return;
    }
    packet.checksumValid = checksumValid;
    const destination = packet.destination;
    if (isIpv4Multicast(destination)) {
      // Another group on the same Ethernet address, or a frame sent to another address.
      if (!this.isGroupMember(destination)) {
        this.#stats.drop("ipv4", "multicast-not-joined");
        return;
      }
      // Only UDP and IGMP have multicast receivers (TCP and ICMP echo do not, as on Linux).
      if (packet.protocol !== PROTOCOL_UDP && packet.protocol !== PROTOCOL_IGMP) {
        this.#stats.drop("ipv4", "multicast-protocol");
        return;
      }
    } else if (
      !this.acceptAnyDestination && !this.isLocalAddress(destination) &&
      !this.#forUnconfiguredPort(packet)
    ) {
      this.#stats.drop("ipv4", "not-for-us");
      return;
    }
    const s = this.#stats.live.ipv4;
    if (packet.isFragment) {
      s.fragmentsIn++;
      const whole = this.reassembler.add(packet, now);
      if (!whole) return;
      s.reassembled++;
      this.deliverIpv4(new Ipv4Packet(whole), now);
      return;
    }
    this.deliverIpv4(packet, now);
  }

  /** An unfragmented UDP packet to one of `unconfiguredUdpPorts` while we have no address. */
  #forUnconfiguredPort(packet: Ipv4Packet): boolean {
    if (this.config !== undefined || this.unconfiguredUdpPorts.size === 0) return false;
    if (packet.protocol !== PROTOCOL_UDP || packet.isFragment) return false;
    const udp = packet.payload;
    return udp.length >= 8 && this.unconfiguredUdpPorts.has((udp[2] << 8) | udp[3]);
  }

  /** Hands a complete IPv4 packet to its protocol's handler. */
  deliverIpv4(packet: Ipv4Packet, now: number): void {
    const s = this.#stats.live.ipv4;
    s.packetsIn++;
    s.bytesIn += packet.bytes.length;
    const handler = this.handlers.get(packet.protocol);
    if (handler) handler(packet, now);
    else this.onUnknownProtocol(packet, now);
  }

  // ---- output ----

  /** Sends an ARP request for `address`. */
  sendArpRequest(address: number): void {
    this.#sendArp(ARP_REQUEST, BROADCAST_MAC, new Uint8Array(6), address);
  }

  /** Announces our address (RFC 5227 §2.3 gratuitous ARP: a request for our own address). */
  sendGratuitousArp(_now: number): void {
    const c = this.config;
    if (c) this.#sendArp(ARP_REQUEST, BROADCAST_MAC, new Uint8Array(6), c.address);
  }

  /** Sends an ARP probe (RFC 5227 §2.1.1: sender address zero) for `address`. */
  sendArpProbe(address: number): void {
    const frame = new Uint8Array(ETHERNET_HEADER_LENGTH + ARP_PACKET_LENGTH);
    writeEthernetHeader(frame, 0, BROADCAST_MAC, this.mac, ETHERTYPE_ARP);
    writeArp(frame, ETHERNET_HEADER_LENGTH, ARP_REQUEST, this.mac, 0, new Uint8Array(6), address);
    this.#queueFrame(frame);
    this.#countArpOut(frame.length);
  }

  #sendArp(
    operation: number,
    destinationMac: Uint8Array,
    targetMac: Uint8Array,
    target: number,
    senderAddress?: number,
  ): void {
    const c = this.config;
    if (!c) return;
    const frame = new Uint8Array(ETHERNET_HEADER_LENGTH + ARP_PACKET_LENGTH);
    writeEthernetHeader(frame, 0, destinationMac, this.mac, ETHERTYPE_ARP);
    writeArp(
      frame,
      ETHERNET_HEADER_LENGTH,
      operation,
      this.mac,
      senderAddress ?? c.address,
      targetMac,
      target,
    );
    this.#queueFrame(frame);
    this.#countArpOut(frame.length);
  }

  #countArpOut(length: number): void {
    const s = this.#stats.live.arp;
    s.packetsOut++;
    s.bytesOut += length - ETHERNET_HEADER_LENGTH;
  }

  /**
   * A frame buffer with room for Ethernet and IPv4 headers before `payloadLength` bytes of
   * payload; the payload starts at {@linkcode PAYLOAD_OFFSET}.
   */
  allocatePacket(payloadLength: number): Uint8Array {
    // Carve frames out of shared slabs: one large allocation instead of one per packet.
    // Every byte is written before the frame is sent, so stale slab contents never leak.
    const size = PAYLOAD_OFFSET + payloadLength;
    if (size > SLAB_SIZE / 4) return new Uint8Array(size);
    if (this.#slabUsed + size > SLAB_SIZE) {
      this.#slab = new Uint8Array(SLAB_SIZE);
      this.#slabUsed = 0;
    }
    const frame = this.#slab.subarray(this.#slabUsed, this.#slabUsed + size);
    this.#slabUsed = (this.#slabUsed + size + 7) & ~7;
    return frame;
  }

  #slab = new Uint8Array(SLAB_SIZE);
  #slabUsed = 0;

  /** The next hop for `destination`, or an error saying why there is none. */
  nextHop(destination: number): number | NetworkUnreachable {
    const c = this.config;
    if (
      destination === IPV4_BROADCAST || isIpv4Multicast(destination) || this.isOnLink(destination)
    ) {
      return destination;
    }
    if (!c) {
      return new NetworkUnreachable(
        `no route to ${formatIpv4Address(destination)}: no IPv4 address configured`,
      );
    }
    if (c.gateway === undefined) {
      return new NetworkUnreachable(
        `no route to ${formatIpv4Address(destination)}: not on ${
          formatIpv4Address(c.address)
        }/${c.prefixLength} and no gateway configured`,
      );
    }
    return c.gateway;
  }

  /** A fresh IPv4 identification value. */
  nextIdentification(): number {
    this.#identification = (this.#identification + 1) & 0xffff;
    return this.#identification;
  }

  /**
   * Writes the IPv4 header into a packet from {@linkcode allocatePacket} whose payload is in
   * place, then routes it: fragments it if needed, resolves the next hop and queues the frame.
   * Returns an error (nothing sent) when there is no route or it cannot be fragmented.
   */
  sendIpv4(
    frame: Uint8Array,
    options: Ipv4SendOptions,
    now: number,
  ): void | NetworkUnreachable | MessageTooLong {
    const payloadLength = frame.length - PAYLOAD_OFFSET;
    const c = this.config;
    const source = options.source ?? c?.address ?? 0;
    const hop = this.nextHop(options.destination);
    if (typeof hop !== "number") return hop;
    const total = IPV4_HEADER_LENGTH + payloadLength;
    if (total > 65535) return new MessageTooLong(`IPv4 packet of ${total} bytes exceeds 65535`);
    const identification = this.nextIdentification();
    const s = this.#stats.live.ipv4;
    s.packetsOut++;
    s.bytesOut += total;
    const fieldOffset = options.checksumFieldOffset;
    let meta: FrameMetadata | undefined;
    if (fieldOffset !== undefined) {
      // A looped-back copy is checked on input: it needs the whole checksum.
      if (
        total <= this.mtu && this.checksumOffload && hop !== c?.address && !options.multicastLoop
      ) {
        meta = fieldOffset === 16 ? TCP_CHECKSUM_META : partialMeta(fieldOffset);
      } else {
        completeChecksum(frame, PAYLOAD_OFFSET, fieldOffset);
      }
    }
    if (total <= this.mtu) {
      writeIpv4Header(frame, ETHERNET_HEADER_LENGTH, {
        source,
        destination: options.destination,
        protocol: options.protocol,
        payloadLength,
        identification,
        ttl: options.ttl ?? this.ttl,
        dontFragment: options.dontFragment,
        typeOfService: options.typeOfService,
      });
      this.#route(frame, hop, now, meta, options.multicastLoop);
      return;
    }
    if (options.dontFragment) {
      return new MessageTooLong(
        `packet of ${total} bytes exceeds the MTU ${this.mtu} and must not be fragmented`,
      );
    }
    // Fragment (RFC 791 §3.2): each fragment's payload is a multiple of 8 except the last.
    const perFragment = (this.mtu - IPV4_HEADER_LENGTH) & ~7;
    for (let offset = 0; offset < payloadLength; offset += perFragment) {
      const length = Math.min(perFragment, payloadLength - offset);
      const fragment = new Uint8Array(PAYLOAD_OFFSET + length);
      fragment.set(
        frame.subarray(PAYLOAD_OFFSET + offset, PAYLOAD_OFFSET + offset + length),
        PAYLOAD_OFFSET,
      );
      writeIpv4Header(fragment, ETHERNET_HEADER_LENGTH, {
        source,
        destination: options.destination,
        protocol: options.protocol,
        payloadLength: length,
        identification,
        ttl: options.ttl ?? this.ttl,
        moreFragments: offset + length < payloadLength,
        fragmentOffset: offset,
        typeOfService: options.typeOfService,
      });
      s.fragmentsOut++;
      this.#route(fragment, hop, now, undefined, options.multicastLoop);
    }
  }

  #route(
    frame: Uint8Array,
    hop: number,
    now: number,
    meta?: FrameMetadata,
    multicastLoop = false,
  ): void {
    const c = this.config;
    if (isIpv4Multicast(hop)) {
      // RFC 1112 §6.4: the group's Ethernet address, no ARP. TTL 0 stays on this host
      // (§6.1): only the loopback copy, if asked for.
      const mac = ipv4MulticastMac(hop, this.#groupMac);
      if (frame[ETHERNET_HEADER_LENGTH + 8] !== 0) this.#transmitResolved(frame, mac, meta);
      else writeEthernetHeader(frame, 0, mac, this.mac, ETHERTYPE_IPV4);
      if (multicastLoop && this.isGroupMember(hop)) {
        this.loopbackQueue.push({ data: frame.slice() });
      }
      return;
    }
    if (hop === IPV4_BROADCAST || hop === this.subnetBroadcast) {
      this.#transmitResolved(frame, BROADCAST_MAC, meta);
      return;
    }
    if (c && hop === c.address) {
      // To ourselves: loop back without touching the NIC; the stack feeds it to input.
      this.loopbackQueue.push({ data: this.#loopback(frame) });
      return;
    }
    const mac = this.neighbors.resolve(hop, frame, now);
    if (mac) this.#transmitResolved(frame, mac, meta);
    else if (mac === undefined && meta) {
      // Queued for ARP, where no metadata travels: finish the checksum now (a rare path).
      completeChecksum(frame, meta.checksumStart, meta.checksumOffset);
    } else if (mac === null) {
      this.#stats.drop("arp", "unresolved");
      this.onUnreachable(
        frame,
        new HostUnreachable(`${formatIpv4Address(hop)} did not answer ARP`),
      );
    }
  }

  #loopback(frame: Uint8Array): Uint8Array {
    writeEthernetHeader(frame, 0, this.mac, this.mac, ETHERTYPE_IPV4);
    return frame;
  }

  #transmitResolved(frame: Uint8Array, mac: Uint8Array, meta?: FrameMetadata): void {
    writeEthernetHeader(frame, 0, mac, this.mac, ETHERTYPE_IPV4);
    this.#queueFrame(frame, meta);
  }

  #queueFrame(frame: Uint8Array, meta?: FrameMetadata): void {
    const s = this.#stats.live.ethernet;
    s.packetsOut++;
    s.bytesOut += frame.length;
    this.transmitQueue.push(meta ? { data: frame, meta } : { data: frame });
  }

  /** Sends a prepared frame (Ethernet header included) as is. */
  transmitRaw(frame: Uint8Array): void {
    this.#queueFrame(frame);
  }

  /** Runs timers: ARP retries and failures, reassembly timeouts. */
  poll(now: number): void {
    const result = this.neighbors.poll(now);
    for (const address of result.requests) this.sendArpRequest(address);
    for (const { address, packets } of result.failed) {
      const error = new HostUnreachable(`${formatIpv4Address(address)} did not answer ARP`);
      for (const packet of packets) {
        this.#stats.drop("arp", "unresolved");
        this.onUnreachable(packet, error);
      }
    }
    this.reassembler.poll(now);
  }

  /** The earliest time {@linkcode poll} has work. */
  nextDeadline(): number {
    return Math.min(this.neighbors.nextDeadline(), this.reassembler.nextDeadline());
  }

  /** Takes the frames queued for transmission. */
  takeTransmitQueue(): Frame[] {
    const q = this.transmitQueue;
    this.transmitQueue = [];
    return q;
  }
}

/** Bytes per frame slab (see {@linkcode NetworkInterface.allocatePacket}). */
const SLAB_SIZE = 256 * 1024;

/** Offset of the IPv4 payload in a frame from {@linkcode NetworkInterface.allocatePacket}. */
export const PAYLOAD_OFFSET = ETHERNET_HEADER_LENGTH + IPV4_HEADER_LENGTH;

function partialMeta(fieldOffset: number): FrameMetadata {
  return Object.freeze({
    flags: FRAME_NEEDS_CHECKSUM,
    gsoType: 0,
    headerLength: 0,
    gsoSize: 0,
    checksumStart: PAYLOAD_OFFSET,
    checksumOffset: fieldOffset,
  });
}

const TCP_CHECKSUM_META = partialMeta(16);
