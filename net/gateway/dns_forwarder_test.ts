import assert from "node:assert/strict";
import { answerFromHost, DnsForwarder, parseResolvConf } from "./dns_forwarder.ts";
import {
  createQuery,
  type DnsMessage,
  parseMessage,
  type ResourceRecord,
  serializeMessage,
} from "../dns/message.ts";
import { Rcode, RecordClass, RecordType } from "../dns/types.ts";

const opts = { sanitizeOps: false, sanitizeResources: false };

/**
 * A small authoritative server on 127.0.0.1 (UDP, and TCP on the same port) for the names
 * below, standing in for the host's name server. Over UDP, answers past 512 bytes are
 * truncated with TC.
 */
function upstreamServer() {
  let socket: Deno.DatagramConn;
  let tcp: Deno.TcpListener;
  for (;;) {
    socket = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
    try {
      tcp = Deno.listen({ hostname: "127.0.0.1", port: (socket.addr as Deno.NetAddr).port });
      break;
    } catch {
      socket.close(); // the TCP port is taken: try another
    }
  }
  const record = (name: string, type: number, data: ResourceRecord["data"]): ResourceRecord => ({
    name,
    type,
    class: RecordClass.IN,
    ttl: 300,
    data,
  });
  const zone: Record<string, ResourceRecord[]> = {
    [`a.gw.test./${RecordType.A}`]: [
      record("a.gw.test.", RecordType.A, { kind: "A", address: 0x0a090807 }),
    ],
    [`a.gw.test./${RecordType.MX}`]: [
      record("a.gw.test.", RecordType.MX, {
        kind: "MX",
        preference: 10,
        exchange: "mail.gw.test.",
      }),
    ],
    [`big.gw.test./${RecordType.TXT}`]: Array.from(
      { length: 12 },
      (_, i) =>
        record("big.gw.test.", RecordType.TXT, {
          kind: "TXT",
          strings: [new TextEncoder().encode(`record ${i} `.padEnd(60, "x"))],
        }),
    ),
  };
  let tcpQueries = 0;
  const respond = (bytes: Uint8Array, limit: number): Uint8Array => {
    const query = parseMessage(bytes);
    const q = query.questions[0];
    const answers = zone[`${q.name.toLowerCase()}/${q.type}`];
    const known = Object.keys(zone).some((k) => k.startsWith(`${q.name.toLowerCase()}/`));
    const response: DnsMessage = {
      ...query,
      qr: true,
      aa: true,
      ra: true,
      rcode: known ? Rcode.NOERROR : Rcode.NXDOMAIN,
      answers: answers ?? [],
      authorities: [],
      additionals: [],
    };
    const whole = q.name.toLowerCase() === "big.gw.test."
      ? bigTxt(query.id)
      : serializeMessage(response);
    return whole.length <= limit
      ? whole
      : serializeMessage({ ...response, tc: true, answers: [] }, limit);
  };
  (async () => {
    for await (const [bytes, from] of socket) await socket.send(respond(bytes, 512), from);
  })().catch(() => {});
  (async () => {
    for await (const conn of tcp) {
      tcpQueries++;
      const buffer = new Uint8Array(65537);
      let have = 0;
      while (have < 2 || have < 2 + ((buffer[0] << 8) | buffer[1])) {
        const n = await conn.read(buffer.subarray(have));
        if (n === null) break;
        have += n;
      }
      const answer = respond(buffer.subarray(2, 2 + ((buffer[0] << 8) | buffer[1])), 65535);
      await conn.write(new Uint8Array([answer.length >> 8, answer.length & 255, ...answer]));
      conn.close();
    }
  })().catch(() => {});
  return {
    upstream: { ipAddr: "127.0.0.1", port: (socket.addr as Deno.NetAddr).port },
    tcpQueries: () => tcpQueries,
    close: () => {
      socket.close();
      tcp.close();
    },
  };
}

/**
 * The answer for big.gw.test TXT, written by hand: net/dns's MessageWriter cannot grow its
 * buffer in `bytes()` (it writes into the old array), so it fails on messages over 512 bytes.
 */
function bigTxt(id: number): Uint8Array {
  const out: number[] = [id >> 8, id & 255, 0x85, 0x80, 0, 1, 0, 12, 0, 0, 0, 0];
  for (const label of ["big", "gw", "test"]) {
    out.push(label.length, ...new TextEncoder().encode(label));
  }
  out.push(0, 0, 16, 0, 1);
  for (let i = 0; i < 12; i++) {
    const text = new TextEncoder().encode(`record ${i} `.padEnd(60, "x"));
    out.push(0xc0, 12, 0, 16, 0, 1, 0, 0, 1, 44, 0, text.length + 1, text.length, ...text);
  }
  return new Uint8Array(out);
}

