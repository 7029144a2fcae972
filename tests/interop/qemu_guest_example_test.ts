/**
 * examples/qemu_guest.ts as a user runs it, with the flags its header documents, against the
 * tiny Linux guest that _guest.ts builds: the guest's init asks for DHCP (busybox udhcpc, from
 * `usernet.dhcp=1` on the kernel command line) and then idles until the example stops the VM.
 */
import assert from "node:assert/strict";
import { interopTest, tempDir } from "./_harness.ts";
import { ensureGuest, GUEST_MAC, writeCpio } from "./_guest.ts";

const root = new URL("../../", import.meta.url).pathname;
const needs = { programs: ["qemu-system-x86_64", "busybox"], root: true };

/** Runs the example with the permissions its header gives; returns exit code and output. */
async function runExample(args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      ...["run", "--config", `${root}deno.json`],
      ...["--allow-net", "--allow-read", "--allow-write", "--allow-run=qemu-system-x86_64"],
      `${root}examples/qemu_guest.ts`,
      ...args,
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b).replaceAll("\r", "");
  return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
}

/**
 * The guest's initramfs plus a second archive holding the script its init runs once the
 * network is up: here it only waits, so the guest stays up until the example stops it.
 */
async function idleGuestInitrd(path: string): Promise<{ kernel: string; initrd: string }> {
  const image = await ensureGuest();
  const base = await Deno.readFile(image.initrd);
  const script = writeCpio([
    { path: "usernet", mode: 0o040755 },
    { path: "usernet/test.sh", mode: 0o100755, data: new TextEncoder().encode("sleep 600\n") },
  ]);
  const padded = Math.ceil(base.length / 4) * 4; // a following archive starts 4-byte aligned
  const initrd = new Uint8Array(padded + script.length);
  initrd.set(base);
  initrd.set(script, padded);
  await Deno.writeFile(path, initrd);
  return { kernel: image.kernel, initrd: path };
}

interopTest(
  "qemu_guest (Linux): examples/qemu_guest.ts leases 10.0.2.15 to a real guest and pings it",
  needs,
  async () => {
    const dir = await tempDir("guest-example");
    try {
      const { kernel, initrd } = await idleGuestInitrd(`${dir.path}/initrd`);
      const start = performance.now();
      const run = await runExample([
        ...["--kernel", kernel, "--initrd", initrd, "--timeout", "60"],
        ...["--append", "console=ttyS0 quiet panic=-1 usernet.dhcp=1 ipv6.disable=1"],
      ]);
      const ms = performance.now() - start;
      const report = `--- stdout ---\n${run.stdout}--- stderr ---\n${run.stderr}`;
      assert.equal(run.code, 0, report);
      const lines = run.stdout.trimEnd().split("\n");
      assert.match(lines[0], /^guest connected to usernet 10\.0\.2\.2 \(/, report);
      assert.equal(lines[1], `dhcp: 10.0.2.15 leased to ${GUEST_MAC}`, report);
      for (const seq of [1, 2, 3]) {
        assert.match(
          lines[1 + seq],
          new RegExp(`^ping 10\\.0\\.2\\.15: seq ${seq}, 64 bytes, `),
          report,
        );
      }
      assert.equal(lines.length, 5, report);
      // The guest's own view, from its serial console on the example's stderr.
      assert.match(run.stderr, /lease of 10\.0\.2\.15 obtained from 10\.0\.2\.2/, report);
      assert.match(run.stderr, /^USERNET-READY ip=10\.0\.2\.15\/24 /m, report);
      console.log(`example: ${ms.toFixed(0)} ms from start to exit (boot, DHCP, 3 pings)`);
    } finally {
      await dir.cleanup();
    }
  },
);

interopTest(
  "qemu_guest: examples/qemu_guest.ts says so and exits 1 when QEMU cannot start the VM",
  { programs: ["qemu-system-x86_64"] },
  async () => {
    const dir = await tempDir("guest-example-bad");
    try {
      const run = await runExample(["--kernel", `${dir.path}/no-such-kernel`, "--timeout", "30"]);
      assert.equal(run.code, 1, run.stderr);
      assert.match(run.stderr, /could not open kernel file/);
      assert.match(run.stderr, /^Error: QEMU exited \(1\) before (connection|DHCP lease)$/m);
    } finally {
      await dir.cleanup();
    }
  },
);
