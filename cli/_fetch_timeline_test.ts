/**
 * The fetch timeline from frames made here: what each protocol's line says, that answers are
 * timed from their questions, that other traffic is passed through silently, and the HTTP and
 * TLS lines built from createFetch's events.
 */
import assert from "node:assert/strict";
import { FetchTimeline } from "./_fetch_timeline.ts";
import { MemoryLink } from "../drivers/memory.ts";
import type { Nic } from "../drivers/nic.ts";
import { writeEthernetHeader } from "../net/wire/ethernet.ts";
import { ARP_REPLY, ARP_REQUEST, writeArp } from "../net/wire/arp.ts";
import { writeIpv4Header } from "../net/wire/ipv4.ts";
import { writeUdp } from "../net/wire/udp.ts";
import { TcpFlags, writeTcp } from "../net/wire/tcp.ts";
import { parseIpv4Address } from "../net/wire/address.ts";
import { serializeDhcpMessage } from "../net/dhcp/message.ts";
import { DhcpMessageType } from "../net/dhcp/options.ts";
import { createQuery, serializeMessage } from "../net/dns/message.ts";
import type { TlsHandshakeInfo } from "../tls/handshake_info.ts";

const US = new Uint8Array([2, 0, 0, 0, 0, 0x15]);
const GW = new Uint8Array([2, 0, 0, 0, 0, 2]);
const ip = (text: string) => parseIpv4Address(text)!;

function ipv4Frame(
  from: Uint8Array,
  to: Uint8Array,
  source: string,
  destination: string,
  protocol: number,
  write: (buf: Uint8Array, at: number) => number,
): Uint8Array {
  const buf = new Uint8Array(1514);
  writeEthernetHeader(buf, 0, to, from, 0x0800);
  const length = write(buf, 34);
  writeIpv4Header(buf, 14, {
    source: ip(source),
    destination: ip(destination),
    protocol,
    payloadLength: length,
    identification: 1,
    ttl: 64,
  });
  return buf.slice(0, 34 + length);
}

function udpFrame(
  outbound: boolean,
  source: string,
  destination: string,
  ports: [number, number],
  payload: Uint8Array,
): Uint8Array {
  return ipv4Frame(
    outbound ? US : GW,
    outbound ? GW : US,
    source,
    destination,
    17,
    (buf, at) => writeUdp(buf, at, ip(source), ip(destination), ports[0], ports[1], payload),
  );
}

function dhcp(type: number, fields: Record<string, unknown> = {}): Uint8Array {
  return serializeDhcpMessage({
    op: type === DhcpMessageType.DISCOVER || type === DhcpMessageType.REQUEST ? 1 : 2,
    htype: 1,
    hops: 0,
    xid: 7,
    secs: 0,
    broadcast: false,
    ciaddr: 0,
    yiaddr: type === DhcpMessageType.OFFER || type === DhcpMessageType.ACK ? ip("10.0.2.15") : 0,
    siaddr: 0,
    giaddr: 0,
    chaddr: US,
    sname: "",
    file: "",
    options: { messageType: type, ...fields },
  });
}

/** A timeline on a NIC pair: `send` goes out through the traced NIC, `deliver` comes in. */
function traced() {
  let now = 0;
  const lines: string[] = [];
  const timeline = new FetchTimeline({ write: (l) => lines.push(l), start: 0, now: () => now });
  const [inner, far] = MemoryLink.pair();
  const nic: Nic = timeline.wrapNic(inner);
  return {
    lines,
    timeline,
    at(ms: number) {
      now = ms;
    },
    send(frame: Uint8Array) {
      nic.transmit([{ data: frame }]);
    },
    async deliver(frame: Uint8Array) {
      far.transmit([{ data: frame }]);
      await nic.receive();
    },
    close() {
      nic.close();
      far.close();
    },
  };
}

