/**
 * The NIC and address flags every CLI tool shares:
 * `--tap NAME [--netns NS] | --qemu unix:PATH|tcp:HOST:PORT | --qemu-listen unix:PATH|tcp:HOST:PORT
 *  | --qemu-dgram LOCAL,REMOTE`, `--address A/P [--gateway G]` or `--dhcp`,
 *  `--dns IP[,IP]`, `--mac`, `--mtu`, `--pcap FILE`.
 */
import type { Nic } from "../drivers/nic.ts";
import { PcapNic } from "../drivers/pcap.ts";
import { parseMac } from "../net/wire/address.ts";
import { Stack } from "../net/stack.ts";

/** Flags for `node:util` parseArgs. */
export const NIC_FLAG_OPTIONS = {
  tap: { type: "string" },
  netns: { type: "string" },
  qemu: { type: "string" },
  "qemu-listen": { type: "string" },
  "qemu-dgram": { type: "string" },
  address: { type: "string" },
  gateway: { type: "string" },
  dhcp: { type: "boolean" },
  dns: { type: "string" },
  mac: { type: "string" },
  mtu: { type: "string" },
  pcap: { type: "string" },
} as const;

/** Help text for the shared flags. */
export const NIC_FLAGS_HELP =
  `NIC (pick one; with none, an embedded gateway to the host's network, no root needed):
  --tap NAME [--netns NS]        a Linux TAP device (needs root or CAP_NET_ADMIN)
  --qemu unix:PATH|tcp:H:P       connect to a QEMU/passt stream socket (QEMU: server=on)
  --qemu-listen unix:PATH|tcp:H:P  wait for QEMU to connect (QEMU: server=off)
  --qemu-dgram LOCAL,REMOTE      QEMU dgram netdev; each side unix:PATH or udp:HOST:PORT
Addressing:
  --address A/P                  our IPv4 address and prefix, e.g. 10.0.2.15/24
  --gateway G                    default gateway
  --dhcp                         get address, gateway and DNS servers by DHCP instead
  --dns IP[,IP]                  DNS servers (default: the DHCP lease's)
Other:
  --mac MAC  --mtu N  --pcap FILE (capture every frame to FILE)`;

/** Parsed NIC flags. */
export interface NicFlags {
  tap?: string;
  netns?: string;
  qemu?: string;
  "qemu-listen"?: string;
  "qemu-dgram"?: string;
  address?: string;
  gateway?: string;
  dhcp?: boolean;
  dns?: string;
  mac?: string;
  mtu?: string;
  pcap?: string;
}

/** A usage error: printed as one line, exit status 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

function parseDgramEnd(text: string): { path: string } | { hostname: string; port: number } {
  if (text.startsWith("unix:")) return { path: text.slice(5) };
  const m = /^udp:(.+):(\d+)$/.exec(text);
  if (!m) throw new UsageError(`"${text}" is not unix:PATH or udp:HOST:PORT`);
  return { hostname: m[1], port: Number(m[2]) };
}

/** Opens the NIC the flags name. */
export async function openNic(
  flags: NicFlags,
  log: (line: string) => void = () => {},
): Promise<Nic> {
  const chosen = ["tap", "qemu", "qemu-listen", "qemu-dgram"].filter((k) =>
    flags[k as keyof NicFlags] !== undefined
  );
  if (chosen.length > 1) {
    throw new UsageError(`choose one NIC, not ${chosen.map((c) => `--${c}`).join(" and ")}`);
  }
  const mac = flags.mac ? parseMac(flags.mac) : undefined;
  if (flags.mac && !mac) {
    throw new UsageError(`--mac ${flags.mac} is not a MAC address like 02:00:00:00:00:01`);
  }
  const mtu = flags.mtu ? Number(flags.mtu) : undefined;
  if (mtu !== undefined && (!Number.isInteger(mtu) || mtu < 576 || mtu > 65535)) {
    throw new UsageError(`--mtu must be 576–65535, got ${flags.mtu}`);
  }
  let nic: Nic;
  if (flags.tap) {
    const { TapNic } = await import("../drivers/tap.ts");
    nic = TapNic.open({ name: flags.tap, netns: flags.netns, mac, mtu });
  } else if (flags.qemu) {
    const { QemuStreamNic, parseStreamAddress } = await import("../drivers/qemu_stream.ts");
    nic = await QemuStreamNic.connect(parseStreamAddress(flags.qemu), { mac, mtu });
  } else if (flags["qemu-listen"]) {
    const { QemuStreamServer, parseStreamAddress } = await import("../drivers/qemu_stream.ts");
    const server = QemuStreamServer.listen(parseStreamAddress(flags["qemu-listen"]), { mac, mtu });
    log(`waiting for QEMU to connect to ${flags["qemu-listen"]} ...`);
    nic = await server.accept();
    server.close();
  } else if (flags["qemu-dgram"]) {
    const [local, remote] = flags["qemu-dgram"].split(",");
    if (!remote) throw new UsageError("--qemu-dgram needs LOCAL,REMOTE");
    const { QemuDgramNic } = await import("../drivers/qemu_dgram.ts");
    nic = QemuDgramNic.open({
      local: parseDgramEnd(local),
      remote: parseDgramEnd(remote),
      mac,
      mtu,
    });
  } else {
    throw new UsageError(
      "choose a NIC: --tap NAME, --qemu ADDRESS, --qemu-listen ADDRESS or --qemu-dgram LOCAL,REMOTE",
    );
  }
  return flags.pcap ? new PcapNic(nic, flags.pcap) : nic;
}

