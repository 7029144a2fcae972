/**
 * SNTP through usernet against chronyd (local stratum 8, `-x`: it never touches the system
 * clock), over a TAP device in a namespace made for the test: chronyd on Linux's side
 * 10.81.0.1, usernet at 10.81.0.2.
 */
import assert from "node:assert/strict";
import { interopTest, type Peer, tempDir } from "./_harness.ts";
import { createTapNamespace, type TestNamespace } from "./_netns.ts";
import { TapNic } from "../../drivers/tap.ts";
import { Stack } from "../../net/stack.ts";
import { SntpTimeout } from "../../net/ntp/errors.ts";

const needs = { root: true, programs: ["ip", "chronyd"], files: ["/dev/net/tun"] };

async function withChrony(
  tag: string,
  fn: (s: { ns: TestNamespace & { tap: string }; chrony: Peer }) => Promise<void>,
): Promise<void> {
  const ns = await createTapNamespace(tag, "10.81.0.1/24");
  const dir = await tempDir("chrony-tap");
  const conf = `${dir.path}/chrony.conf`;
  await Deno.writeTextFile(
    conf,
    [
      "bindaddress 10.81.0.1",
      "allow 10.81.0.0/24",
      "local stratum 8",
      "cmdport 0",
      `pidfile ${dir.path}/chronyd.pid`,
      `driftfile ${dir.path}/drift`,
      "",
    ].join("\n"),
  );
  // -d: foreground, log to stderr; -x: never adjust the clock; -u root: no user switch.
  const chrony = ns.spawn("chronyd", "chronyd", ["-d", "-x", "-u", "root", "-f", conf]);
  try {
    await fn({ ns, chrony });
  } catch (e) {
    console.error(`chronyd log:\n${chrony.log}`);
    throw e;
  } finally {
    await chrony.stop();
    await ns.cleanup();
    await dir.cleanup();
  }
}

interopTest(
  "chronyd over TAP: stack.ntpQuery() measures offset and delay through usernet",
  needs,
  async () => {
    await withChrony("ntp-stack", async ({ ns }) => {
      const nic = TapNic.open({ name: ns.tap, netns: ns.name });
      const stack = new Stack({ nic, address: "10.81.0.2/24" });
      try {
        // chronyd answers once its socket is bound: a short first timeout, retried.
        const r = await stack.ntpQuery("10.81.0.1", { timeoutMs: 300, attempts: 6 });
        // Same machine, same clock: offset within a few ms, delay small and not negative.
        assert.ok(Math.abs(r.offsetMs) < 50, `offset ${r.offsetMs} ms`);
        assert.ok(r.delayMs >= -1 && r.delayMs < 200, `delay ${r.delayMs} ms`);
        assert.equal(r.stratum, 8);
        assert.equal(r.version, 4);
        console.log(
          `chronyd via usernet: offset ${r.offsetMs.toFixed(3)} ms, delay ${
            r.delayMs.toFixed(3)
          } ms`,
        );
        // Nobody at 10.81.0.9: ARP fails, then the query times out.
        await assert.rejects(
          stack.ntpQuery("10.81.0.9", { timeoutMs: 100, attempts: 2 }),
          SntpTimeout,
        );
      } finally {
        await stack.close();
      }
    });
  },
);

interopTest(
  "chronyd over TAP: cli/ntp.ts --tap --netns --address prints offset and delay",
  needs,
  async () => {
    await withChrony("ntp-cli", async ({ ns }) => {
      let out: Deno.CommandOutput | undefined;
      for (let i = 0; i < 5; i++) {
        out = await new Deno.Command(Deno.execPath(), {
          args: [
            "run",
            "--allow-net",
            "--allow-read",
            "--allow-write",
            "--allow-ffi",
            new URL("../../cli/ntp.ts", import.meta.url).pathname,
            "10.81.0.1",
            "--timeout",
            "500",
            "--tap",
            ns.tap,
            "--netns",
            ns.name,
            "--address",
            "10.81.0.2/24",
          ],
          stdout: "piped",
          stderr: "piped",
        }).output();
        if (out.success) break; // else chronyd was not bound yet
      }
      const stdout = new TextDecoder().decode(out!.stdout);
      assert.equal(out!.code, 0, new TextDecoder().decode(out!.stderr));
      assert.match(
        stdout,
        /^10\.81\.0\.1: offset [+-]\d+\.\d{3} ms, delay \d+\.\d{3} ms, stratum 8, reference \S+\n$/,
      );
    });
  },
);
