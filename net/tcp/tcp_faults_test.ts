/**
 * Two usernet stacks over a memory link with heavy damage: loss, reordering, duplication.
 */
import assert from "node:assert/strict";
import { sha256 } from "@noble/hashes/sha2.js";
import { MemoryLink } from "../../drivers/memory.ts";
import { FaultInjector } from "../../drivers/fault_injector.ts";
import { Stack } from "../stack.ts";
import type { TcpConn } from "./conn.ts";

function hex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

function pseudoRandom(size: number, seed: number): Uint8Array {
  const out = new Uint8Array(size);
  let x = seed >>> 0;
  for (let i = 0; i < size; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

async function drain(conn: TcpConn): Promise<Uint8Array[]> {
  const chunks: Uint8Array[] = [];
  const buffer = new Uint8Array(64 * 1024);
  for (;;) {
    const n = await conn.read(buffer);
    if (n === null) return chunks;
    chunks.push(buffer.slice(0, n));
  }
}

function digest(chunks: Uint8Array[]): string {
  const h = sha256.create();
  for (const c of chunks) h.update(c);
  return hex(h.digest());
}

Deno.test({
  name: "memory link, 10% loss + reordering + duplication: 10 MB each way, SHA-256 equal",
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const seed = Number(Deno.env.get("USERNET_FAULT_SEED") ?? Date.now() % 1_000_000);
    console.log(`fault injection seed: ${seed} (replay with USERNET_FAULT_SEED=${seed})`);
    const [a, b] = MemoryLink.pair();
    const faults = { drop: 0.1, reorder: 0.05, duplicate: 0.02 };
    const lossy = new FaultInjector(a, { seed, transmit: faults, receive: faults });
    const left = new Stack({ nic: lossy, address: "10.0.0.1/24" });
    const right = new Stack({ nic: b, address: "10.0.0.2/24" });
    const size = 10 * 1024 * 1024;
    const up = pseudoRandom(size, seed);
    const down = pseudoRandom(size, seed + 1);
    const listener = right.listen({ port: 9000 });
    const server = (async () => {
      const conn = await listener.accept();
      const [received] = await Promise.all([
        drain(conn),
        (async () => {
          await conn.write(down);
          await conn.closeWrite();
        })(),
      ]);
      conn.close();
      return received;
    })();
    const conn = await left.connect({ hostname: "10.0.0.2", port: 9000 });
    const [received] = await Promise.all([
      drain(conn),
      (async () => {
        await conn.write(up);
        await conn.closeWrite();
      })(),
    ]);
    conn.close();
    const serverReceived = await server;
    assert.equal(digest(serverReceived), hex(sha256(up)), "left → right");
    assert.equal(digest(received), hex(sha256(down)), "right → left");
    const faultStats = lossy.faultStats();
    assert.ok(faultStats.transmit.dropped > 100 && faultStats.receive.dropped > 100);
    assert.ok(left.stats().tcp.retransmits > 0 && right.stats().tcp.retransmits > 0);
    listener.close();
    await left.close();
    await right.close();
  },
});
