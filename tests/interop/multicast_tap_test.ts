/**
 * IPv4 multicast and IGMP between usernet and the Linux kernel over a TAP device in a namespace
 * the test creates: Linux at 10.78.0.1 (python3 sockets, and a raw IGMP socket playing the
 * querier), usernet at 10.78.0.2. tshark on tap0 is the witness of what usernet puts on the
 * wire, decoded by Wireshark's dissectors rather than usernet's own parser. On failure the
 * peers' logs are printed and the capture is kept.
 */
import assert from "node:assert/strict";
import { interopTest, type Peer, waitFor } from "./_harness.ts";
import { createTapNamespace, type TestNamespace } from "./_netns.ts";
import { TapNic } from "../../drivers/tap.ts";
import { Stack } from "../../net/stack.ts";

const needs = {
  root: true,
  programs: ["ip", "python3", "tshark"],
  files: ["/dev/net/tun"],
};

const LINUX = "10.78.0.1";
const USERNET = "10.78.0.2";
const BROADCAST = "10.78.0.255";

/** A broadcast UDP datagram from Linux to port 9 (discard): the capture's sync marker. */
const MARKER = `
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
s.sendto(b"marker", ("${BROADCAST}", 9))
`;

/** One IGMP or UDP packet as tshark decoded it on tap0. */
interface Captured {
  source: string;
  destination: string;
  ttl: number;
  /** IPv4 option types, e.g. "148" for Router Alert. */
  options: string;
  igmpVersion: string;
  igmpType: string;
  group: string;
  /** Wireshark's IGMP checksum status: "1" is good. */
  igmpChecksum: string;
  udpPort: string;
}

const FIELDS = [
  "ip.src",
  "ip.dst",
  "ip.ttl",
  "ip.opt.type",
  "igmp.version",
  "igmp.type",
  "igmp.maddr",
  "igmp.checksum.status",
  "udp.dstport",
];

/**
 * tshark on tap0 in the namespace: writes a pcap and prints each packet's fields as it goes.
 * "Capturing on" comes before packets are really taken, and packets still in the kernel's ring
 * are lost when tshark stops: {@linkcode sync} sends a marker from Linux and waits until tshark
 * shows it, so everything on the wire before it has been seen.
 */
class Capture {
  readonly peer: Peer;
  #markers = 0;
  constructor(readonly ns: TestNamespace, readonly pcap: string) {
    this.peer = ns.spawn("tshark", "tshark", [
      "-i",
      "tap0",
      "-l",
      "-n",
      "-f",
      "igmp or udp",
      "-w",
      pcap,
      "-P",
      "-T",
      "fields",
      "-E",
      "separator=|",
      ...FIELDS.flatMap((f) => ["-e", f]),
    ]);
  }

  ready(): Promise<void> {
    return this.peer.waitForOutput("Capturing on");
  }

  /** Broadcasts a marker datagram from Linux to port 9 and waits until tshark has seen it. */
  async sync(): Promise<void> {
    const n = ++this.#markers;
    await this.ns.exec("python3", ["-c", MARKER]);
    await waitFor(
      `tshark to see marker ${n}`,
      () =>
        this.packets().filter((p) => p.destination === BROADCAST && p.udpPort === "9").length >= n,
      10_000,
    );
  }

  packets(): Captured[] {
    return this.peer.log.split("\n").filter((l) => l.split("|").length === FIELDS.length).map(
      (l) => {
        const [source, destination, ttl, options, igmpVersion, igmpType, group, sum, port] = l
          .split("|");
        return {
          source,
          destination,
          ttl: Number(ttl),
          options,
          igmpVersion,
          igmpType,
          group,
          igmpChecksum: sum,
          udpPort: port,
        };
      },
    );
  }

  /** IGMP messages usernet sent so far. */
  fromUsernet(): Captured[] {
    return this.packets().filter((p) => p.source === USERNET && p.igmpType !== "");
  }

  async until(what: string, predicate: (packets: Captured[]) => boolean, timeoutMs = 10_000) {
    await waitFor(`tshark to see ${what}`, () => predicate(this.fromUsernet()), timeoutMs);
  }
}

