/**
 * Name resolution through usernet against dnsmasq, over a TAP device in a namespace made for
 * the test: Linux's side is 10.80.0.1/24 where dnsmasq answers DNS (and DHCP, for the test
 * that takes its servers from the lease); usernet is 10.80.0.2 or leased. Where the test is
 * about which server was asked when, a wrapper around the TAP NIC keeps a timeline of the
 * ARP, DNS and ICMP frames on the wire.
 */
import assert from "node:assert/strict";
import { interopTest, type Peer, tempDir } from "./_harness.ts";
import { createTapNamespace, type TestNamespace } from "./_netns.ts";
import { TapNic } from "../../drivers/tap.ts";
import type { Frame, Nic, NicFeatures, NicStats } from "../../drivers/nic.ts";
import { Stack, type StackOptions } from "../../net/stack.ts";
import { DnsNameNotFound, DnsNoData, formatShort } from "../../net/dns/mod.ts";
import {
  ARP_REQUEST,
  ETHERTYPE_ARP,
  ETHERTYPE_IPV4,
  formatIpv4Address as ip,
  ICMP_DESTINATION_UNREACHABLE,
  parseArp,
  parseEthernet,
  parseIcmpv4,
  parseIpv4,
  parseUdp,
  PROTOCOL_ICMP,
  PROTOCOL_UDP,
  WireError,
} from "../../net/wire/mod.ts";

const needs = { root: true, programs: ["ip", "dnsmasq"], files: ["/dev/net/tun"] };

async function withDnsmasq(
  tag: string,
  stackOptions: Omit<StackOptions, "nic"> & { wrapNic?: (tap: Nic) => Nic },
  fn: (s: { ns: TestNamespace & { tap: string }; dnsmasq: Peer; stack: Stack }) => Promise<void>,
): Promise<void> {
  const ns = await createTapNamespace(tag, "10.80.0.1/24");
  const dir = await tempDir("dns-tap");
  const hosts = [
    "10.80.1.3 web.test",
    "fd00::3 web.test",
    ...Array.from({ length: 60 }, (_, i) => `10.80.2.${i + 1} many.test`),
  ];
  await Deno.writeTextFile(`${dir.path}/hosts`, hosts.join("\n") + "\n");
  await Deno.chmod(dir.path, 0o777); // dnsmasq reads the hosts file and writes leases as nobody
  await Deno.chmod(`${dir.path}/hosts`, 0o644);
  let dnsmasq: Peer | undefined;
  let stack: Stack | undefined;
  try {
    const { wrapNic = (tap: Nic) => tap, ...options } = stackOptions;
    stack = new Stack({ nic: wrapNic(TapNic.open({ name: ns.tap, netns: ns.name })), ...options });
    dnsmasq = ns.spawn("dnsmasq", "dnsmasq", [
      "-k",
      "--no-resolv",
      "--no-hosts",
      `--addn-hosts=${dir.path}/hosts`,
      "--interface=tap0",
      "--bind-interfaces",
      "--local=/test/",
      "--local-ttl=60",
      // A CNAME chain: alias -> middle -> web.
      "--cname=alias.test,middle.test",
      "--cname=middle.test,web.test",
      "--mx-host=test,mail.test,10",
      "--txt-record=txt.test,hello usernet",
      "--dhcp-range=10.80.0.50,10.80.0.60,255.255.255.0,2m",
      "--dhcp-option=option:dns-server,10.80.0.1",
      "--dhcp-authoritative",
      "--no-ping",
      `--dhcp-leasefile=${dir.path}/leases`,
      `--pid-file=${dir.path}/pid`,
      "--log-queries",
      "--log-facility=-",
    ]);
    await dnsmasq.waitForOutput(/read .*hosts - 62 names|failed to load/, 10_000);
    await fn({ ns, dnsmasq, stack });
  } catch (e) {
    if (dnsmasq) console.error(`dnsmasq log:\n${dnsmasq.log}`);
    throw e;
  } finally {
    await stack?.close();
    await dnsmasq?.stop();
    await ns.cleanup();
    await dir.cleanup();
  }
}

const staticAddress = { address: "10.80.0.2/24", dns: ["10.80.0.1"] };

