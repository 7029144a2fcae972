import { hex } from "../dns/_dnsmasq_captures_test_data.ts";
import { dnsmasqDhcpCaptures } from "./_dnsmasq_captures_test_data.ts";
import { parseDhcpMessage, serializeDhcpMessage } from "./message.ts";
import { DhcpServer } from "./server.ts";

const ack = hex(dnsmasqDhcpCaptures.ack.payload);
const ackMessage = parseDhcpMessage(ack);
const discover = hex(dnsmasqDhcpCaptures.discover.payload);

Deno.bench("dhcp: parse dnsmasq ACK", () => {
  parseDhcpMessage(ack);
});
Deno.bench("dhcp: serialize ACK", () => {
  serializeDhcpMessage(ackMessage);
});
const server = new DhcpServer({
  serverAddress: "10.77.0.1",
  prefixLength: 16,
  poolStart: "10.77.1.0",
  poolEnd: "10.77.255.254",
});
Deno.bench("dhcp: server answers a DISCOVER (65000-address pool)", () => {
  server.handle(discover, 0);
});
