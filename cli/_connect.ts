/**
 * How CLI tools open a TCP connection: through a usernet stack when NIC flags are given,
 * otherwise (until the embedded gateway lands) through the host with `Deno.connect`.
 */
import type { Conn } from "../net/conn.ts";
import type { NicFlags } from "./_nic_flags.ts";
import { openStack } from "./_nic_flags.ts";
import type { Stack } from "../net/stack.ts";

/** A way to open TCP connections, and to release what it holds. */
export interface Connector {
  /** Opens a TCP connection to `hostname:port`. */
  connect(hostname: string, port: number, signal?: AbortSignal): Promise<Conn>;
  /** The stack, when connections go through usernet. */
  stack?: Stack;
  /** Releases the stack (if any). */
  close(): Promise<void>;
}

/** Whether any NIC flag was given. */
export function hasNicFlags(flags: NicFlags): boolean {
  return Boolean(flags.tap || flags.qemu || flags["qemu-listen"] || flags["qemu-dgram"]);
}

/** Opens the connector the flags ask for. */
export async function openConnector(
  flags: NicFlags,
  log: (line: string) => void = () => {},
): Promise<Connector> {
  if (hasNicFlags(flags)) {
    const stack = await openStack(flags, log);
    return {
      stack,
      // deno-lint-ignore no-explicit-any
      connect: (hostname, port, signal) => (stack as any).connect({ hostname, port, signal }),
      close: () => stack.close(),
    };
  }
  return {
    connect: (hostname, port) => Deno.connect({ hostname, port }),
    close: () => Promise.resolve(),
  };
}