interopTest(
  "dnsmasq over TAP: usernet resolves A, AAAA, a CNAME chain, MX and TXT; NXDOMAIN and NODATA are typed",
  needs,
  async () => {
    await withDnsmasq("dns-kinds", staticAddress, async ({ stack }) => {
      const cases: Array<[string, string, string[]]> = [
        ["web.test", "A", ["10.80.1.3"]],
        ["web.test", "AAAA", ["fd00::3"]],
        ["alias.test", "A", ["middle.test.", "web.test.", "10.80.1.3"]],
        ["alias.test", "CNAME", ["middle.test."]],
        ["test", "MX", ["10 mail.test."]],
        ["txt.test", "TXT", ['"hello usernet"']],
      ];
      for (const [name, type, lines] of cases) {
        const answer = await stack.resolve(name, { type });
        assert.deepEqual(formatShort(answer), lines, `${name} ${type}`);
      }
      const chained = await stack.resolve("alias.test");
      assert.equal(chained.source, "cache");
      assert.equal(chained.canonicalName, "web.test.");
      await assert.rejects(stack.resolve("nx.test"), DnsNameNotFound);
      await assert.rejects(stack.resolve("web.test", { type: "MX" }), DnsNoData);
    });
  },
);

interopTest(
  "dnsmasq over TAP: 60 A records are truncated over UDP, then fetched over usernet's TCP",
  needs,
  async () => {
    await withDnsmasq("dns-tc", staticAddress, async ({ stack }) => {
      const answer = await stack.resolve("many.test");
      assert.equal(answer.records.length, 60);
      const addresses = new Set(formatShort(answer));
      for (let i = 1; i <= 60; i++) assert.ok(addresses.has(`10.80.2.${i}`));
      // The TCP connection went through usernet and is gone again.
      const tcp = stack.stats().tcp as unknown as Record<string, number>;
      assert.ok(Object.values(tcp).some((v) => v > 0), JSON.stringify(tcp));
    });
  },
);

interopTest(
  "dnsmasq over TAP: DNS servers from the DHCP lease; connect() by name reaches Linux",
  { ...needs, programs: [...needs.programs, "python3"] },
  async () => {
    await withDnsmasq("dns-lease", { dhcp: { probe: false } }, async ({ ns, stack }) => {
      const server = ns.spawn("tcp-echo", "python3", [
        "-c",
        [
          "import socket",
          "s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)",
          "s.bind(('10.80.0.1', 7007)); s.listen(1); print('ready', flush=True)",
          "c, _ = s.accept(); c.sendall(c.recv(100).upper()); c.close()",
        ].join("\n"),
      ]);
      await server.waitForOutput("ready", 10_000);
      await stack.dhcp();
      assert.deepEqual(stack.resolver.servers, ["10.80.0.1:53"]);
      stack.resolver.hosts.add("linux.test", "10.80.0.1");
      const conn = await stack.connect({ hostname: "linux.test", port: 7007 });
      await conn.write(new TextEncoder().encode("usernet"));
      const buffer = new Uint8Array(16);
      const n = await conn.read(buffer);
      assert.equal(new TextDecoder().decode(buffer.subarray(0, n ?? 0)), "USERNET");
      conn.close();
      assert.deepEqual(formatShort(await stack.resolve("web.test")), ["10.80.1.3"]);
      await server.stop();
    });
  },
);

interopTest(
  "dnsmasq over TAP: cli/dig.ts --tap --netns --dhcp prints +short lines, and NXDOMAIN exits 1",
  needs,
  async () => {
    await withDnsmasq("dns-cli", {}, async ({ ns, stack }) => {
      await stack.close(); // dig opens the TAP itself
      const dig = async (...args: string[]) => {
        const out = await new Deno.Command(Deno.execPath(), {
          args: [
            "run",
            "--allow-net",
            "--allow-read",
            "--allow-write",
            "--allow-ffi",
            new URL("../../cli/dig.ts", import.meta.url).pathname,
            ...args,
            "--tap",
            ns.tap,
            "--netns",
            ns.name,
            "--dhcp",
          ],
          stdout: "piped",
          stderr: "piped",
        }).output();
        const text = (b: Uint8Array) => new TextDecoder().decode(b).trim();
        return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
      };
      const alias = await dig("alias.test");
      assert.equal(alias.code, 0, alias.stderr);
      assert.equal(alias.stdout, "middle.test.\nweb.test.\n10.80.1.3");
      assert.match(alias.stderr, /dhcp: 10\.80\.0\.\d+\/24/);
      const mx = await dig("test", "--type", "MX", "--server", "10.80.0.1");
      assert.equal(mx.stdout, "10 mail.test.");
      const nx = await dig("nx.test");
      assert.equal(nx.code, 1);
      assert.match(nx.stderr, /;; DnsNameNotFound: nx\.test\. A/);
    });
  },
);

