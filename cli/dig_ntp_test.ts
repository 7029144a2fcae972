/**
 * cli/dig.ts and cli/ntp.ts without NIC flags (the host's sockets), against small responders
 * on 127.0.0.1 made by the test; and their usage errors. Through usernet they are tested in
 * tests/interop/dns_tap_dnsmasq_test.ts and ntp_tap_chrony_test.ts.
 */
import assert from "node:assert/strict";
import { dig } from "./dig.ts";
import { formatNtpResult, ntp } from "./ntp.ts";
import { UsageError } from "./_nic_flags.ts";
import { parseMessage, serializeMessage } from "../net/dns/message.ts";
import { Rcode, RecordClass, RecordType } from "../net/dns/types.ts";
import { unixMsToNtp, writeTimestamp } from "../net/ntp/timestamp.ts";

/** A DNS responder: `a.test` A 192.0.2.1, everything else NXDOMAIN. */
function dnsResponder(): { port: number; close: () => void } {
  const socket = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  (async () => {
    try {
      for await (const [data, from] of socket) {
        const q = parseMessage(data);
        const known = q.questions[0].name.toLowerCase().replace(/\.$/, "") === "a.test" &&
          q.questions[0].type === RecordType.A;
        const reply = serializeMessage({
          ...q,
          qr: true,
          rcode: known ? Rcode.NOERROR : Rcode.NXDOMAIN,
          answers: known
            ? [{
              name: "a.test.",
              type: RecordType.A,
              class: RecordClass.IN,
              ttl: 60,
              data: { kind: "A", address: 0xc0000201 },
            }]
            : [],
        });
        await socket.send(reply, from);
      }
    } catch { /* closed */ }
  })();
  return { port: (socket.addr as Deno.NetAddr).port, close: () => socket.close() };
}

/** An SNTP responder at stratum 3 whose clock is 1 s ahead. */
function ntpResponder(): { port: number; close: () => void } {
  const socket = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  (async () => {
    try {
      for await (const [data, from] of socket) {
        const reply = new Uint8Array(48);
        reply[0] = 0x24; // version 4, server
        reply[1] = 3;
        reply.set(data.subarray(40, 48), 24); // originate = the client's transmit
        writeTimestamp(reply, 32, unixMsToNtp(Date.now() + 1000));
        writeTimestamp(reply, 40, unixMsToNtp(Date.now() + 1000));
        await socket.send(reply, from);
      }
    } catch { /* closed */ }
  })();
  return { port: (socket.addr as Deno.NetAddr).port, close: () => socket.close() };
}

Deno.test("cli dig: host sockets, +short lines; NXDOMAIN is status 1 with the typed error", async () => {
  const server = dnsResponder();
  try {
    assert.deepEqual(await dig(["a.test", "--server", `127.0.0.1:${server.port}`]), {
      lines: ["192.0.2.1"],
      status: 0,
    });
    assert.deepEqual(await dig([`@127.0.0.1:${server.port}`, "A.TEST", "A", "+short"]), {
      lines: ["192.0.2.1"],
      status: 0,
    });
    const nx = await dig(["b.test", "-t", "AAAA", "--server", `127.0.0.1:${server.port}`]);
    assert.equal(nx.status, 1);
    assert.match(nx.lines[0], /^;; DnsNameNotFound: b\.test\. AAAA/);
  } finally {
    server.close();
  }
});

Deno.test("cli dig: usage errors", async () => {
  await assert.rejects(dig([]), UsageError);
  await assert.rejects(dig(["a.test", "--type", "NOPE"]), /unknown record type/);
  await assert.rejects(dig(["a.test", "--server", "not-an-ip"]), /not an IPv4 address/);
  await assert.rejects(dig(["a.test", "--server", "127.0.0.1:0"]), UsageError);
  await assert.rejects(dig(["a.test", "--timeout=-1"]), UsageError);
  await assert.rejects(dig(["a.test", "--timeout"]), UsageError); // parseArgs' own complaint
});

Deno.test("cli ntp: host sockets, offset and delay in one line", async () => {
  const server = ntpResponder();
  try {
    const line = await ntp(["127.0.0.1", "--port", String(server.port), "--timeout", "500"]);
    const m = /^127\.0\.0\.1: offset \+(\d+\.\d{3}) ms, delay (\d+\.\d{3}) ms, stratum 3, /.exec(
      line,
    );
    assert.ok(m, line);
    assert.ok(Math.abs(Number(m[1]) - 1000) < 100, line);
  } finally {
    server.close();
  }
});

Deno.test("cli ntp: usage errors and the formatted line", async () => {
  await assert.rejects(ntp([]), UsageError);
  await assert.rejects(ntp(["--host", "pool.example"]), /must be an IPv4 address/);
  await assert.rejects(ntp(["127.0.0.1", "--port", "70000"]), UsageError);
  await assert.rejects(
    ntp(["127.0.0.1", "--address", "10.0.0.2/24", "--dhcp", "--tap", "x"]),
    UsageError,
  );
  assert.equal(
    formatNtpResult("10.0.2.2", {
      offsetMs: -1.5,
      delayMs: 0.25,
      stratum: 2,
      leap: 0,
      version: 4,
      precision: -20,
      rootDelayMs: 0,
      rootDispersionMs: 0,
      referenceId: "GPS",
      receivedAt: 0,
      transmittedAt: 0,
    }),
    "10.0.2.2: offset -1.500 ms, delay 0.250 ms, stratum 2, reference GPS",
  );
});
