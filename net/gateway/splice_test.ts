import assert from "node:assert/strict";
import { type AbortableConn, splice } from "./splice.ts";

/** One end of a scripted connection: reads come from `incoming`, writes go to `written`. */
class ScriptedConn implements AbortableConn {
  readonly written: Uint8Array[] = [];
  incoming: (Uint8Array | null | Error)[] = [];
  #wake: (() => void) | undefined;
  readCalls = 0;
  writeClosed = false;
  closed = false;
  aborted = false;
  /** While set, writes wait for it (backpressure). */
  writeGate: Promise<void> | undefined;

  feed(item: Uint8Array | null | Error): void {
    this.incoming.push(item);
    this.#wake?.();
  }

  async read(p: Uint8Array): Promise<number | null> {
    this.readCalls++;
    while (!this.incoming.length) {
      if (this.aborted || this.closed) throw new Error("closed");
      await new Promise<void>((r) => this.#wake = r);
    }
    const item = this.incoming.shift()!;
    if (item === null) return null;
    if (item instanceof Error) throw item;
    p.set(item);
    return item.length;
  }

  async write(p: Uint8Array): Promise<number> {
    if (this.writeGate) await this.writeGate;
    if (this.aborted || this.writeClosed) throw new Error("cannot write");
    this.written.push(p.slice());
    return p.length;
  }

  closeWrite(): Promise<void> {
    this.writeClosed = true;
    return Promise.resolve();
  }

  close(): void {
    this.closed = true;
    this.#wake?.();
  }

  abort(): void {
    this.aborted = true;
    this.#wake?.();
  }
}

const text = (chunks: Uint8Array[]) => chunks.map((c) => new TextDecoder().decode(c)).join("");
const bytes = (s: string) => new TextEncoder().encode(s);
const turns = async (n = 5) => {
  for (let i = 0; i < n; i++) await new Promise((r) => setTimeout(r, 0));
};

Deno.test("splice: data both ways, and each side's FIN becomes a FIN on the other", async () => {
  const a = new ScriptedConn();
  const b = new ScriptedConn();
  const done = splice(a, b);
  a.feed(bytes("hello "));
  a.feed(bytes("world"));
  a.feed(null); // a half-closes
  await turns();
  assert.equal(text(b.written), "hello world");
  assert.equal(b.writeClosed, true);
  assert.equal(a.writeClosed, false, "the other direction is still open");
  b.feed(bytes("answer after the FIN"));
  b.feed(null);
  const result = await done;
  assert.equal(text(a.written), "answer after the FIN");
  assert.equal(a.writeClosed, true);
  assert.deepEqual(result, { aToB: 11, bToA: 20, failed: false });
  assert.ok(a.closed && b.closed && !a.aborted && !b.aborted);
});

Deno.test("splice: a failure on one side resets both", async () => {
  const a = new ScriptedConn();
  const b = new ScriptedConn();
  const done = splice(a, b);
  a.feed(bytes("partial"));
  await turns();
  b.feed(new Error("connection reset"));
  const result = await done;
  assert.equal(result.failed, true);
  assert.equal(a.aborted, true);
  assert.equal(b.aborted, true);
  assert.equal(result.aToB, 7);
});

Deno.test("splice: a slow writer holds the reader back (one buffer in flight per direction)", async () => {
  const a = new ScriptedConn();
  const b = new ScriptedConn();
  let open!: () => void;
  b.writeGate = new Promise((r) => open = r);
  const done = splice(a, b);
  for (let i = 0; i < 10; i++) a.feed(bytes(`chunk${i};`));
  await turns();
  assert.equal(a.readCalls, 1, "no read while the write before it waits");
  assert.equal(a.incoming.length, 9);
  open();
  b.writeGate = undefined;
  a.feed(null);
  b.feed(null);
  await done;
  assert.equal(text(b.written), Array.from({ length: 10 }, (_, i) => `chunk${i};`).join(""));
});
