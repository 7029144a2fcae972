/**
 * usernet's SNTP client core against chronyd on 127.0.0.1 (local stratum 8, `-x`: chronyd
 * never touches the system clock). The core is driven by a small Deno.listenDatagram shim.
 */
import assert from "node:assert/strict";
import { SntpClient, type SntpOutcome } from "../../net/ntp/mod.ts";
import { freePort, interopTest, Peer, tempDir } from "./_harness.ts";

const dotted = (a: number) => [a >>> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255].join(".");

/** Runs an SntpClient over a real UDP socket until it finishes. */
async function measure(client: SntpClient): Promise<SntpOutcome> {
  const socket = Deno.listenDatagram({ hostname: "127.0.0.1", port: 0, transport: "udp" });
  // One receive in flight at a time, kept across timer wake-ups.
  let pending: Promise<[Uint8Array, Deno.Addr] | null> | undefined;
  try {
    client.start(Date.now());
    for (;;) {
      const out = client.poll(Date.now());
      for (const d of out.datagrams) {
        await socket.send(d.payload, {
          hostname: dotted(d.server),
          port: d.port,
          transport: "udp",
        });
      }
      if (out.done) return out.done;
      pending ??= socket.receive().catch(() => null);
      const wait = Math.max(0, (out.deadline ?? Date.now()) - Date.now());
      let timer: ReturnType<typeof setTimeout> | undefined;
      const received = await Promise.race([
        pending,
        new Promise<"timer">((r) => timer = setTimeout(() => r("timer"), wait)),
      ]);
      clearTimeout(timer);
      if (received === "timer") continue;
      pending = undefined;
      if (received) {
        const [bytes, addr] = received;
        const { hostname, port } = addr as Deno.NetAddr;
        client.receive(hostname, port, bytes, Date.now());
      }
    }
  } finally {
    socket.close();
    await pending;
  }
}

async function startChrony(): Promise<{ peer: Peer; port: number; cleanup: () => Promise<void> }> {
  const dir = await tempDir("chrony");
  const port = freePort();
  const conf = `${dir.path}/chrony.conf`;
  await Deno.writeTextFile(
    conf,
    [
      `port ${port}`,
      "bindaddress 127.0.0.1",
      "allow 127.0.0.1",
      "local stratum 8",
      "cmdport 0",
      `pidfile ${dir.path}/chronyd.pid`,
      `driftfile ${dir.path}/drift`,
      "",
    ].join("\n"),
  );
  // -d: foreground, log to stderr; -x: never adjust the system clock; -u root: no user switch.
  const peer = new Peer("chronyd", "chronyd", ["-d", "-x", "-u", "root", "-f", conf]);
  return {
    peer,
    port,
    cleanup: async () => {
      await peer.stop();
      await dir.cleanup();
    },
  };
}

interopTest(
  "chronyd: SNTP offset and delay from a local-stratum-8 server",
  { programs: ["chronyd"], root: true },
  async () => {
    const chrony = await startChrony();
    try {
      // chronyd answers as soon as its socket is bound; retry until it does.
      let outcome: SntpOutcome | undefined;
      for (let i = 0; i < 20; i++) {
        outcome = await measure(
          new SntpClient({
            server: "127.0.0.1",
            port: chrony.port,
            timeoutMs: 250,
            attempts: 2,
            randomBytes: (n) => crypto.getRandomValues(new Uint8Array(n)),
          }),
        );
        if (outcome.ok) break;
      }
      assert.ok(
        outcome?.ok,
        `no usable reply: ${!outcome?.ok && outcome?.error}\n${chrony.peer.log}`,
      );
      const r = outcome.result;
      // Same machine, same clock: offset within a few ms, delay small and not negative.
      assert.ok(Math.abs(r.offsetMs) < 50, `offset ${r.offsetMs} ms`);
      assert.ok(r.delayMs >= -1 && r.delayMs < 200, `delay ${r.delayMs} ms`);
      assert.equal(r.stratum, 8);
      assert.equal(r.version, 4);
      assert.notEqual(r.leap, 3);
      assert.ok(r.transmittedAt >= r.receivedAt);
      console.log(
        `chronyd: offset ${r.offsetMs.toFixed(3)} ms, delay ${r.delayMs.toFixed(3)} ms, ` +
          `stratum ${r.stratum}, ref ${r.referenceId}`,
      );
    } finally {
      await chrony.cleanup();
    }
  },
);

interopTest(
  "closed 127.0.0.1 port (no peer): SntpTimeout after the retry schedule",
  {},
  async () => {
    const port = freePort();
    const outcome = await measure(
      new SntpClient({ server: "127.0.0.1", port, timeoutMs: 100, attempts: 2 }),
    );
    assert.ok(!outcome.ok && outcome.error.name === "SntpTimeout");
  },
);