async function setup(tag: string) {
  const ns = await createTapNamespace(tag, `${LINUX}/24`);
  // No IPv6 on tap0: its MLD and neighbour discovery would be multicast drops in the counts.
  await ns.exec("sysctl", ["-qw", "net.ipv6.conf.tap0.disable_ipv6=1"]);
  const dir = await Deno.makeTempDir({ prefix: "usernet-multicast-" });
  const capture = new Capture(ns, `${dir}/tap0.pcap`);
  const peers: Peer[] = [capture.peer];
  let stack: Stack | undefined;
  try {
    await capture.ready();
    const nic = TapNic.open({ name: ns.tap, netns: ns.name });
    // Repeat the join's report within 300 ms instead of 10 s, so the test sees both.
    stack = new Stack({
      nic,
      address: `${USERNET}/24`,
      igmp: { unsolicitedReportIntervalMs: 300 },
    });
    await capture.sync();
  } catch (e) {
    await stack?.close();
    await capture.peer.stop();
    await ns.cleanup();
    throw e;
  }
  return {
    ns,
    stack,
    capture,
    /** Starts a python3 peer inside the namespace; its log is printed if the test fails. */
    python(name: string, program: string, args: string[] = []): Peer {
      const peer = ns.spawn(name, "python3", ["-u", "-c", program, ...args]);
      peers.push(peer);
      return peer;
    },
    async run(fn: () => Promise<void>) {
      let failed = true;
      try {
        await fn();
        failed = false;
      } finally {
        if (failed) {
          console.error(
            `usernet: groups ${JSON.stringify(stack.multicastGroups())}, stats ${
              JSON.stringify(stack.stats())
            }, NIC ${JSON.stringify(stack.nic.stats())}`,
          );
        }
        await stack.close();
        for (const p of peers) await p.stop();
        if (failed) {
          for (const p of peers) console.error(`--- ${p.name} log ---\n${p.log}`);
          console.error(`capture kept: ${capture.pcap}`);
        } else {
          await Deno.remove(dir, { recursive: true });
        }
        await ns.cleanup();
      }
    },
  };
}

/** Sends one datagram per argument `group:port:text` from Linux's tap0 address. */
const SENDER = `
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton("${LINUX}"))
s.bind(("${LINUX}", 4444))
for spec in sys.argv[1:]:
    group, port, text = spec.split(":", 2)
    s.sendto(text.encode(), (group, int(port)))
print("sent", flush=True)
`;

/** Joins a group on tap0's address and prints each datagram with its source and TTL. */
const RECEIVER = `
import socket, sys
group, port = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", port))
s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
             socket.inet_aton(group) + socket.inet_aton("${LINUX}"))
s.setsockopt(socket.IPPROTO_IP, 12, 1)  # IP_RECVTTL
print("ready", flush=True)
while True:
    data, anc, flags, addr = s.recvmsg(2048, socket.CMSG_SPACE(4))
    ttl = [int.from_bytes(d[:4], sys.byteorder) for (l, t, d) in anc if t == socket.IP_TTL]
    print("got %s from %s:%d ttl %s" % (data.decode(), addr[0], addr[1], ttl[0]), flush=True)
`;

/** A querier: sends IGMP queries from tap0's address (TOS 0xc0, TTL 1, Router Alert). */
const QUERIER = `
import socket, struct, sys
def checksum(b):
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s & 0xffff) + (s >> 16); s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
version, max_resp, group = sys.argv[1], int(sys.argv[2]), sys.argv[3]
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_IGMP)
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton("${LINUX}"))
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
s.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, 0xc0)
s.setsockopt(socket.IPPROTO_IP, socket.IP_OPTIONS, b"\\x94\\x04\\x00\\x00")
msg = struct.pack("!BBH4s", 0x11, max_resp, 0, socket.inet_aton(group))
if version == "3":
    msg += struct.pack("!BBH", 2, 125, 0)
msg = msg[:2] + struct.pack("!H", checksum(msg)) + msg[4:]
s.sendto(msg, ("224.0.0.1" if group == "0.0.0.0" else group, 0))
print("queried", flush=True)
`;

/** What a Membership Report from usernet for `group` looks like to Wireshark. */
function report(group: string, destination = group): Partial<Captured> {
  return {
    source: USERNET,
    destination,
    ttl: 1,
    options: "148", // Router Alert (RFC 2113)
    igmpVersion: "2",
    igmpType: "0x16",
    group,
    igmpChecksum: "1",
  };
}

function matches(p: Captured, want: Partial<Captured>): boolean {
  return Object.entries(want).every(([k, v]) => p[k as keyof Captured] === v);
}

