/**
 * Child process of dhcp_dnsmasq_test.ts, run inside the client's network namespace.
 *
 * It drives usernet's DhcpClient core against a live dnsmasq. Deno sockets cannot broadcast,
 * so this process acts as a DHCP relay agent (RFC 2131 §4.1, RFC 1542): every message the core
 * wants broadcast is sent unicast to the server with `giaddr` set to our relay address, and the
 * server answers to giaddr:67. Unicast messages (RENEW, RELEASE) go from the leased address
 * itself, which this process adds to its interface when the core reports the lease, as the
 * stack will. Time is the core's: `now` is the monotonic clock plus a skew the script moves
 * forward to reach T1 without waiting.
 *
 * Prints one JSON object per line: events, sent message types, and the final state.
 *
 * Usage: dhcp_dnsmasq_child.ts SCENARIO SERVER RELAY IFACE
 *   SCENARIO: "full" (decline, acquire, renew, release) or "nak" (INIT-REBOOT refused)
 */
import { formatIpv4, parseIpv4 } from "../../net/dns/_ipv4.ts";
import {
  DhcpClient,
  type DhcpClientOutput,
  type DhcpLease,
  messageTypeName,
} from "../../net/dhcp/mod.ts";

const [scenario, serverText, relayText, iface] = Deno.args;
const server = parseIpv4(serverText);
const relay = parseIpv4(relayText);
let skew = 0;
const now = () => performance.now() + skew;
const print = (o: Record<string, unknown>) => console.log(JSON.stringify(o));

const previousLease: DhcpLease | undefined = scenario === "nak"
  ? {
    address: parseIpv4("10.78.1.200"), // not in dnsmasq's range: it must NAK
    prefixLength: 24,
    subnetMask: 0xffffff00,
    routers: [],
    dns: [],
    leaseTime: 3600,
    renewalTime: 1800,
    rebindingTime: 3150,
    serverId: server,
    obtainedAt: 0,
    expiresAt: now() + 3_600_000,
  }
  : undefined;

const client = new DhcpClient({
  mac: Uint8Array.of(0x52, 0x54, 0, 0xaa, 0xbb, scenario === "nak" ? 2 : 1),
  random: Math.random,
  hostname: `usernet-${scenario}`,
  previousLease,
  declineDelayMs: 200,
});

const relaySocket = Deno.listenDatagram({ hostname: "0.0.0.0", port: 67, transport: "udp" });
let clientSocket: Deno.DatagramConn | undefined;
type Received = { bytes: Uint8Array; socket: "relay" | "client" } | null;
const pending = new Map<string, Promise<Received>>();
const listen = (name: "relay" | "client", socket: Deno.DatagramConn) => {
  if (!pending.has(name)) {
    pending.set(
      name,
      socket.receive().then(([bytes]) => ({ bytes, socket: name }), () => null),
    );
  }
};

let probes = 0;
let done = false;
let renewed = false;
let lease: DhcpLease | undefined;

async function act(out: DhcpClientOutput): Promise<void> {
  for (const m of out.send) {
    print({ sent: messageTypeName(m.messageType), broadcast: m.broadcast });
    if (m.broadcast) {
      // Relay it: giaddr = us, hops = 1 (RFC 1542 §4.1.1).
      const relayed = m.payload.slice();
      relayed[3] = 1;
      new DataView(relayed.buffer).setUint32(24, relay);
      await relaySocket.send(relayed, { hostname: serverText, port: 67, transport: "udp" });
    } else {
      await clientSocket!.send(m.payload, {
        hostname: formatIpv4(m.destination),
        port: m.destinationPort,
        transport: "udp",
      });
    }
  }
  for (const address of out.probes) {
    // "full": pretend the first offered address is taken (an ARP reply came back).
    const inUse = scenario === "full" && probes++ === 0;
    print({ probe: formatIpv4(address), inUse });
    client.probeResult(address, inUse, now());
  }
  for (const e of out.events) {
    if (e.type === "declined") {
      print({ event: e.type, address: formatIpv4(e.address) });
      continue;
    }
    print({
      event: e.type,
      address: formatIpv4(e.lease.address),
      prefixLength: e.lease.prefixLength,
      router: e.lease.router === undefined ? null : formatIpv4(e.lease.router),
      dns: e.lease.dns.map(formatIpv4),
      domain: e.lease.domain ?? null,
      leaseTime: e.lease.leaseTime,
      serverId: formatIpv4(e.lease.serverId),
    });
    if (e.type === "acquired") {
      lease = e.lease;
      if (scenario === "nak") {
        done = true;
        continue;
      }
      // Configure the address as the stack would, then renew at T1 (jump the core's clock).
      const cidr = `${formatIpv4(e.lease.address)}/${e.lease.prefixLength}`;
      await new Deno.Command("ip", { args: ["addr", "add", cidr, "dev", iface] }).output();
      clientSocket = Deno.listenDatagram({
        hostname: formatIpv4(e.lease.address),
        port: 68,
        transport: "udp",
      });
      skew += e.lease.obtainedAt + e.lease.renewalTime * 1000 - now();
    }
    if (e.type === "renewed" && !renewed) {
      renewed = true;
      client.release(now());
    }
    if (e.type === "lost") done = true;
  }
}

const deadline = performance.now() + 30_000;
client.start(now());
while (performance.now() < deadline) {
  const out = client.poll(now());
  await act(out);
  if (done) {
    await act(client.poll(now())); // flush the RELEASE
    break;
  }
  if (out.send.length || out.probes.length || out.events.length) continue;
  listen("relay", relaySocket);
  if (clientSocket) listen("client", clientSocket);
  const wait = Math.max(
    0,
    Math.min((out.deadline ?? Infinity) - now(), deadline - performance.now()),
  );
  let timer: ReturnType<typeof setTimeout> | undefined;
  const got = await Promise.race([
    ...pending.values(),
    new Promise<"timer">((r) => timer = setTimeout(() => r("timer"), wait)),
  ]);
  clearTimeout(timer);
  if (got === "timer" || got === null) {
    if (got === null) pending.clear();
    continue;
  }
  pending.delete(got.socket);
  client.receive(got.bytes, now());
}
print({ final: client.state, address: lease ? formatIpv4(lease.address) : null });
relaySocket.close();
clientSocket?.close();
Deno.exit(0);