/** One line of the wire timeline: ms since the recorder started, direction, what it was. */
interface WireEvent {
  ms: number;
  dir: "out" | "in";
  what: string;
}

/**
 * A NIC wrapper that notes ARP requests, DNS over UDP (`dns query A:P -> B:Q`, `dns answer`)
 * and ICMP destination-unreachable messages, with the time each passed.
 */
class WireTimeline implements Nic {
  events: WireEvent[] = [];
  #start = performance.now();
  constructor(readonly inner: Nic, readonly dnsPorts: number[]) {}

  get name(): string {
    return this.inner.name;
  }
  get mac(): Uint8Array {
    return this.inner.mac;
  }
  get mtu(): number {
    return this.inner.mtu;
  }
  get features(): NicFeatures {
    return this.inner.features;
  }
  async receive(): Promise<Frame[] | null> {
    const frames = await this.inner.receive();
    for (const f of frames ?? []) this.#note("in", f.data);
    return frames;
  }
  transmit(frames: Frame[]): void {
    for (const f of frames) this.#note("out", f.data);
    this.inner.transmit(frames);
  }
  stats(): NicStats {
    return this.inner.stats();
  }
  close(): void {
    this.inner.close();
  }

  /** Forgets what was seen so far; times count from now. */
  restart(): void {
    this.events = [];
    this.#start = performance.now();
  }

  /** The first event at or after `from` whose text matches, with its index. */
  find(pattern: RegExp, from = 0): (WireEvent & { index: number }) | undefined {
    const index = this.events.findIndex((e, i) => i >= from && pattern.test(`${e.dir} ${e.what}`));
    return index < 0 ? undefined : { ...this.events[index], index };
  }

  toString(): string {
    return this.events.map((e) => `${e.ms.toFixed(1).padStart(8)} ms  ${e.dir} ${e.what}`)
      .join("\n");
  }

  #note(dir: "out" | "in", data: Uint8Array): void {
    const what = this.#describe(data);
    if (what) this.events.push({ ms: performance.now() - this.#start, dir, what });
  }

  #describe(data: Uint8Array): string | undefined {
    const eth = parseEthernet(data);
    if (eth instanceof WireError) return undefined;
    if (eth.etherType === ETHERTYPE_ARP) {
      const arp = parseArp(eth.payload);
      if (arp instanceof WireError || arp.operation !== ARP_REQUEST) return undefined;
      return `arp who-has ${ip(arp.targetProtocolAddress)}`;
    }
    if (eth.etherType !== ETHERTYPE_IPV4) return undefined;
    const packet = parseIpv4(eth.payload, false);
    if (packet instanceof WireError) return undefined;
    if (packet.protocol === PROTOCOL_ICMP) {
      const icmp = parseIcmpv4(packet.payload, false);
      if (icmp instanceof WireError || icmp.type !== ICMP_DESTINATION_UNREACHABLE) return undefined;
      return `icmp unreachable code ${icmp.code} from ${ip(packet.source)}`;
    }
    if (packet.protocol !== PROTOCOL_UDP) return undefined;
    const udp = parseUdp(packet.payload, packet.source, packet.destination, false);
    if (udp instanceof WireError || udp.payload.length < 12) return undefined;
    const isQuery = (udp.payload[2] & 0x80) === 0;
    if (!this.dnsPorts.includes(isQuery ? udp.destinationPort : udp.sourcePort)) return undefined;
    return `dns ${isQuery ? "query" : "answer"} ${ip(packet.source)}:${udp.sourcePort} -> ${
      ip(packet.destination)
    }:${udp.destinationPort}`;
  }
}

/**
 * Resolves web.test with `first` as the first server and dnsmasq (10.80.0.1:53) second, each
 * attempt timing out after 500 ms. Checks the answer came from dnsmasq within a bound, after
 * the first server was tried; `checkFirst` finds the event on the wire after which dnsmasq may
 * be asked and returns it. `firstFails`: the first attempt ends at its timeout (a silent
 * server), or at once when an ICMP error comes back.
 */