Deno.test({
  name: "dns_forwarder: queries are relayed as they are: records by type, TTLs, NXDOMAIN vs NODATA",
  ...opts,
  fn: async () => {
    const server = upstreamServer();
    const forwarder = new DnsForwarder({ upstream: server.upstream });
    try {
      const ask = async (name: string, type: number) =>
        parseMessage(
          (await forwarder.answer(serializeMessage(createQuery(7, name, type)), "udp"))!,
        );
      const a = await ask("a.gw.test.", RecordType.A);
      assert.equal(a.id, 7);
      assert.equal(a.qr, true);
      assert.equal(a.aa, true, "the server's own response");
      assert.deepEqual(a.answers.map((r) => [r.ttl, r.data]), [
        [300, { kind: "A", address: 0x0a090807 }],
      ]);
      const mx = await ask("a.gw.test.", RecordType.MX);
      assert.deepEqual(mx.answers.map((r) => r.data), [
        { kind: "MX", preference: 10, exchange: "mail.gw.test." },
      ]);
      assert.equal((await ask("missing.gw.test.", RecordType.A)).rcode, Rcode.NXDOMAIN);
      const nodata = await ask("a.gw.test.", RecordType.AAAA);
      assert.equal(nodata.rcode, Rcode.NOERROR);
      assert.equal(nodata.answers.length, 0);
    } finally {
      server.close();
    }
  },
});

Deno.test({
  name:
    "dns_forwarder: a UDP query gets the server's truncated answer (TC); the same over TCP is whole",
  ...opts,
  fn: async () => {
    const server = upstreamServer();
    const forwarder = new DnsForwarder({ upstream: server.upstream });
    try {
      const query = serializeMessage(createQuery(9, "big.gw.test.", RecordType.TXT));
      const udp = parseMessage((await forwarder.answer(query, "udp"))!);
      assert.equal(udp.tc, true);
      assert.equal(server.tcpQueries(), 0);
      const tcp = parseMessage((await forwarder.answer(query, "tcp"))!);
      assert.equal(tcp.tc, false);
      assert.equal(tcp.answers.length, 12);
      assert.equal(server.tcpQueries(), 1);
    } finally {
      server.close();
    }
  },
});

Deno.test({
  name: "dns_forwarder: no answer from the server is SERVFAIL; name servers come from resolv.conf",
  ...opts,
  fn: async () => {
    const silent = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
    try {
      const forwarder = new DnsForwarder({
        resolvConf: `# test\nnameserver ::1\nnameserver 127.0.0.1\nsearch x\n`,
        timeout: 200,
      });
      assert.deepEqual(forwarder.servers, [{ ipAddr: "127.0.0.1", port: 53 }]);
      const quiet = new DnsForwarder({
        upstream: { ipAddr: "127.0.0.1", port: (silent.addr as Deno.NetAddr).port },
        timeout: 200,
      });
      const answer = parseMessage(
        (await quiet.answer(serializeMessage(createQuery(5, "a.gw.test.", RecordType.A)), "udp"))!,
      );
      assert.equal(answer.id, 5);
      assert.equal(answer.rcode, Rcode.SERVFAIL);
      assert.deepEqual(parseResolvConf("nameserver 10.0.0.1\nnameserver fe80::1\n"), [
        { ipAddr: "10.0.0.1", port: 53 },
      ]);
    } finally {
      silent.close();
    }
  },
});

Deno.test({
  name: "dns_forwarder: without a server address, answers are rebuilt from Deno.resolveDns",
  ...opts,
  fn: async () => {
    const server = upstreamServer();
    try {
      // answerFromHost is the fallback; point Deno.resolveDns at the test server.
      const ask = async (name: string, type: number) =>
        parseMessage(
          (await answerFromHost(serializeMessage(createQuery(8, name, type)), server.upstream))!,
        );
      const a = await ask("a.gw.test.", RecordType.A);
      assert.deepEqual(a.answers.map((r) => r.data), [{ kind: "A", address: 0x0a090807 }]);
      const mx = await ask("a.gw.test.", RecordType.MX);
      assert.equal(mx.answers.length, 1);
      // Deno's errors do not tell NXDOMAIN from NODATA: both come back as NOERROR, no answers.
      const missing = await ask("missing.gw.test.", RecordType.A);
      assert.deepEqual([missing.rcode, missing.answers.length], [Rcode.NOERROR, 0]);
      // A big answer never throws: truncated for UDP, or SERVFAIL while net/dns cannot write it.
      const big = await ask("big.gw.test.", RecordType.TXT);
      assert.ok(big.tc || big.rcode === Rcode.SERVFAIL, JSON.stringify(big));
      assert.equal(
        await new DnsForwarder({ resolvConf: "" }).answer(new Uint8Array(3), "udp"),
        undefined,
      );
    } finally {
      server.close();
    }
  },
});

Deno.test("dns_forwarder: not DNS gets no answer; other opcodes and classes get NOTIMP", async () => {
  assert.equal(await answerFromHost(new Uint8Array([1, 2, 3])), undefined);
  const response = serializeMessage({ ...createQuery(1, "x.", RecordType.A), qr: true });
  assert.equal(await answerFromHost(response), undefined, "responses are not answered");
  const chaos = parseMessage(
    (await answerFromHost(serializeMessage(createQuery(2, "version.bind.", RecordType.TXT, 3))))!,
  );
  assert.equal(chaos.rcode, Rcode.NOTIMP);
  const notify = parseMessage(
    (await answerFromHost(serializeMessage({ ...createQuery(3, "x.", RecordType.A), opcode: 4 })))!,
  );
  assert.equal(notify.rcode, Rcode.NOTIMP);
  const any = parseMessage(
    (await answerFromHost(serializeMessage(createQuery(4, "x.", 255))))!,
  );
  assert.equal(any.rcode, Rcode.NOTIMP);
});
