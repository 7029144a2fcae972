/**
 * One call gives a program a usernet stack with a network through the host: a gateway in
 * process and a stack on its LAN. Needs only `--allow-net` (no root, no packages).
 *
 * @module
 */
import { Gateway, type GatewayOptions } from "./gateway.ts";
import { Stack, type StackOptions } from "../stack.ts";
import type { Nic } from "../../drivers/nic.ts";

/** Options of {@linkcode hostNetwork}. */
export interface HostNetworkOptions {
  /** The gateway's options. */
  gateway?: GatewayOptions;
  /** The stack's address on the LAN (default 10.0.2.15/24). */
  address?: string;
  /** Further stack options (TCP settings, ...). */
  stack?: Omit<StackOptions, "nic" | "address" | "gateway">;
  /** Wraps the stack's NIC (e.g. to capture with PcapNic). */
  wrapNic?: (nic: Nic) => Nic;
}

/** A stack and the gateway behind it. */
export interface HostNetwork {
  /** The stack: use it like any other (`connect`, `listenDatagram`, `ping`). */
  stack: Stack;
  /** The gateway (10.0.2.2 is the host's loopback, 10.0.2.3 forwards DNS). */
  gateway: Gateway;
  /** The DNS server to use from the stack. */
  dnsServer: string;
  /** Closes both. */
  close(): Promise<void>;
}

/**
 * Brings up a gateway and a stack behind it.
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
export function hostNetwork(options: HostNetworkOptions = {}): Promise<HostNetwork> {
  const gateway = new Gateway(options.gateway);
  const nic = gateway.connectMemory();
  const stack = new Stack({
    ...options.stack,
    nic: options.wrapNic ? options.wrapNic(nic) : nic,
    address: options.address ?? `10.0.2.15/${gateway.prefixLength}`,
    gateway: gateway.address,
  });
  return Promise.resolve({
    stack,
    gateway,
    dnsServer: gateway.dnsAddress,
    async close() {
      await stack.close();
      await gateway.close();
    },
  });
}
