import { dnsmasqCaptures, hex } from "./_dnsmasq_captures_test_data.ts";
import { parseMessage, serializeMessage } from "./message.ts";
import { Resolver } from "./resolver.ts";
import { seededRandom } from "./_test_util.ts";

const small = hex(dnsmasqCaptures.aliasA.response);
const big = hex(dnsmasqCaptures.manyTcp.response);
const bigMessage = parseMessage(big);

Deno.bench("dns: parse 66-byte CNAME+A answer", () => {
  parseMessage(small);
});
Deno.bench("dns: parse 987-byte 60-record answer", () => {
  parseMessage(big);
});
Deno.bench("dns: serialize 60-record answer with compression", () => {
  serializeMessage(bigMessage);
});

const resolver = new Resolver({ servers: ["10.0.2.3"], random: seededRandom(1), cache: false });
Deno.bench("dns: resolver query + matched answer round trip (no cache)", () => {
  resolver.resolve("alias.test", 1, 0);
  const d = resolver.poll(0).datagrams[0];
  const answer = small.slice();
  answer.set(d.payload.subarray(0, 2));
  resolver.receive(d.transport, d.server, d.port, answer, 0);
  resolver.poll(0);
});
