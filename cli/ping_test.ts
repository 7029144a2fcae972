/**
 * cli/ping.ts as a user runs it: a subprocess with the permissions of deno.json's `ping` task and
 * no NIC flag, so its stack sits behind the embedded gateway (DHCP from it, 10.0.2.2 answers
 * echo). Its output must read like ping(8)'s and its exit status must say whether replies came.
 * Traffic stays inside the subprocess: 10.0.2.0/24 is the embedded gateway's virtual LAN.
 */
import assert from "node:assert/strict";
import { taskRunArgs } from "../tests/interop/_harness.ts";

const root = new URL("../", import.meta.url).pathname;

async function ping(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [...await taskRunArgs("ping"), ...args],
    cwd: root,
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

const reply = /^64 bytes from 10\.0\.2\.2: icmp_seq=(\d+) ttl=64 time=(\d+(?:\.\d+)?) ms$/;
const stats = /^(\d+) packets transmitted, (\d+) received, (\d+)% packet loss, time (\d+)ms$/;
const rttLine =
  /^rtt min\/avg\/max\/mdev = (\d+\.\d{3})\/(\d+\.\d{3})\/(\d+\.\d{3})\/(\d+\.\d{3}) ms$/;

Deno.test("cli ping: embedded gateway, --count 2 to 10.0.2.2 — ping(8) lines, 0% loss, exit 0", async () => {
  const run = await ping(["10.0.2.2", "--count", "2"]);
  const context = `exit ${run.code}\nstdout:\n${run.stdout}\nstderr:\n${run.stderr}`;
  assert.equal(run.code, 0, context);
  assert.match(
    run.stderr,
    /^usernet: 10\.0\.2\.\d+\/24 behind the embedded gateway 10\.0\.2\.2 .*by DHCP$/m,
  );
  const lines = run.stdout.trimEnd().split("\n");
  assert.equal(lines.length, 7, context);
  assert.equal(lines[0], "PING 10.0.2.2 (10.0.2.2) 56(84) bytes of data.");
  const replies = lines.slice(1, 3).map((l) => reply.exec(l));
  assert.ok(replies.every((m) => m !== null), context);
  assert.deepEqual(replies.map((m) => Number(m![1])), [1, 2], "icmp_seq 1 then 2");
  const times = replies.map((m) => Number(m![2]));
  assert.equal(lines[3], "");
  assert.equal(lines[4], "--- 10.0.2.2 ping statistics ---");
  const s = stats.exec(lines[5]);
  assert.ok(s, context);
  assert.deepEqual([s[1], s[2], s[3]], ["2", "2", "0"]);
  // One second between the two requests (the default interval), so the run took about that.
  assert.ok(Number(s[4]) >= 990 && Number(s[4]) < 10_000, `time ${s[4]}ms`);
  const r = rttLine.exec(lines[6]);
  assert.ok(r, context);
  const [min, avg, max, mdev] = r.slice(1).map(Number);
  assert.ok(min <= avg && avg <= max && mdev >= 0, lines[6]);
  // The summary is made of the replies' own times (which are printed with fewer digits).
  const digits = (t: number) => t < 1 ? 0.0006 : t < 10 ? 0.006 : t < 100 ? 0.06 : 0.6;
  const near = (summary: number, printed: number) => Math.abs(summary - printed) < digits(printed);
  assert.ok(near(min, Math.min(...times)) && near(max, Math.max(...times)), context);
});

Deno.test("cli ping: embedded gateway, an address nobody has — no replies, 100% loss, exit 1", async () => {
  // 10.0.2.99 is on the virtual LAN but nobody holds it: ARP goes unanswered.
  const run = await ping(["10.0.2.99", "--count", "2"]);
  const context = `exit ${run.code}\nstdout:\n${run.stdout}\nstderr:\n${run.stderr}`;
  assert.equal(run.code, 1, context);
  const lines = run.stdout.trimEnd().split("\n");
  assert.equal(lines[0], "PING 10.0.2.99 (10.0.2.99) 56(84) bytes of data.", context);
  assert.deepEqual(lines.slice(1, 3), ["no reply for icmp_seq=1", "no reply for icmp_seq=2"]);
  assert.equal(lines[4], "--- 10.0.2.99 ping statistics ---");
  const s = stats.exec(lines[5]);
  assert.ok(s, context);
  assert.deepEqual([s[1], s[2], s[3]], ["2", "0", "100"]);
  assert.equal(lines.length, 6, "no rtt line without replies");
  assert.ok(!run.stdout.includes("bytes from"), context);
});

Deno.test("cli ping: no host is a usage error, exit 2", async () => {
  const run = await ping(["--count", "1"]);
  assert.equal(run.code, 2);
  assert.equal(run.stdout, "");
  assert.match(run.stderr, /^usage: give one HOST to ping/);
});
