/**
 * How CLI tools open a TCP connection: always through a usernet stack — on the NIC the flags
 * name, or with no NIC flag behind the embedded gateway to the host's network.
 */
import type { Conn } from "../net/conn.ts";
import type { NicFlags } from "./_nic_flags.ts";
import { openStack } from "./_nic_flags.ts";
import type { Stack } from "../net/stack.ts";
export { hasNicFlags } from "./_nic_flags.ts";

/** A way to open TCP connections, and to release what it holds. */
export interface Connector {
  /** Opens a TCP connection to `hostname:port` (names are resolved by the stack). */
  connect(hostname: string, port: number, signal?: AbortSignal): Promise<Conn>;
  /** The stack connections go through. */
  stack: Stack;
  /** Releases the stack. */
  close(): Promise<void>;
}

/** Opens the connector the flags ask for. */
export async function openConnector(
  flags: NicFlags,
  log: (line: string) => void = () => {},
): Promise<Connector> {
  const stack = await openStack(flags, log);
  return {
    stack,
    connect: (hostname, port, signal) => stack.connect({ hostname, port, signal }),
    close: () => stack.close(),
  };
}