interopTest(
  "linux_tap multicast: usernet joins 239.1.2.3 — tshark sees two IGMPv2 reports; Linux's datagrams to the group arrive, other groups are dropped",
  needs,
  async () => {
    const t = await setup("mc-join");
    await t.run(async () => {
      const socket = t.stack.listenDatagram({ port: 5000 });
      await socket.joinMulticastV4("239.1.2.3", USERNET);
      await t.capture.until("two reports", (ps) => ps.length >= 2);
      const reports = t.capture.fromUsernet();
      assert.equal(reports.length, 2, JSON.stringify(reports));
      for (const r of reports) assert.ok(matches(r, report("239.1.2.3")), JSON.stringify(r));

      const sender = t.python("python-sender", SENDER, [
        "239.1.2.4:5000:other group",
        "239.129.2.3:5000:same MAC other group",
        "239.1.2.3:5000:hello group",
      ]);
      await sender.waitForOutput("sent");
      const [data, from] = await socket.receive();
      assert.equal(new TextDecoder().decode(data), "hello group");
      assert.deepEqual(from, { transport: "udp", hostname: LINUX, port: 4444 });
      const drops = t.stack.stats().drops;
      assert.equal(drops["ethernet/multicast"], 1, JSON.stringify(drops));
      assert.equal(drops["ipv4/multicast-not-joined"], 1, JSON.stringify(drops));
      // tshark saw Linux send all three through the TAP.
      await t.capture.sync();
      const udp = t.capture.packets().filter((p) => p.source === LINUX && p.udpPort === "5000");
      assert.deepEqual(udp.map((p) => [p.destination, p.ttl]), [
        ["239.1.2.4", 1],
        ["239.129.2.3", 1],
        ["239.1.2.3", 1],
      ]);
      socket.close();
    });
  },
);

interopTest(
  "linux_tap multicast: usernet sends to 239.5.6.7, which a Linux socket joined; Linux receives it with TTL 1, then 4 after setTTL",
  needs,
  async () => {
    const t = await setup("mc-send");
    await t.run(async () => {
      const receiver = t.python("python-receiver", RECEIVER, ["239.5.6.7", "5001"]);
      await receiver.waitForOutput("ready");
      const socket = t.stack.listenDatagram({ port: 6001 });
      const membership = await socket.joinMulticastV4("239.9.9.9", "0.0.0.0");
      await socket.send(new TextEncoder().encode("one"), { hostname: "239.5.6.7", port: 5001 });
      await receiver.waitForOutput(`got one from ${USERNET}:6001 ttl 1`, 10_000);
      await membership.setTTL(4);
      await socket.send(new TextEncoder().encode("two"), { hostname: "239.5.6.7", port: 5001 });
      await receiver.waitForOutput(`got two from ${USERNET}:6001 ttl 4`, 10_000);
      // Multicast needs no ARP: usernet never asked for Linux's MAC.
      assert.deepEqual(t.stack.neighbors(), []);
      socket.close();
    });
  },
);

interopTest(
  "linux_tap multicast: a Linux querier's v2 and v3 general queries are answered with reports; leave sends Leave Group to 224.0.0.2",
  needs,
  async () => {
    const t = await setup("mc-query");
    await t.run(async () => {
      const socket = t.stack.listenDatagram({ port: 5000 });
      const membership = await socket.joinMulticastV4("239.1.2.3", "0.0.0.0");
      await t.capture.until("the join's two reports", (ps) => ps.length >= 2);
      // IGMPv2 general query, Max Resp Time 1 s: a report within 1 s.
      const v2 = t.python("python-querier-v2", QUERIER, ["2", "10", "0.0.0.0"]);
      await v2.waitForOutput("queried");
      await t.capture.until("the answer to the v2 query", (ps) => ps.length >= 3, 3000);
      // IGMPv3 general query (12 bytes): an IGMPv2 host answers it the same way.
      const v3 = t.python("python-querier-v3", QUERIER, ["3", "10", "0.0.0.0"]);
      await v3.waitForOutput("queried");
      await t.capture.until("the answer to the v3 query", (ps) => ps.length >= 4, 3000);
      // A group-specific query for a group usernet is not in goes unanswered.
      const other = t.python("python-querier-other", QUERIER, ["2", "5", "239.4.4.4"]);
      await other.waitForOutput("queried");
      await new Promise((r) => setTimeout(r, 800));
      assert.equal(t.capture.fromUsernet().length, 4);
      await membership.leave();
      await t.capture.until("the leave", (ps) => ps.length >= 5);
      const sent = t.capture.fromUsernet();
      for (const r of sent.slice(0, 4)) {
        assert.ok(matches(r, report("239.1.2.3")), JSON.stringify(r));
      }
      assert.ok(
        matches(sent[4], { ...report("239.1.2.3", "224.0.0.2"), igmpType: "0x17" }),
        JSON.stringify(sent[4]),
      );
      // The queries themselves were seen too (Linux's, from the raw socket).
      const queries = t.capture.packets().filter((p) =>
        p.source === LINUX && p.igmpType === "0x11"
      );
      assert.deepEqual(queries.map((q) => q.igmpVersion), ["2", "3", "2"]);
      socket.close();
    });
  },
);
