/**
 * One call gives a program a usernet stack with a network through the host: a gateway in
 * process and a stack on its LAN. Needs only `--allow-net` (no root, no packages).
 *
 * @module
 */
import { Gateway, type GatewayOptions } from "./gateway.ts";
import { Stack, type StackOptions } from "../stack.ts";
import type { Nic } from "../../drivers/nic.ts";
import type { DhcpLease } from "../dhcp/client.ts";

/** Options of {@linkcode hostNetwork}. */
export interface HostNetworkOptions {
  /** The gateway's options. */
  gateway?: GatewayOptions;
  /** Get the stack's address from the gateway by DHCP, as a VM would (default false). */
  dhcp?: boolean;
  /** The stack's address on the LAN without DHCP (default 10.0.2.15/24). */
  address?: string;
  /** Further stack options (TCP settings, ...). */
  stack?: Omit<StackOptions, "nic" | "address" | "gateway" | "dhcp">;
  /** Wraps the stack's NIC (e.g. to capture with PcapNic). */
  wrapNic?: (nic: Nic) => Nic;
  /** Aborts waiting for the DHCP lease. */
  signal?: AbortSignal;
}

/** A stack and the gateway behind it. */
export interface HostNetwork {
  /** The stack: use it like any other (`connect`, `listenDatagram`, `ping`, `resolve`). */
  stack: Stack;
  /** The gateway (10.0.2.2 is the host's loopback, 10.0.2.3 forwards DNS). */
  gateway: Gateway;
  /** The DHCP lease, when `dhcp` was asked for. */
  lease?: DhcpLease;
  /** Closes both. */
  close(): Promise<void>;
}

/**
 * Brings up a gateway and a stack behind it. Connections to the gateway's address (10.0.2.2),
 * and to 127/8, reach the host's loopback; names resolve through the host's resolver.
 *
 * @example
 * ```ts ignore
 * import { hostNetwork } from "./host_network.ts";
 * const net = await hostNetwork();
 * const conn = await net.stack.connect({ hostname: "10.0.2.2", port: 8080 }); // host's 127.0.0.1:8080
 * conn.close();
 * await net.close();
 * ```
 */
export async function hostNetwork(options: HostNetworkOptions = {}): Promise<HostNetwork> {
  // The stack is this program's own: its 127.0.0.1 is the host's loopback, as a tool's user means.
  const gateway = new Gateway({ hostLoopback: true, ...options.gateway });
  const raw = gateway.connectMemory();
  const nic = options.wrapNic ? options.wrapNic(raw) : raw;
  const stack = new Stack({
    dns: [gateway.dnsAddress],
    ...options.stack,
    nic,
    address: options.dhcp ? undefined : options.address ?? `10.0.2.15/${gateway.prefixLength}`,
    gateway: options.dhcp ? undefined : gateway.address,
  });
  const close = async () => {
    await stack.close();
    await gateway.close();
  };
  let lease: DhcpLease | undefined;
  if (options.dhcp) {
    try {
      // The gateway is the only host on its LAN: no need to probe for address conflicts.
      lease = await stack.dhcp({ probe: false }, options.signal);
    } catch (error) {
      await close();
      throw error;
    }
  }
  return { stack, gateway, lease, close };
}
