/**
 * usernet: a userspace network stack for Deno. A program that imports usernet owns an Ethernet
 * NIC (a TAP device, a QEMU netdev socket, or an in-memory link) and runs its own ARP, IPv4,
 * ICMP, UDP and TCP on it, with TLS 1.3, HTTP/1.1 and SSH-2/SFTP clients on top.
 *
 * @example Two stacks on a memory link
 * ```ts
 * import { MemoryLink, Stack } from "./mod.ts";
 * const [a, b] = MemoryLink.pair();
 * const left = new Stack({ nic: a, address: "10.0.0.1/24" });
 * const right = new Stack({ nic: b, address: "10.0.0.2/24" });
 * console.log((await left.ping("10.0.0.2")).rtt >= 0); // true
 * await left.close();
 * await right.close();
 * ```
 *
 * @module
 */
export * from "./net/stack.ts";
export * from "./net/errors.ts";
export type { StackStats, TrafficCounters } from "./net/stats.ts";
export type { InterfaceOptions } from "./net/interface.ts";
export type { NeighborCacheOptions } from "./net/neighbor_cache.ts";
export type { ReassemblyOptions } from "./net/ipv4_reassembly.ts";
export type { PingOptions, PingReply } from "./net/icmp.ts";
export { MulticastV4Membership, UdpSocket } from "./net/udp.ts";
export { GroupLimitReached } from "./net/igmp.ts";
export type { IgmpGroupState, IgmpOptions } from "./net/igmp.ts";
export type { DatagramSendOptions, ListenDatagramOptions, NetAddr } from "./net/udp.ts";
export type { Conn } from "./net/conn.ts";
export { TcpConn, TcpListener } from "./net/tcp/conn.ts";
export type {
  IncomingSegment,
  OutgoingSegment,
  TcpControlBlock,
  TcpError,
  TcpTuple,
} from "./net/tcp/control_block.ts";
export type { SackBlock, TcpOptions } from "./net/wire/tcp.ts";
export type { TcpConnectOptions, TcpListenOptions } from "./net/tcp/layer.ts";
export type { TcpConfig } from "./net/tcp/config.ts";
export type { CongestionAlgorithm, CongestionControl } from "./net/tcp/congestion.ts";
export type { RingBuffer } from "./net/storage/ring_buffer.ts";
export type { RttEstimator } from "./net/tcp/rtt.ts";
export type { TcpState } from "./net/tcp/state.ts";
export type { RtoBounds } from "./net/tcp/rtt.ts";
export * from "./drivers/nic.ts";
export * from "./drivers/memory.ts";
export * from "./drivers/fault_injector.ts";
export * from "./drivers/pcap.ts";
export * from "./drivers/tap.ts";
export * from "./drivers/qemu_stream.ts";
export * from "./drivers/qemu_dgram.ts";
export * as wire from "./net/wire/mod.ts";
export { Gateway, parsePortForward } from "./net/gateway/gateway.ts";
export type { GatewayOptions, GatewayStats, PortForward } from "./net/gateway/gateway.ts";
export { hostNetwork } from "./net/gateway/host_network.ts";
export type { HostNetwork, HostNetworkOptions } from "./net/gateway/host_network.ts";
export { EthernetSwitch } from "./net/gateway/switch.ts";
export type { DnsUpstream } from "./net/gateway/dns_forwarder.ts";
export type { SwitchOptions } from "./net/gateway/switch.ts";
export * as tls from "./tls/mod.ts";
export * as http from "./http/mod.ts";
export * as ssh from "./ssh/mod.ts";
export * as sftp from "./ssh/sftp/mod.ts";
export * as dns from "./net/dns/mod.ts";
export * as dhcp from "./net/dhcp/mod.ts";
export * as ntp from "./net/ntp/mod.ts";
