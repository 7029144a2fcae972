/**
 * Hand-made frames for tests that play a host on a link: build a TCP segment's whole frame,
 * answer ARP for the addresses the test poses as, and take TCP segments out of frames.
 *
 * @module
 */
import { parseArp, writeArp } from "./wire/arp.ts";
import { parseEthernet, writeEthernetHeader } from "./wire/ethernet.ts";
import { parseIpv4, PROTOCOL_TCP, writeIpv4Header } from "./wire/ipv4.ts";
import {
  parseTcp,
  type TcpHeaderFields,
  tcpOptionsLength,
  type TcpSegment,
  writeTcp,
} from "./wire/tcp.ts";
import { WireError } from "./wire/errors.ts";

/** A frame carrying one TCP segment from `source` to `destination`. */
export function tcpFrame(
  sourceMac: Uint8Array,
  destinationMac: Uint8Array,
  source: number,
  destination: number,
  fields: TcpHeaderFields,
  payload: Uint8Array = new Uint8Array(0),
): Uint8Array {
  const tcpLength = 20 + (fields.options ? tcpOptionsLength(fields.options) : 0) + payload.length;
  const frame = new Uint8Array(34 + tcpLength);
  writeEthernetHeader(frame, 0, destinationMac, sourceMac, 0x0800);
  writeTcp(frame, 34, source, destination, {
    ...fields,
    sequence: fields.sequence >>> 0,
    acknowledgment: fields.acknowledgment >>> 0,
  }, payload);
  writeIpv4Header(frame, 14, {
    source,
    destination,
    protocol: PROTOCOL_TCP,
    payloadLength: tcpLength,
    identification: 0,
    ttl: 64,
  });
  return frame;
}

/**
 * The ARP reply to `frame` when it is a request for an address `posesAs` accepts (the reply
 * comes from `mac`), else undefined.
 */
export function arpReplyFor(
  frame: Uint8Array,
  mac: Uint8Array,
  posesAs: (address: number) => boolean,
): Uint8Array | undefined {
  const eth = parseEthernet(frame);
  if (eth instanceof WireError || eth.etherType !== 0x0806) return undefined;
  const arp = parseArp(eth.payload);
  if (arp instanceof WireError || arp.operation !== 1 || !posesAs(arp.targetProtocolAddress)) {
    return undefined;
  }
  const reply = new Uint8Array(42);
  writeEthernetHeader(reply, 0, eth.source, mac, 0x0806);
  writeArp(
    reply,
    14,
    2,
    mac,
    arp.targetProtocolAddress,
    arp.senderHardwareAddress,
    arp.senderProtocolAddress,
  );
  return reply;
}

/** The IPv4 addresses and TCP segment in `frame`, if it carries a valid one. */
export function tcpOfFrame(
  frame: Uint8Array,
): { source: number; destination: number; tcp: TcpSegment } | undefined {
  const eth = parseEthernet(frame);
  if (eth instanceof WireError || eth.etherType !== 0x0800) return undefined;
  const ip = parseIpv4(eth.payload);
  if (ip instanceof WireError || ip.protocol !== PROTOCOL_TCP) return undefined;
  const tcp = parseTcp(ip.payload, ip.source, ip.destination);
  if (tcp instanceof WireError) return undefined;
  return { source: ip.source, destination: ip.destination, tcp };
}