/** Whether any NIC flag was given. */
export function hasNicFlags(flags: NicFlags): boolean {
  return Boolean(flags.tap || flags.qemu || flags["qemu-listen"] || flags["qemu-dgram"]);
}

/**
 * Opens the NIC and brings a stack up on it with the flags' addressing. With no NIC flag the
 * stack sits behind an embedded gateway to the host's network (no root needed): it gets its
 * address by DHCP from the gateway unless `--address` is given.
 */
export async function openStack(
  flags: NicFlags,
  log: (line: string) => void = () => {},
  options: { wrapNic?: (nic: Nic) => Nic } = {},
): Promise<Stack> {
  const wrap = options.wrapNic ?? ((nic: Nic) => nic);
  if (flags.address && flags.dhcp) throw new UsageError("choose --address or --dhcp, not both");
  const dns = flags.dns?.split(",").filter(Boolean);
  if (!hasNicFlags(flags)) {
    const { hostNetwork } = await import("../net/gateway/host_network.ts");
    const net = await hostNetwork({
      dhcp: !flags.address,
      address: flags.address,
      stack: dns ? { dns } : undefined,
      wrapNic: (nic) => wrap(flags.pcap ? new PcapNic(nic, flags.pcap) : nic),
    });
    const v4 = net.stack.ipv4!;
    log(
      `usernet: ${v4.address}/${v4.prefixLength} behind the embedded gateway ${net.gateway.address} ` +
        `(the host's network; DNS ${net.gateway.dnsAddress})${net.lease ? " by DHCP" : ""}`,
    );
    // Closing the stack also stops its gateway.
    const closeStack = net.stack.close.bind(net.stack);
    net.stack.close = async () => {
      await closeStack();
      await net.gateway.close();
    };
    return net.stack;
  }
  if (!flags.address && !flags.dhcp) {
    throw new UsageError("--address A/P or --dhcp is required, e.g. --address 10.0.2.15/24");
  }
  const nic = await openNic(flags, log);
  let stack: Stack;
  try {
    stack = new Stack({ nic: wrap(nic), address: flags.address, gateway: flags.gateway, dns });
  } catch (error) {
    nic.close();
    throw error;
  }
  if (flags.dhcp) {
    const { dhcpUp } = await import("../net/dhcp/stack_client.ts");
    await dhcpUp(stack, log);
  }
  return stack;
}

/** Runs a CLI main: usage errors and failures become one line on stderr and an exit status. */
export async function runMain(main: () => Promise<number | void>): Promise<never> {
  try {
    const status = await main();
    Deno.exit(status ?? 0);
  } catch (error) {
    const e = error as Error;
    console.error(`${e.name === "UsageError" ? "usage" : "error"}: ${e.message}`);
    Deno.exit(e.name === "UsageError" ? 2 : 1);
  }
}
