/**
 * usernet's SNTP client core against chronyd on 127.0.0.1 (local stratum 8, `-x`: chronyd
 * never touches the system clock), driven by sntpQuery, the Deno.listenDatagram I/O layer.
 */
import assert from "node:assert/strict";
import { type SntpOutcome, sntpQuery } from "../../net/ntp/mod.ts";
import { freePort, interopTest, Peer, tempDir } from "./_harness.ts";

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
        outcome = await sntpQuery({
          server: "127.0.0.1",
          port: chrony.port,
          timeoutMs: 250,
          attempts: 2,
        });
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
    const outcome = await sntpQuery({ server: "127.0.0.1", port, timeoutMs: 100, attempts: 2 });
    assert.ok(!outcome.ok && outcome.error.name === "SntpTimeout");
  },
);
