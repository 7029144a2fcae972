import { deepEqual, equal, ok, rejects, throws } from "node:assert/strict";
import { normalizePath, runBatch, SftpShell, splitWords } from "./sftp.ts";
import { parseTarget } from "./ssh.ts";
import { ScriptedSftpServer } from "../ssh/sftp/_test_server.ts";
import { NoSuchFile, SftpClient } from "../ssh/sftp/mod.ts";

Deno.test("sftp cli: words, quotes and paths", () => {
  deepEqual(splitWords(`put "my file" 'a b'  c\\ d`), ["put", "my file", "a b", "c d"]);
  deepEqual(splitWords(`ls ""`), ["ls", ""]);
  throws(() => splitWords(`get "open`));
  equal(normalizePath("/a/./b/../c//d/"), "/a/c/d");
  equal(normalizePath("/.."), "/");
  equal(normalizePath("a/../../b"), "../b");
});

Deno.test("sftp cli: targets", () => {
  deepEqual(parseTarget("u@h:2222", { allowPort: true }), { user: "u", host: "h", port: 2222 });
  deepEqual(parseTarget("u@[::1]:2022", { allowPort: true }), {
    user: "u",
    host: "::1",
    port: 2022,
  });
  deepEqual(parseTarget("me@h:22", { port: 5 }), { user: "me", host: "h:22", port: 5 });
  throws(() => parseTarget("u@h:99999", { allowPort: true }));
});

Deno.test("sftp cli: commands against the scripted server; batch stops at the first error", async () => {
  const server = new ScriptedSftpServer({ limits: 8192 });
  server.addDir("/home");
  const sftp = await SftpClient.start(server.stream);
  const out: string[] = [];
  const err: string[] = [];
  const shell = await SftpShell.start(sftp, {
    out: (l) => out.push(l),
    err: (l) => err.push(l),
    progress: false,
  });
  await shell.run("cd /home");
  await shell.run("mkdir d");
  server.addFile("/home/d/f.txt", new TextEncoder().encode("data"));
  await shell.run("ls d");
  deepEqual(out.slice(-1), ["f.txt"]);
  await shell.run("rename d/f.txt d/g.txt");
  await shell.run("ln -s g.txt d/link");
  await shell.run("chmod 600 d/g.txt");
  equal(server.fs.get("/home/d/g.txt")!.mode & 0o777, 0o600);
  await shell.run("df");
  ok(out.at(-1)!.trim().startsWith("4000"), out.at(-1));
  await rejects(shell.run("rm d/missing"), NoSuchFile);
  await rejects(shell.run("frobnicate"), /invalid command/);
  const status = await runBatch(
    shell,
    (async function* () {
      yield "pwd";
      yield "-rm nope";
      yield "rm nope";
      yield "mkdir never";
    })(),
  );
  equal(status, 1);
  ok(out.includes("Remote working directory: /home"));
  equal(server.fs.has("/home/never"), false);
  equal(err.length, 2);
  await sftp.close();
});

Deno.test("sftp cli: get -r and put -r draw a meter per file; lcd and lpwd move locally", async () => {
  const server = new ScriptedSftpServer({ limits: 8192 });
  server.addDir("/home");
  server.addDir("/home/tree");
  server.addDir("/home/tree/sub");
  server.addFile("/home/tree/a.bin", new Uint8Array(20000).fill(1));
  server.addFile("/home/tree/sub/b.bin", new Uint8Array(30000).fill(2));
  const sftp = await SftpClient.start(server.stream);
  const out: string[] = [];
  let meters = "";
  const shell = await SftpShell.start(sftp, {
    out: (l) => out.push(l),
    err: () => {},
    progress: true,
    progressWrite: (text) => (meters += text),
  });
  const local = await Deno.makeTempDir({ prefix: "usernet-sftp-cli-" });
  const before = Deno.cwd();
  try {
    await shell.run(`lcd ${local}`);
    await shell.run("lpwd");
    equal(out.at(-1), `Local working directory: ${await Deno.realPath(local)}`);
    await shell.run("cd /home");
    await shell.run("get -r tree");
    // One finished meter line per file, each with its own name and full size.
    const finished = (text: string) => text.split("\n").filter((l) => l.includes("100%"));
    const got = finished(meters);
    equal(got.length, 2, meters);
    ok(got.some((l) => l.includes("a.bin")), got.join("\n"));
    ok(got.some((l) => l.includes("b.bin")), got.join("\n"));
    deepEqual(await Deno.readFile(`${local}/tree/sub/b.bin`), new Uint8Array(30000).fill(2));

    meters = "";
    await shell.run("put -r tree copy");
    const put = finished(meters);
    equal(put.length, 2, meters);
    ok(put.some((l) => l.includes("b.bin")), put.join("\n"));
    const copied = server.fs.get("/home/copy/sub/b.bin")!;
    deepEqual(copied.data.subarray(0, copied.size), new Uint8Array(30000).fill(2));

    // Without meters, a line per file instead.
    await shell.run("progress");
    out.length = 0;
    await shell.run("put -r tree copy2");
    ok(out.includes(`Uploading tree/a.bin to /home/copy2/a.bin`), out.join("\n"));
  } finally {
    Deno.chdir(before);
    await Deno.remove(local, { recursive: true });
    await sftp.close();
  }
});
