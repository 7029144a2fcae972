import { equal } from "node:assert/strict";
import { type SessionTicket, TicketCache } from "./ticket_cache.ts";

const ticket = (
  serverName: string,
  receivedAt: number,
  id: number,
  lifetimeMs = 10_000,
): SessionTicket => ({
  serverName,
  cipherSuite: "TLS_AES_128_GCM_SHA256",
  psk: new Uint8Array(32),
  ticket: new Uint8Array([id]),
  ageAdd: 0,
  receivedAt,
  lifetimeMs,
  alpnProtocol: undefined,
  peerCertificate: undefined,
  peerCertificates: [],
  verified: true,
});

Deno.test("ticket cache: newest ticket first, each used once", () => {
  const cache = new TicketCache();
  cache.put(ticket("a.test", 0, 1));
  cache.put(ticket("a.test", 1, 2));
  equal(cache.take("A.TEST", 5)?.ticket[0], 2);
  equal(cache.take("a.test", 5)?.ticket[0], 1);
  equal(cache.take("a.test", 5), undefined);
  equal(cache.size, 0);
});

Deno.test("ticket cache: expired tickets are dropped, not returned", () => {
  const cache = new TicketCache();
  cache.put(ticket("a.test", 0, 1, 100));
  equal(cache.take("a.test", 100), undefined);
  equal(cache.size, 0);
});

Deno.test("ticket cache: tickets of unacceptable suites are kept for later", () => {
  const cache = new TicketCache();
  cache.put(ticket("a.test", 0, 1));
  equal(cache.take("a.test", 1, () => false), undefined);
  equal(cache.size, 1);
});

Deno.test("ticket cache: bounded per server and in total", () => {
  const cache = new TicketCache({ maxTickets: 5, maxTicketsPerServer: 2 });
  for (let i = 0; i < 10; i++) cache.put(ticket("a.test", i, i));
  equal(cache.size, 2);
  for (let i = 0; i < 10; i++) cache.put(ticket(`s${i}.test`, i, i));
  equal(cache.size, 5);
  equal(cache.take("s9.test", 10)?.ticket[0], 9);
  equal(cache.take("a.test", 10), undefined); // evicted first
});