async function secondServerAnswers(
  tag: string,
  first: { address: string; port: number },
  firstFails: "at its timeout" | "at once",
  checkFirst: (wire: WireTimeline, stack: Stack) => WireEvent & { index: number },
): Promise<void> {
  const timeoutMs = 500;
  let wire: WireTimeline | undefined;
  await withDnsmasq(tag, {
    address: "10.80.0.2/24",
    dns: { servers: [first, "10.80.0.1"], timeoutMs },
    wrapNic: (tap) => wire = new WireTimeline(tap, [53, first.port]),
  }, async ({ stack, dnsmasq }) => {
    assert.deepEqual(stack.resolver.servers, [`${first.address}:${first.port}`, "10.80.0.1:53"]);
    const timeline = wire!;
    timeline.restart(); // from here: only this lookup (the stack announced itself before)
    const start = performance.now();
    const answer = await stack.resolve("web.test");
    const elapsed = performance.now() - start;
    console.log(`resolved in ${elapsed.toFixed(0)} ms; wire:\n${timeline}`);
    assert.deepEqual(formatShort(answer), ["10.80.1.3"]);
    assert.equal(answer.source, "network");
    assert.equal(ip(answer.server!), "10.80.0.1", "the answer came from the second server");
    const triedFirst = checkFirst(timeline, stack);
    const toSecond = timeline.find(/^out dns query 10\.80\.0\.2:\d+ -> 10\.80\.0\.1:53$/);
    assert.ok(toSecond, `no query to dnsmasq on the wire:\n${timeline}`);
    assert.ok(toSecond.index > triedFirst.index, `dnsmasq asked too early:\n${timeline}`);
    if (firstFails === "at its timeout") {
      // The first server's attempt had to time out first; no more than one round is spent.
      assert.ok(elapsed >= timeoutMs - 50, `answered after ${elapsed} ms`);
      assert.ok(elapsed < timeoutMs + 1500, `answered after ${elapsed} ms`);
      assert.ok(
        toSecond.ms - triedFirst.ms >= timeoutMs - 50,
        `dnsmasq was asked ${toSecond.ms - triedFirst.ms} ms after the first server`,
      );
    } else {
      // The ICMP error ended the first attempt: no waiting out its timeout.
      assert.ok(elapsed < timeoutMs - 100, `answered after ${elapsed} ms`);
    }
    const reply = timeline.find(/^in dns answer 10\.80\.0\.1:53 -> 10\.80\.0\.2:\d+$/);
    assert.ok(reply && reply.index > toSecond.index, `no answer from dnsmasq:\n${timeline}`);
    // dnsmasq saw the question exactly once (its log lines can come after the answer).
    await dnsmasq.waitForOutput(/query\[A\] web\.test from 10\.80\.0\.2/, 10_000);
    const asked = dnsmasq.log.match(/query\[A\] web\.test from 10\.80\.0\.2/g) ?? [];
    assert.equal(asked.length, 1, dnsmasq.log);
  });
}

interopTest(
  "dnsmasq over TAP: first server silent (nobody at 10.80.0.77), the answer comes from dnsmasq second",
  needs,
  async () => {
    await secondServerAnswers("dns-silent", { address: "10.80.0.77", port: 53 }, "at its timeout", (
      wire,
      stack,
    ) => {
      // Asked first: the query waited on ARP for 10.80.0.77, which nobody answers.
      assert.match(wire.events[0].what, /^arp who-has 10\.80\.0\.77$/, `${wire}`);
      assert.equal(wire.find(/-> 10\.80\.0\.77:/), undefined, "nothing reached 10.80.0.77");
      assert.ok(stack.stats().arp.packetsOut >= 3, "ARP: the announcement, .77, dnsmasq's .1");
      return { ...wire.events[0], index: 0 };
    });
  },
);

interopTest(
  "dnsmasq over TAP: first server refuses (ICMP port unreachable from 10.80.0.1:5353), dnsmasq is asked at once and answers",
  needs,
  async () => {
    await secondServerAnswers("dns-refuse", { address: "10.80.0.1", port: 5353 }, "at once", (
      wire,
      stack,
    ) => {
      const toFirst = wire.find(/^out dns query 10\.80\.0\.2:\d+ -> 10\.80\.0\.1:5353$/);
      assert.ok(toFirst, `no query to port 5353:\n${wire}`);
      // Linux had no socket on 5353 and said so (type 3, code 3: port unreachable).
      const refused = wire.find(/^in icmp unreachable code 3 from 10\.80\.0\.1$/, toFirst.index);
      assert.ok(refused, `no ICMP port unreachable:\n${wire}`);
      assert.ok(stack.stats().icmp.errorsIn >= 1);
      return refused;
    });
  },
);
