import { deepEqual, equal, ok, throws } from "node:assert/strict";
import { SshReader, SshWriter } from "../_wire.ts";
import { decodeAttributes, encodeAttributes, FileStat, longName } from "./attributes.ts";
import { BadMessage } from "./errors.ts";

const roundTrip = (a: ConstructorParameters<typeof FileStat>[0]) =>
  decodeAttributes(new SshReader(encodeAttributes(new SshWriter(), a).bytes()));

Deno.test("sftp attributes: every field round-trips; absent fields stay absent", () => {
  const all = {
    size: 2 ** 40 + 5,
    uid: 1000,
    gid: 100,
    mode: 0o100640,
    atime: 1_600_000_000,
    mtime: 1_600_000_001,
    extended: { "a@b": new Uint8Array([1, 2]) },
  };
  deepEqual({ ...roundTrip(all) }, all);
  deepEqual({ ...roundTrip({}) }, {});
  deepEqual(encodeAttributes(new SshWriter(), {}).bytes(), new Uint8Array(4));
  deepEqual({ ...roundTrip({ mode: 0o755 }) }, { mode: 0o755 });
  throws(() => encodeAttributes(new SshWriter(), { uid: 1 }), RangeError);
  throws(() => encodeAttributes(new SshWriter(), { mtime: 1 }), RangeError);
});

Deno.test("sftp attributes: hostile sizes and counts are refused", () => {
  const huge = new SshWriter().uint32(1).uint64(2n ** 60n).bytes();
  throws(() => decodeAttributes(new SshReader(huge)), BadMessage);
  const lying = new SshWriter().uint32(0x80000000).uint32(0xffffffff).bytes();
  throws(() => decodeAttributes(new SshReader(lying)), BadMessage);
});

Deno.test("sftp attributes: type tests and ls -l lines", () => {
  ok(new FileStat({ mode: 0o040755 }).isDirectory);
  ok(new FileStat({ mode: 0o120777 }).isSymlink);
  ok(new FileStat({ mode: 0o100644 }).isFile);
  ok(!new FileStat({}).isFile);
  equal(new FileStat({ mode: 0o104755 }).permissions, 0o4755);
  const line = longName("x", new FileStat({ mode: 0o104754, size: 12, uid: 1, gid: 2, mtime: 0 }));
  ok(line.startsWith("-rwsr-xr--"), line);
  ok(line.endsWith(" 12 Jan 01  1970 x"), line);
  ok(longName("d", new FileStat({ mode: 0o041777 })).startsWith("drwxrwxrwt"));
});
