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
