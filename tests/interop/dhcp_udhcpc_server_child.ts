/**
 * Child process of dhcp_udhcpc_test.ts, run in the server's network namespace:
 * usernet's DhcpServer core on a real UDP socket (port 67).
 *
 * Replies the core marks unicast must reach the client's MAC without ARP (the client has no
 * address yet); this process does that the host way, with a permanent neighbour entry, where
 * the usernet stack will write the Ethernet frame itself. Deno sockets cannot broadcast, so the
 * client is run without the BROADCAST flag.
 *
 * Prints one JSON object per line. Usage: dhcp_udhcpc_server_child.ts IFACE SERVER_ADDRESS
 */
import { formatIpv4 } from "../../net/dns/_ipv4.ts";
import { DhcpServer, messageTypeName, parseDhcpMessage } from "../../net/dhcp/mod.ts";

const [iface, serverAddress] = Deno.args;
const server = new DhcpServer({
  serverAddress,
  prefixLength: 24,
  poolStart: "10.79.0.100",
  poolEnd: "10.79.0.109",
  routers: [serverAddress],
  dnsServers: ["10.79.0.53"],
  domainName: "usernet.test",
  mtu: 1400,
  leaseTime: 600,
});
const socket = Deno.listenDatagram({ hostname: "0.0.0.0", port: 67, transport: "udp" });
const print = (o: Record<string, unknown>) => console.log(JSON.stringify(o));
const mac = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, "0")).join(":");
print({ listening: true });
for (;;) {
  const [bytes] = await socket.receive();
  const now = performance.now();
  let type = "malformed";
  try {
    type = messageTypeName(parseDhcpMessage(bytes).options.messageType);
  } catch { /* the core ignores it too */ }
  const reply = server.handle(bytes, now);
  if (!reply) {
    const leases = server.leases(now).map((l) => `${formatIpv4(l.address)} ${l.state}`);
    print({ got: type, reply: null, leases });
    continue;
  }
  const destination = formatIpv4(reply.destination);
  if (reply.broadcast) {
    print({ got: type, reply: messageTypeName(reply.messageType), error: "cannot broadcast" });
    continue;
  }
  await new Deno.Command("ip", {
    args: [
      "neigh",
      "replace",
      destination,
      "lladdr",
      mac(reply.mac),
      "dev",
      iface,
      "nud",
      "permanent",
    ],
  }).output();
  await socket.send(reply.payload, { hostname: destination, port: reply.port, transport: "udp" });
  print({
    got: type,
    reply: messageTypeName(reply.messageType),
    to: destination,
    mac: mac(reply.mac),
  });
}
