import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import { sha256 } from "@noble/hashes/sha2.js";
import { FX, FXP } from "./_protocol.ts";
import { type ScriptedServerOptions, ScriptedSftpServer } from "./_test_server.ts";
import {
  BadMessage,
  FileChanged,
  NoSuchFile,
  PermissionDenied,
  SftpClient,
  SftpConnectionLost,
  SftpFailure,
} from "./mod.ts";

const hex = (b: Uint8Array) =>
  Array.from(sha256(b), (x) => x.toString(16).padStart(2, "0")).join("");
function pattern(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    out[i] = s >>> 16;
  }
  return out;
}

async function withServer(
  options: ScriptedServerOptions,
  fn: (sftp: SftpClient, server: ScriptedSftpServer, dir: string) => Promise<void>,
): Promise<void> {
  const server = new ScriptedSftpServer(options);
  const sftp = await SftpClient.start(server.stream);
  const dir = await Deno.makeTempDir({ prefix: "usernet-sftp-unit-" });
  try {
    await fn(sftp, server, dir);
  } finally {
    await sftp.close();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("sftp: metadata operations against the scripted server", async () => {
  await withServer({ limits: 4096 }, async (sftp, server) => {
    equal(sftp.limits.maxReadLength, 4096);
    ok(sftp.extensions.has("statvfs@openssh.com"));
    equal(await sftp.realpath("."), "/");
    await sftp.mkdir("/d", { mode: 0o700 });
    equal((await sftp.stat("/d")).permissions, 0o700);
    ok((await sftp.stat("/d")).isDirectory);
    await sftp.writeFile("/d/a.txt", "hello");
    equal(new TextDecoder().decode(await sftp.readFile("/d/a.txt")), "hello");
    await sftp.chmod("/d/a.txt", 0o600);
    equal((await sftp.lstat("/d/a.txt")).mode, 0o100600);
    await sftp.utimes("/d/a.txt", 10, 20);
    equal((await sftp.stat("/d/a.txt")).mtime, 20);
    await sftp.symlink("/d/a.txt", "/d/link");
    equal(await sftp.readlink("/d/link"), "/d/a.txt");
    ok((await sftp.lstat("/d/link")).isSymlink);
    ok((await sftp.stat("/d/link")).isFile);
    await sftp.link("/d/a.txt", "/d/hard");
    await sftp.rename("/d/hard", "/d/b.txt");
    deepEqual((await sftp.list("/d")).map((e) => e.name).sort(), ["a.txt", "b.txt", "link"]);
    ok((await sftp.list("/d")).every((e) => e.longname.length > 0));
    await rejects(sftp.rename("/d/a.txt", "/d/b.txt", { posix: false }), SftpFailure);
    await rejects(
      sftp.rmdir("/d"),
      (e: Error) => e instanceof SftpFailure && /not empty/.test(e.message),
    );
    for (const f of ["a.txt", "b.txt", "link"]) await sftp.remove(`/d/${f}`);
    await sftp.rmdir("/d");
    equal(await sftp.exists("/d"), false);
    const vfs = await sftp.statvfs("/");
    equal(vfs.bsize, 4096);
    equal(vfs.namemax, 255);
    const f = await sftp.open("/f", "w");
    await f.write(0, new Uint8Array([1, 2, 3]));
    await f.setStat({ mode: 0o640 });
    await f.sync();
    equal((await f.stat()).size, 3);
    await f.close();
    equal(server.file("/f")!.length, 3);
  });
});

Deno.test("sftp: errors are typed and name the path", async () => {
  await withServer({}, async (sftp, server) => {
    await rejects(sftp.stat("/missing"), (e: Error) => {
      ok(e instanceof NoSuchFile, String(e));
      equal((e as NoSuchFile).code, FX.NO_SUCH_FILE);
      equal((e as NoSuchFile).path, "/missing");
      ok(e.message.includes("stat /missing: no such file"), e.message);
      return true;
    });
    server.addFile("/ro", new Uint8Array(3), 0o100444);
    await rejects(sftp.put(new Blob([new Uint8Array(4)]).stream(), "/ro"), (e: Error) => {
      ok(e instanceof PermissionDenied);
      ok(e.message.includes("open /ro"), e.message);
      return true;
    });
    await rejects(sftp.get("/nope", new WritableStream()), NoSuchFile);
    await rejects(sftp.list("/nope"), NoSuchFile);
    await rejects(sftp.mkdir("/a/b"), NoSuchFile);
  });
});

for (
  const [name, options] of [
    ["replies out of order", { reorder: true, limits: 8192 }],
    ["short reads of random length", { shortReads: "random", reorder: true, limits: 8192 }],
    ["short reads of 1000 bytes", { shortReads: 1000, limits: 8192 }],
    ["replies split into 7-byte chunks", { chunkBytes: 7, reorder: true, limits: 4096 }],
  ] as Array<[string, ScriptedServerOptions]>
) {
  Deno.test(`sftp: get and put stay exact with ${name}`, async () => {
    await withServer(options, async (sftp, server, dir) => {
      const data = pattern(300_000 + 17);
      server.addFile("/src", data);
      const progress: number[] = [];
      const got = await sftp.get("/src", `${dir}/copy`, { onProgress: (n) => progress.push(n) });
      equal(got.bytes, data.length);
      equal(hex(await Deno.readFile(`${dir}/copy`)), hex(data));
      equal(progress.at(-1), data.length);
      ok(progress.every((p, i) => i === 0 || p >= progress[i - 1]));
      await sftp.put(`${dir}/copy`, "/back");
      equal(hex(server.file("/back")!), hex(data));
      ok(server.maxOutstanding > 1, `pipelined (saw ${server.maxOutstanding} at once)`);
      ok(server.maxOutstanding <= 64 + 2, `bounded (saw ${server.maxOutstanding} at once)`);
    });
  });
}

Deno.test("sftp: a file shorter than fstat said ends at the server's EOF", async () => {
  await withServer({ fstatSize: 1_000_000, limits: 8192, reorder: true }, async (sftp, server) => {
    const data = pattern(50_000);
    server.addFile("/short", data);
    equal(hex(await sftp.readFile("/short")), hex(data));
  });
});

Deno.test("sftp: a file longer than fstat said is read to its end", async () => {
  await withServer({ fstatSize: 10, limits: 8192 }, async (sftp, server) => {
    const data = pattern(100_000);
    server.addFile("/long", data);
    equal(hex(await sftp.readFile("/long")), hex(data));
    server.addFile("/empty", new Uint8Array(0));
    equal((await sftp.readFile("/empty")).length, 0);
  });
});

Deno.test("sftp: a read error mid-transfer leaves an exact prefix; resume completes it", async () => {
  await withServer({ limits: 8192, reorder: true }, async (sftp, server, dir) => {
    const data = pattern(200_000);
    server.addFile("/f", data);
    server.options.readFailure = {
      offset: 120_000,
      code: FX.FAILURE,
      message: "Input/output error",
    };
    await rejects(sftp.get("/f", `${dir}/f`), (e: Error) => {
      ok(e instanceof SftpFailure);
      ok(e.message.includes("read /f") && e.message.includes("Input/output error"), e.message);
      return true;
    });
    const partial = await Deno.readFile(`${dir}/f`);
    ok(partial.length > 0 && partial.length <= 120_000, `partial ${partial.length}`);
    deepEqual(partial, data.subarray(0, partial.length));
    delete server.options.readFailure;
    const res = await sftp.get("/f", `${dir}/f`, { resume: true });
    equal(res.resumedFrom, partial.length);
    equal(hex(await Deno.readFile(`${dir}/f`)), hex(data));
  });
});

Deno.test("sftp: a write error mid-upload is typed; resume completes the upload", async () => {
  await withServer({ limits: 8192, reorder: true }, async (sftp, server, dir) => {
    const data = pattern(200_000, 7);
    await Deno.writeFile(`${dir}/up`, data);
    server.options.writeFailure = { offset: 100_000, code: FX.PERMISSION_DENIED };
    await rejects(
      sftp.put(`${dir}/up`, "/up"),
      (e: Error) => e instanceof PermissionDenied && e.message.includes("write /up"),
    );
    delete server.options.writeFailure;
    // Writes are acknowledged out of order: keep only the contiguous prefix before resuming.
    const have = server.file("/up")!;
    let prefix = 0;
    while (prefix < have.length && have[prefix] === data[prefix]) prefix++;
    const f = await sftp.open("/up", "r+");
    await f.setStat({ size: Math.min(prefix, 100_000 - (100_000 % 8192)) });
    await f.close();
    const res = await sftp.put(`${dir}/up`, "/up", { resume: true });
    ok(res.resumedFrom > 0);
    equal(hex(server.file("/up")!), hex(data));
  });
});

Deno.test("sftp: a dropped connection fails the transfer with SftpConnectionLost", async () => {
  await withServer({ limits: 8192, dropAfterReplies: 20 }, async (sftp, server, dir) => {
    server.addFile("/f", pattern(500_000));
    await rejects(sftp.get("/f", `${dir}/f`), SftpConnectionLost);
    await rejects(sftp.stat("/f"), SftpConnectionLost);
  });
});

Deno.test("sftp: more data than asked is a BadMessage, not a corrupt file", async () => {
  await withServer({ limits: 8192, overlongReads: 5 }, async (sftp, server, dir) => {
    server.addFile("/f", pattern(40_000));
    await rejects(sftp.get("/f", `${dir}/f`), BadMessage);
  });
});

Deno.test("sftp: an end of file before data already received is reported, not truncated", async () => {
  for (const reorder of [false, true]) {
    await withServer({ limits: 8192, fakeEofAt: 8192, reorder }, async (sftp, server, dir) => {
      server.addFile("/f", pattern(60_000));
      await rejects(sftp.get("/f", `${dir}/f`), (e: Error) => {
        ok(e instanceof FileChanged, String(e));
        ok(e.message.includes("get /f: the file changed"), e.message);
        return true;
      });
    });
  }
});

Deno.test("sftp: hostile listings cannot escape the target directory", async () => {
  await withServer({ extraNames: ["../escape"] }, async (sftp, server, dir) => {
    server.addDir("/tree");
    server.addFile("/tree/a", pattern(10));
    await rejects(sftp.getRecursive("/tree", `${dir}/out`), BadMessage);
  });
});

Deno.test("sftp: recursive put and get of a tree; symlinks skipped", async () => {
  await withServer({ limits: 8192, reorder: true }, async (sftp, server, dir) => {
    await Deno.mkdir(`${dir}/t/sub/deeper`, { recursive: true });
    await Deno.writeFile(`${dir}/t/one`, pattern(12_345, 1));
    await Deno.writeFile(`${dir}/t/sub/two`, pattern(70_000, 2));
    await Deno.writeFile(`${dir}/t/sub/deeper/three`, new Uint8Array(0));
    await Deno.symlink("one", `${dir}/t/link`);
    await Deno.chmod(`${dir}/t/one`, 0o640);
    const up = await sftp.putRecursive(`${dir}/t`, "/t", { preserve: true });
    deepEqual([up.files, up.directories, up.skipped.length], [3, 3, 1]);
    equal(hex(server.file("/t/sub/two")!), hex(pattern(70_000, 2)));
    equal((await sftp.stat("/t/one")).permissions, 0o640);
    const down = await sftp.getRecursive("/t", `${dir}/back`, { preserve: true });
    deepEqual([down.files, down.directories, down.bytes], [3, 3, 12_345 + 70_000]);
    equal(hex(await Deno.readFile(`${dir}/back/sub/two`)), hex(pattern(70_000, 2)));
    equal((await Deno.stat(`${dir}/back/one`)).mode! & 0o777, 0o640);
    equal((await Deno.stat(`${dir}/back/sub/deeper/three`)).size, 0);
  });
});

Deno.test("sftp: read and write streams", async () => {
  await withServer({ limits: 8192, reorder: true }, async (sftp, server) => {
    const data = pattern(100_000, 3);
    const ws = sftp.createWriteStream("/s");
    const w = ws.getWriter();
    for (let o = 0; o < data.length; o += 7000) await w.write(data.subarray(o, o + 7000));
    await w.close();
    equal(hex(server.file("/s")!), hex(data));
    const parts: Uint8Array[] = [];
    for await (const c of sftp.createReadStream("/s", { start: 50_000 })) parts.push(c.slice());
    equal(
      hex(new Uint8Array(await new Blob(parts as Uint8Array<ArrayBuffer>[]).arrayBuffer())),
      hex(data.subarray(50_000)),
    );
    await rejects(async () => {
      for await (const _ of sftp.createReadStream("/missing")) { /* nothing */ }
    }, NoSuchFile);
  });
});

Deno.test("sftp: a reply larger than the packet limit ends the session as BadMessage", async () => {
  const server = new ScriptedSftpServer({});
  const sftp = await SftpClient.start(server.stream, { maxPacketLength: 1000 });
  server.addFile("/big", pattern(5000));
  await rejects(
    sftp.readFile("/big"),
    (e: Error) => e instanceof BadMessage || e instanceof SftpConnectionLost,
  );
  await rejects(sftp.stat("/big"), BadMessage);
  await sftp.close();
  equal(server.counts.get(FXP.INIT), 1);
});
