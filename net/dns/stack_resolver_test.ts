/**
 * The stack's resolver over a memory link, against a small DNS responder on the other stack
 * (UDP and TCP on port 53), with servers from the `dns` option or from a DHCP lease.
 */
import assert from "node:assert/strict";
import { MemoryLink } from "../../drivers/memory.ts";
import { Stack } from "../stack.ts";
import { StackDhcpServer } from "../dhcp/stack_server.ts";
import { DnsNameNotFound, DnsTimeout } from "./errors.ts";
import { formatShort } from "./format.ts";
import { type DnsMessage, parseMessage, type ResourceRecord, serializeMessage } from "./message.ts";
import { canonicalName } from "./name.ts";
import { Rcode, RecordClass, RecordType } from "./types.ts";
import { parseIpv4 } from "./_ipv4.ts";

const ZONE: Record<string, ResourceRecord[]> = {};
const add = (name: string, type: number, data: ResourceRecord["data"], ttl = 300) =>
  (ZONE[`${canonicalName(name)} ${type}`] ??= []).push({
    name: canonicalName(name),
    type,
    class: RecordClass.IN,
    ttl,
    data,
  });
add("web.test", RecordType.A, { kind: "A", address: parseIpv4("10.0.0.80") });
add("www.test", RecordType.CNAME, { kind: "CNAME", target: "web.test." });
for (let i = 1; i <= 80; i++) {
  add("many.test", RecordType.A, { kind: "A", address: parseIpv4(`10.0.1.${i}`) });
}

/** Answers from ZONE; over UDP, answers over 512 bytes are truncated (TC, no records). */
function answer(query: Uint8Array, udp: boolean): Uint8Array {
  const q = parseMessage(query);
  const { name, type } = q.questions[0];
  const key = canonicalName(name);
  const answers: ResourceRecord[] = [];
  let current = key;
  for (let i = 0; i < 8; i++) {
    const direct = ZONE[`${current} ${type}`];
    if (direct) {
      answers.push(...direct);
      break;
    }
    const alias = ZONE[`${current} ${RecordType.CNAME}`];
    if (!alias || alias[0].data.kind !== "CNAME") break;
    answers.push(alias[0]);
    current = canonicalName(alias[0].data.target);
  }
  const reply: DnsMessage = {
    ...q,
    qr: true,
    aa: true,
    ra: true,
    rcode: answers.length ? Rcode.NOERROR : Rcode.NXDOMAIN,
    answers,
    authorities: [],
    additionals: [],
  };
  const bytes = serializeMessage(reply);
  if (!udp || bytes.length <= 512) return bytes;
  return serializeMessage({ ...reply, tc: true, answers: [] });
}

function network(clientDns?: string[]) {
  const [a, b] = MemoryLink.pair();
  const server = new Stack({ nic: a, address: "10.0.0.53/24" });
  const udp = server.listenDatagram({ port: 53 });
  const queries: string[] = [];
  (async () => {
    for await (const [data, from] of udp) {
      queries.push(`udp ${parseMessage(data).questions[0].name}`);
      await udp.send(answer(data, true), from);
    }
  })();
  const tcp = server.listen({ port: 53 });
  (async () => {
    for (;;) {
      const conn = await tcp.accept().catch(() => null);
      if (!conn) return;
      const buffer = new Uint8Array(4096);
      let have = 0;
      while (have < 2 || have < 2 + ((buffer[0] << 8) | buffer[1])) {
        const n = await conn.read(buffer.subarray(have));
        if (n === null) break;
        have += n;
      }
      const query = buffer.subarray(2, 2 + ((buffer[0] << 8) | buffer[1]));
      queries.push(`tcp ${parseMessage(query).questions[0].name}`);
      const reply = answer(query, false);
      const framed = new Uint8Array(2 + reply.length);
      framed.set([reply.length >> 8, reply.length & 255]);
      framed.set(reply, 2);
      await conn.write(framed);
      await conn.closeWrite();
    }
  })();
  const client = clientDns
    ? new Stack({ nic: b, address: "10.0.0.2/24", dns: clientDns })
    : new Stack({ nic: b });
  return {
    server,
    client,
    queries,
    close: async () => {
      udp.close();
      tcp.close();
      await Promise.all([server.close(), client.close()]);
    },
  };
}

