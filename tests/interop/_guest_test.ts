/**
 * Tests of the guest builder's parts that need no QEMU: the newc cpio writer (checked by
 * busybox's cpio, the same unpacker family as the kernel's), the busybox-static check and the
 * error classes.
 */
import assert from "node:assert/strict";
import { interopTest, run, tempDir } from "./_harness.ts";
import {
  ensureGuest,
  GuestBuildError,
  GuestExited,
  GuestNetdevError,
  GuestTimeout,
  writeCpio,
} from "./_guest.ts";

const encoder = new TextEncoder();

Deno.test("writeCpio: newc headers, 4-byte alignment and the trailer", () => {
  const archive = writeCpio([
    { path: "a", mode: 0o040755 },
    { path: "a/b", mode: 0o100644, data: encoder.encode("hello") },
  ]);
  const text = new TextDecoder().decode(archive);
  assert.equal(archive.length % 4, 0);
  assert.equal(text.slice(0, 6), "070701");
  // Second header: after header (110) + "a\0" (2) padded to 112.
  assert.equal(text.slice(112, 118), "070701");
  // File size field (7th field) of "a/b" is 5, and its name follows.
  assert.equal(text.slice(112 + 6 + 6 * 8, 112 + 6 + 7 * 8), "00000005");
  assert.ok(text.includes("a/b\0"));
  assert.ok(text.includes("hello"));
  assert.ok(text.includes("TRAILER!!!\0"));
  // Equal inputs give equal bytes (times are zero, owners root).
  assert.deepEqual(
    writeCpio([{ path: "x", mode: 0o100600, data: encoder.encode("1") }]),
    writeCpio([{ path: "x", mode: 0o100600, data: encoder.encode("1") }]),
  );
});

interopTest(
  "busybox_cpio: unpacks what writeCpio wrote (dirs, files, symlinks, devices)",
  { programs: ["busybox"], root: true },
  async () => {
    const dir = await tempDir("cpio");
    try {
      const blob = crypto.getRandomValues(new Uint8Array(4099)); // not a multiple of 4
      const archive = writeCpio([
        { path: "d", mode: 0o040755 },
        { path: "d/blob", mode: 0o100640, data: blob },
        { path: "d/empty", mode: 0o100644 },
        { path: "d/link", mode: 0o120777, data: encoder.encode("blob") },
        { path: "d/null", mode: 0o020666, rdev: [1, 3] },
        { path: "script", mode: 0o100755, data: encoder.encode("#!/bin/sh\necho hi\n") },
      ]);
      await Deno.writeFile(`${dir.path}/a.cpio`, archive);
      const listing = await run("sh", ["-c", `busybox cpio -t < ${dir.path}/a.cpio`]);
      assert.deepEqual(
        listing.split("\n").filter((l) => l && !/blocks$/.test(l)),
        ["d", "d/blob", "d/empty", "d/link", "d/null", "script"],
      );
      await Deno.mkdir(`${dir.path}/out`);
      await run("sh", ["-c", `cd ${dir.path}/out && busybox cpio -i -d < ../a.cpio`]);
      assert.deepEqual(await Deno.readFile(`${dir.path}/out/d/blob`), blob);
      assert.equal((await Deno.stat(`${dir.path}/out/d/blob`)).mode! & 0o7777, 0o640);
      assert.equal((await Deno.stat(`${dir.path}/out/d/empty`)).size, 0);
      assert.equal(await Deno.readLink(`${dir.path}/out/d/link`), "blob");
      const nul = await Deno.lstat(`${dir.path}/out/d/null`);
      assert.ok(nul.isCharDevice);
      assert.equal(nul.rdev, (1 << 8) | 3);
      assert.equal((await Deno.stat(`${dir.path}/out/script`)).mode! & 0o777, 0o755);
    } finally {
      await dir.cleanup();
    }
  },
);

Deno.test("ensureGuest: a dynamically linked busybox is refused with GuestBuildError", async () => {
  const dir = await tempDir("guest-cache");
  try {
    await assert.rejects(
      ensureGuest({ busybox: "/bin/ls", cacheDir: dir.path }),
      (e: unknown) => e instanceof GuestBuildError && /busybox-static/.test(e.message),
    );
    await assert.rejects(
      ensureGuest({ busybox: `${dir.path}/missing`, cacheDir: dir.path }),
      (e: unknown) => e instanceof GuestBuildError && /not found/.test(e.message),
    );
  } finally {
    await dir.cleanup();
  }
});

Deno.test("guest errors: names and the exit status they carry", () => {
  const exit = { code: 1, signal: null, scriptStatus: undefined };
  const exited = new GuestExited("QEMU exited", exit);
  assert.equal(exited.name, "GuestExited");
  assert.equal(exited.exit, exit);
  assert.ok(exited instanceof Error);
  assert.equal(new GuestTimeout("late").name, "GuestTimeout");
  assert.equal(new GuestBuildError("missing").name, "GuestBuildError");
  assert.equal(new GuestNetdevError("no socket").name, "GuestNetdevError");
});