Deno.test("timeline: DHCP exchange, ARP probe/announcement/resolution, each with its timing", async () => {
  const t = traced();
  t.send(udpFrame(true, "0.0.0.0", "255.255.255.255", [68, 67], dhcp(DhcpMessageType.DISCOVER)));
  t.at(1.5);
  await t.deliver(
    udpFrame(
      false,
      "10.0.2.2",
      "10.0.2.15",
      [67, 68],
      dhcp(DhcpMessageType.OFFER, { serverId: ip("10.0.2.2") }),
    ),
  );
  t.send(
    udpFrame(
      true,
      "0.0.0.0",
      "255.255.255.255",
      [68, 67],
      dhcp(DhcpMessageType.REQUEST, { requestedAddress: ip("10.0.2.15") }),
    ),
  );
  t.at(3);
  await t.deliver(udpFrame(
    false,
    "10.0.2.2",
    "10.0.2.15",
    [67, 68],
    dhcp(DhcpMessageType.ACK, {
      subnetMask: 0xffffff00,
      routers: [ip("10.0.2.2")],
      dnsServers: [ip("10.0.2.3")],
      leaseTime: 86400,
    }),
  ));
  const arp = (op: number, from: Uint8Array, sender: string, target: string) => {
    const buf = new Uint8Array(42);
    writeEthernetHeader(buf, 0, GW, from, 0x0806);
    writeArp(
      buf,
      14,
      op,
      from,
      sender === "0.0.0.0" ? 0 : ip(sender),
      new Uint8Array(6),
      ip(target),
    );
    return buf;
  };
  t.send(arp(ARP_REQUEST, US, "0.0.0.0", "10.0.2.15"));
  t.send(arp(ARP_REQUEST, US, "10.0.2.15", "10.0.2.15"));
  t.at(4);
  t.send(arp(ARP_REQUEST, US, "10.0.2.15", "10.0.2.2"));
  t.at(4.25);
  await t.deliver(arp(ARP_REPLY, GW, "10.0.2.2", "10.0.2.15"));
  // A second reply nobody asked for says nothing.
  await t.deliver(arp(ARP_REPLY, GW, "10.0.2.2", "10.0.2.15"));
  assert.deepEqual(t.lines, [
    "*     0.0 ms  DHCP DISCOVER from 02:00:00:00:00:15",
    "*     1.5 ms  DHCP OFFER 10.0.2.15 from 10.0.2.2",
    "*     1.5 ms  DHCP REQUEST 10.0.2.15",
    "*     3.0 ms  DHCP ACK: 10.0.2.15/24, router 10.0.2.2, DNS 10.0.2.3, lease 1 d (3.0 ms after DISCOVER)",
    "*     3.0 ms  ARP probe: is 10.0.2.15 in use? (RFC 5227)",
    "*     3.0 ms  ARP announcement: 10.0.2.15 is-at 02:00:00:00:00:15",
    "*     4.0 ms  ARP who-has 10.0.2.2? tell 10.0.2.15",
    "*     4.3 ms  ARP 10.0.2.2 is-at 02:00:00:00:00:02 (0.3 ms)",
  ]);
  assert.equal(t.timeline.summary.dhcpMs, 3);
  assert.equal(t.timeline.summary.arpMs, 0.25);
  t.close();
});

Deno.test("timeline: DNS question and answer; TCP SYN, retransmitted SYN, SYN-ACK with options, RST; data is silent", async () => {
  const t = traced();
  const query = createQuery(0x1234, "example.com.", 1);
  t.send(udpFrame(true, "10.0.2.15", "10.0.2.3", [50000, 53], serializeMessage(query)));
  t.at(2);
  await t.deliver(udpFrame(
    false,
    "10.0.2.3",
    "10.0.2.15",
    [53, 50000],
    serializeMessage({
      ...query,
      qr: true,
      answers: [{
        name: "example.com.",
        type: 1,
        class: 1,
        ttl: 60,
        data: { kind: "A", address: ip("93.184.215.14") },
      }],
    }),
  ));
  const tcp = (
    outbound: boolean,
    flags: number,
    ports: [number, number],
    options?: Parameters<typeof writeTcp>[4]["options"],
    payload = new Uint8Array(0),
  ) => {
    const [s, d] = outbound ? ["10.0.2.15", "93.184.215.14"] : ["93.184.215.14", "10.0.2.15"];
    return ipv4Frame(
      outbound ? US : GW,
      outbound ? GW : US,
      s,
      d,
      6,
      (buf, at) =>
        writeTcp(buf, at, ip(s), ip(d), {
          sourcePort: ports[0],
          destinationPort: ports[1],
          sequence: 1,
          acknowledgment: 0,
          flags,
          window: 65535,
          options,
        }, payload),
    );
  };
  t.at(3);
  t.send(tcp(true, TcpFlags.SYN, [49152, 443]));
  t.at(4);
  t.send(tcp(true, TcpFlags.SYN, [49152, 443]));
  t.at(5.5);
  await t.deliver(
    tcp(false, TcpFlags.SYN | TcpFlags.ACK, [443, 49152], {
      maxSegmentSize: 1460,
      windowScale: 7,
      sackPermitted: true,
    }),
  );
  await t.deliver(tcp(false, TcpFlags.ACK, [443, 49152], undefined, new Uint8Array(100)));
  t.send(tcp(true, TcpFlags.SYN, [49153, 81]));
  await t.deliver(tcp(false, TcpFlags.RST | TcpFlags.ACK, [81, 49153]));
  assert.deepEqual(t.lines, [
    "*     0.0 ms  DNS A example.com? → 10.0.2.3",
    "*     2.0 ms  DNS A example.com: 93.184.215.14 (2.0 ms)",
    "*     3.0 ms  TCP SYN 10.0.2.15:49152 → 93.184.215.14:443",
    "*     4.0 ms  TCP SYN 10.0.2.15:49152 → 93.184.215.14:443 (sent again: no answer yet)",
    "*     5.5 ms  TCP SYN-ACK from 93.184.215.14:443: connected in 2.5 ms (MSS 1460, window scale 7, SACK)",
    "*     5.5 ms  TCP SYN 10.0.2.15:49153 → 93.184.215.14:81",
    "*     5.5 ms  TCP RST from 93.184.215.14:81: connection refused",
  ]);
  assert.equal(t.timeline.summary.tcpMs, 2.5);
  t.close();
});