Deno.test("stack resolve: A and CNAME chain over the stack's UDP; the repeat is cached", async () => {
  const n = network(["10.0.0.53"]);
  try {
    const web = await n.client.resolve("www.test");
    assert.deepEqual(formatShort(web), ["web.test.", "10.0.0.80"]);
    assert.equal(web.source, "network");
    const again = await n.client.resolve("WWW.test.");
    assert.equal(again.source, "cache");
    assert.deepEqual(n.queries, ["udp www.test."]);
    const cname = await n.client.resolve("www.test", { type: "CNAME" });
    assert.deepEqual(formatShort(cname), ["web.test."]);
  } finally {
    await n.close();
  }
});

Deno.test("stack resolve: a truncated answer is asked again over the stack's TCP", async () => {
  const n = network(["10.0.0.53"]);
  try {
    const many = await n.client.resolve("many.test", { type: RecordType.A });
    assert.equal(many.records.length, 80);
    assert.deepEqual(n.queries, ["udp many.test.", "tcp many.test."]);
  } finally {
    await n.close();
  }
});

Deno.test("stack resolve: NXDOMAIN rejects with DnsNameNotFound; hosts answer first", async () => {
  const [a, b] = MemoryLink.pair();
  const lonely = new Stack({
    nic: b,
    address: "10.0.0.2/24",
    dns: { servers: ["10.0.0.99"], hosts: { "gw.test": "10.0.0.1" }, timeoutMs: 50, rounds: 1 },
  });
  a.close();
  try {
    const gw = await lonely.resolve("gw.test");
    assert.equal(gw.source, "hosts");
    assert.deepEqual(formatShort(gw), ["10.0.0.1"]);
    assert.deepEqual(formatShort(await lonely.resolve("localhost", { type: "AAAA" })), ["::1"]);
    // Nobody at 10.0.0.99 (no ARP answer): a timeout.
    await assert.rejects(lonely.resolve("web.test"), DnsTimeout);
  } finally {
    await lonely.close();
  }
  const n = network(["10.0.0.53"]);
  try {
    await assert.rejects(n.client.resolve("nx.test"), DnsNameNotFound);
  } finally {
    await n.close();
  }
});

Deno.test("stack resolve: servers come from the DHCP lease; connect() takes a name", async () => {
  const n = network();
  const dhcpd = new StackDhcpServer(n.server, {
    poolStart: "10.0.0.100",
    poolEnd: "10.0.0.110",
    dnsServers: ["10.0.0.53"],
  });
  const echo = n.server.listen({ port: 7 });
  try {
    await assert.rejects(n.client.resolve("web.test"), DnsTimeout, "no servers before a lease");
    await n.client.dhcp({ probe: false });
    assert.deepEqual(n.client.resolver.servers, ["10.0.0.53:53"]);
    // A name for the server stack itself, where the echo listener is.
    add("echo.test", RecordType.A, { kind: "A", address: parseIpv4("10.0.0.53") });
    const accepted = echo.accept();
    const conn = await n.client.connect({ hostname: "echo.test", port: 7 });
    const peer = await accepted;
    await conn.write(new TextEncoder().encode("hi"));
    const buffer = new Uint8Array(2);
    assert.equal(await peer.read(buffer), 2);
    assert.equal(new TextDecoder().decode(buffer), "hi");
    conn.close();
    peer.close();
    assert.ok(n.queries.includes("udp echo.test."));
  } finally {
    echo.close();
    dhcpd.close();
    await n.close();
  }
});