Deno.test("timeline: HTTP events become *, > and < lines; TLS facts and certificate lines", () => {
  const lines: string[] = [];
  const timeline = new FetchTimeline({ write: (l) => lines.push(l), start: 100 });
  const base = { requestId: 1 };
  timeline.onHttpEvent({
    ...base,
    type: "request-start",
    time: 100,
    method: "GET",
    url: "https://a.test/",
  });
  timeline.onHttpEvent({
    ...base,
    type: "connect-start",
    time: 101,
    connectionId: 1,
    host: "a.test",
    port: 443,
  });
  const handshake: TlsHandshakeInfo = {
    protocol: "TLSv1.3",
    cipherSuite: "TLS_AES_128_GCM_SHA256",
    group: "X25519MLKEM768",
    alpnProtocol: "http/1.1",
    resumed: false,
    helloRetryRequest: false,
    signatureScheme: "ecdsa_secp256r1_sha256",
    serverName: "a.test",
    peerCertificate: {
      subject: "CN=a.test",
      issuer: "CN=Test CA",
      notBefore: new Date(0),
      notAfter: new Date(Date.now() + 10 * 86_400_000),
      altNames: ["a.test"],
      publicKey: "ECDSA P-256",
      sha256Fingerprint: "00",
      pathLength: 2,
    },
    peerCertificates: [],
    verified: true,
    durationMs: 8,
    timeline: [{ event: "ClientHello sent", atMs: 1 }, { event: "client Finished sent", atMs: 9 }],
  };
  timeline.onHttpEvent({
    ...base,
    type: "tls-done",
    time: 112,
    connectionId: 1,
    serverName: "a.test",
    durationMs: 10,
    handshake,
  });
  timeline.onHttpEvent({
    ...base,
    type: "request-sent",
    time: 113,
    connectionId: 1,
    method: "GET",
    url: "https://a.test/",
    head: "GET / HTTP/1.1\r\nHost: a.test\r\n\r\n",
    bodyBytes: 0,
  });
  timeline.onHttpEvent({
    ...base,
    type: "response-headers",
    time: 115,
    connectionId: 1,
    version: "1.1",
    status: 200,
    statusText: "OK",
    headers: [["Content-Length", "2"]],
  });
  timeline.onHttpEvent({
    ...base,
    type: "body-done",
    time: 116,
    connectionId: 1,
    bodyBytes: 2,
    trailers: [],
    keptAlive: true,
  });
  assert.deepEqual(lines, [
    "*     0.0 ms  fetch GET https://a.test/",
    "*     1.0 ms  connecting to a.test:443",
    "*     3.0 ms  TLS ClientHello sent",
    "*    11.0 ms  TLS client Finished sent",
    "*    12.0 ms  TLS connection: TLSv1.3, TLS_AES_128_GCM_SHA256, X25519MLKEM768, ALPN http/1.1 (handshake 10.0 ms)",
    "*             certificate: CN=a.test (ECDSA P-256)",
    "*             issuer: CN=Test CA",
    `*             valid until ${
      handshake.peerCertificate!.notAfter.toISOString().slice(0, 10)
    } (10 days); names: a.test`,
    "*             verified: a chain of 2 certificates to a trusted CA, valid for a.test",
    ">    13.0 ms  GET / HTTP/1.1",
    ">             Host: a.test",
    "<    15.0 ms  HTTP/1.1 200 OK",
    "<             Content-Length: 2",
    "*    16.0 ms  body done: 2 bytes; connection #1 kept alive for reuse",
  ]);
  assert.equal(timeline.summary.waitMs, 2);
  assert.equal(timeline.summary.bodyMs, 1);
});
