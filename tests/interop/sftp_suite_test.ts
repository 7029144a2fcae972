/**
 * The SFTP interop checks, written once and run against each peer: `sftpSuite(name,
 * connect)` registers them against OpenSSH's sshd (internal-sftp) over any transport, so the
 * same suite runs over `Deno.connect` on loopback (sftp_openssh_test.ts) and later over
 * usernet TCP. The checks themselves (`sftpChecks`) take an open `SftpClient` and a work
 * directory, so other servers (asyncssh) reuse them. This file registers no test itself.
 *
 * @module
 */

import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import { interopTest, tempDir } from "./_harness.ts";
import { SSH_TEST_USER, type SshdServer, startSshd } from "./ssh_sshd_server.ts";
import { type Conn, connect, KnownHosts, type SshClient, SshPrivateKey } from "../../ssh/mod.ts";
import { NoSuchFile, PermissionDenied, type SftpClient, SftpFailure } from "../../ssh/sftp/mod.ts";

/** Opens a TCP connection to the test server (loopback, or through usernet). */
export type ConnectFn = (hostname: string, port: number) => Promise<Conn>;

/** What a check needs besides the client. */
export interface CheckContext {
  /** An absolute remote directory the check may fill (empty, writable). */
  dir: string;
  /** A local temporary directory. */
  local: string;
  /** SHA-256 (hex) of a remote file, computed by the server side. */
  remoteSha256(path: string): Promise<string>;
}

const fixtures = new URL("../fixtures/ssh/", import.meta.url);
/** The client key the suite's sshd authorizes. */
export const suiteKey = (): SshPrivateKey =>
  SshPrivateKey.parse(Deno.readTextFileSync(new URL("id_ed25519", fixtures)));

/** Hex SHA-256 with WebCrypto (fast for 200 MB). */
export async function sha256Hex(data: Uint8Array): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", data as Uint8Array<ArrayBuffer>));
  return Array.from(d, (x) => x.toString(16).padStart(2, "0")).join("");
}

/** `n` random bytes. */
export function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) {
    crypto.getRandomValues(out.subarray(i, Math.min(n, i + 65536)));
  }
  return out;
}

/** The checks, by name; each takes an open client and a fresh context. */
export const sftpChecks = {
  /** Every operation of the API once, with results checked. */
  async everyOperation(sftp: SftpClient, c: CheckContext): Promise<void> {
    const d = c.dir;
    ok((await sftp.realpath(d)).endsWith(d.split("/").pop()!));
    await sftp.mkdir(`${d}/sub`, { mode: 0o750 });
    const sub = await sftp.stat(`${d}/sub`);
    ok(sub.isDirectory);
    equal(sub.permissions & 0o700, 0o700);
    await sftp.writeFile(`${d}/sub/a.txt`, "hello sftp\n", { mode: 0o640 });
    equal(new TextDecoder().decode(await sftp.readFile(`${d}/sub/a.txt`)), "hello sftp\n");
    const st = await sftp.stat(`${d}/sub/a.txt`);
    ok(st.isFile);
    equal(st.size, 11);
    await sftp.chmod(`${d}/sub/a.txt`, 0o604);
    equal((await sftp.stat(`${d}/sub/a.txt`)).permissions, 0o604);
    await sftp.utimes(`${d}/sub/a.txt`, 1_600_000_000, 1_600_000_100);
    equal((await sftp.stat(`${d}/sub/a.txt`)).mtime, 1_600_000_100);
    // An absolute target: asyncssh's chroot cannot map relative targets back in readlink.
    await sftp.symlink(`${d}/sub/a.txt`, `${d}/sub/link`);
    equal(await sftp.readlink(`${d}/sub/link`), `${d}/sub/a.txt`);
    ok((await sftp.lstat(`${d}/sub/link`)).isSymlink);
    ok((await sftp.stat(`${d}/sub/link`)).isFile);
    if (sftp.extensions.has("hardlink@openssh.com")) {
      await sftp.link(`${d}/sub/a.txt`, `${d}/sub/hard`);
      equal((await sftp.stat(`${d}/sub/hard`)).size, 11);
      await sftp.remove(`${d}/sub/hard`);
    }
    const names = (await sftp.list(`${d}/sub`)).map((e) => e.name).sort();
    deepEqual(names, ["a.txt", "link"]);
    const f = await sftp.open(`${d}/sub/b.bin`, "w+", { mode: 0o600 });
    await f.write(0, new Uint8Array([1, 2, 3, 4, 5]));
    await f.write(10, new Uint8Array([9]));
    equal((await f.stat()).size, 11);
    deepEqual(await f.read(3, 100), new Uint8Array([4, 5, 0, 0, 0, 0, 0, 9]));
    equal(await f.read(11, 10), null);
    await f.setStat({ mode: 0o644 });
    if (sftp.extensions.has("fsync@openssh.com")) await f.sync();
    await f.close();
    equal((await sftp.stat(`${d}/sub/b.bin`)).permissions, 0o644);
    await sftp.setStat(`${d}/sub/b.bin`, { size: 2 });
    equal((await sftp.stat(`${d}/sub/b.bin`)).size, 2);
    await sftp.rename(`${d}/sub/b.bin`, `${d}/sub/c.bin`, { posix: false });
    await rejects(sftp.rename(`${d}/sub/a.txt`, `${d}/sub/c.bin`, { posix: false }), SftpFailure);
    if (sftp.extensions.has("posix-rename@openssh.com")) {
      await sftp.rename(`${d}/sub/a.txt`, `${d}/sub/c.bin`); // replaces
      equal((await sftp.stat(`${d}/sub/c.bin`)).size, 11);
    } else {
      await sftp.remove(`${d}/sub/a.txt`);
    }
    if (sftp.extensions.has("statvfs@openssh.com")) {
      const vfs = await sftp.statvfs(d);
      ok(vfs.bsize > 0 && vfs.blocks > 0 && vfs.namemax >= 255, JSON.stringify(vfs));
    }
    ok(await sftp.exists(`${d}/sub/c.bin`));
    await sftp.remove(`${d}/sub/c.bin`);
    await sftp.remove(`${d}/sub/link`);
    await rejects(sftp.rmdir(d), SftpFailure); // not empty
    await sftp.rmdir(`${d}/sub`);
    equal(await sftp.exists(`${d}/sub`), false);
  },

  /** A large file each way; SHA-256 equal on both sides. */
  async bigFile(sftp: SftpClient, c: CheckContext, size = 200_000_000): Promise<void> {
    const data = randomBytes(size);
    const want = await sha256Hex(data);
    await Deno.writeFile(`${c.local}/big`, data);
    const up = await sftp.put(`${c.local}/big`, `${c.dir}/big`);
    equal(up.bytes, size);
    equal(await c.remoteSha256(`${c.dir}/big`), want);
    const down = await sftp.get(`${c.dir}/big`, `${c.local}/big.back`);
    equal(down.bytes, size);
    equal(await sha256Hex(await Deno.readFile(`${c.local}/big.back`)), want);
    await sftp.remove(`${c.dir}/big`);
  },

  /** A directory tree up and back down, with modes and times preserved. */
  async tree(sftp: SftpClient, c: CheckContext): Promise<void> {
    const src = `${c.local}/tree`;
    const files: Record<string, Uint8Array> = {
      "a.txt": randomBytes(1000),
      "empty": new Uint8Array(0),
      "x/b.bin": randomBytes(300_000),
      "x/y/z/c.bin": randomBytes(70_001),
      "x/y/d.bin": randomBytes(5),
    };
    for (const [p, data] of Object.entries(files)) {
      await Deno.mkdir(`${src}/${p}`.replace(/\/[^/]+$/, ""), { recursive: true });
      await Deno.writeFile(`${src}/${p}`, data);
    }
    await Deno.chmod(`${src}/a.txt`, 0o600);
    await Deno.utime(`${src}/x/b.bin`, 1_500_000_000, 1_500_000_000);
    const up = await sftp.putRecursive(src, `${c.dir}/tree`, { preserve: true });
    deepEqual([up.files, up.directories], [5, 4]);
    equal((await sftp.stat(`${c.dir}/tree/a.txt`)).permissions, 0o600);
    equal((await sftp.stat(`${c.dir}/tree/x/b.bin`)).mtime, 1_500_000_000);
    const down = await sftp.getRecursive(`${c.dir}/tree`, `${c.local}/back`, { preserve: true });
    deepEqual([down.files, down.directories], [5, 4]);
    for (const [p, data] of Object.entries(files)) {
      equal(await sha256Hex(await Deno.readFile(`${c.local}/back/${p}`)), await sha256Hex(data), p);
    }
    equal((await Deno.stat(`${c.local}/back/a.txt`)).mode! & 0o777, 0o600);
    equal((await Deno.stat(`${c.local}/back/x/b.bin`)).mtime!.getTime(), 1_500_000_000_000);
  },

  /** Missing files (and, where the server enforces them, permissions) give typed errors. */
  async errors(sftp: SftpClient, c: CheckContext, permissions = true): Promise<void> {
    await rejects(sftp.stat(`${c.dir}/missing`), (e: Error) => {
      ok(e instanceof NoSuchFile);
      ok(e.message.includes(`${c.dir}/missing`), e.message);
      return true;
    });
    await rejects(sftp.get(`${c.dir}/missing`, `${c.local}/m`), NoSuchFile);
    await rejects(sftp.put(`${c.local}/does-not-exist`, `${c.dir}/x`), Deno.errors.NotFound);
    await rejects(sftp.list(`${c.dir}/missing`), NoSuchFile);
    await rejects(sftp.remove(`${c.dir}/missing`), NoSuchFile);
    await rejects(sftp.rmdir(`${c.dir}/missing`), NoSuchFile);
    await rejects(sftp.mkdir(`${c.dir}/missing/sub`), NoSuchFile);
    if (!permissions) return;
    await rejects(sftp.get("/etc/shadow", `${c.local}/shadow`), (e: Error) => {
      ok(e instanceof PermissionDenied);
      ok(e.message.includes("/etc/shadow"), e.message);
      return true;
    });
    await rejects(sftp.mkdir("/root/usernet-should-not-exist"), PermissionDenied);
    await rejects(sftp.writeFile("/etc/usernet-should-not-exist", "x"), PermissionDenied);
  },

  /** A cut-off download and upload, resumed to the exact file. */
  async resume(sftp: SftpClient, c: CheckContext): Promise<void> {
    const data = randomBytes(3_000_000);
    const want = await sha256Hex(data);
    await sftp.writeFile(`${c.dir}/r`, data);
    await Deno.writeFile(`${c.local}/r`, data.subarray(0, 1_234_567));
    const got = await sftp.get(`${c.dir}/r`, `${c.local}/r`, { resume: true });
    deepEqual([got.resumedFrom, got.bytes], [1_234_567, data.length - 1_234_567]);
    equal(await sha256Hex(await Deno.readFile(`${c.local}/r`)), want);
    // An upload cut off after 1 MB, then resumed.
    await sftp.writeFile(`${c.dir}/u`, data.subarray(0, 1_000_000));
    await Deno.writeFile(`${c.local}/u`, data);
    const put = await sftp.put(`${c.local}/u`, `${c.dir}/u`, { resume: true });
    deepEqual([put.resumedFrom, put.bytes], [1_000_000, data.length - 1_000_000]);
    equal(await c.remoteSha256(`${c.dir}/u`), want);
    // A local file larger than the remote one cannot be resumed.
    await Deno.writeFile(`${c.local}/bigger`, randomBytes(10));
    await sftp.writeFile(`${c.dir}/smaller`, "abc");
    await rejects(
      sftp.get(`${c.dir}/smaller`, `${c.local}/bigger`, { resume: true }),
      /cannot resume/,
    );
  },

  /** Streams both ways. */
  async streams(sftp: SftpClient, c: CheckContext): Promise<void> {
    const data = randomBytes(1_500_000);
    const w = sftp.createWriteStream(`${c.dir}/s`).getWriter();
    for (let o = 0; o < data.length; o += 100_000) await w.write(data.subarray(o, o + 100_000));
    await w.close();
    const parts: Uint8Array[] = [];
    for await (const chunk of sftp.createReadStream(`${c.dir}/s`)) parts.push(chunk.slice());
    const back = new Uint8Array(await new Blob(parts as Uint8Array<ArrayBuffer>[]).arrayBuffer());
    equal(await sha256Hex(back), await sha256Hex(data));
  },
};

async function loginSshd(server: SshdServer, connectFn: ConnectFn): Promise<SshClient> {
  return await connect(await connectFn("127.0.0.1", server.port), {
    username: SSH_TEST_USER,
    host: "127.0.0.1",
    port: server.port,
    knownHosts: KnownHosts.parse(server.knownHosts),
    auth: { privateKey: suiteKey() },
  });
}

const sshdNeeds = {
  programs: ["/usr/sbin/sshd", "ssh-keygen", "useradd", "chpasswd", "sha256sum"],
  root: true,
};

/**
 * Registers the SFTP checks against OpenSSH's sshd (internal-sftp), reaching it with
 * `connectFn`. Test names start with `name` (e.g. `"openssh"`, `"usernet_tap_netem"`).
 *
 * @example
 * ```ts ignore
 * sftpSuite("openssh", (hostname, port) => Deno.connect({ hostname, port }));
 * ```
 */
export function sftpSuite(
  name: string,
  connectFn: ConnectFn,
  options: { bigFileBytes?: number } = {},
): void {
  const check = (
    title: string,
    fn: (sftp: SftpClient, c: CheckContext) => Promise<void>,
    timeoutMs = 60_000,
  ) =>
    interopTest(`${name}: sftp ${title}`, sshdNeeds, async () => {
      const server = await startSshd({ authorizedKeys: [suiteKey().authorizedKey] });
      const local = await tempDir("sftp-local");
      const client = await loginSshd(server, connectFn).catch(async (e) => {
        await server.stop();
        throw e;
      });
      const sftp = await client.sftp();
      const home = await sftp.realpath(".");
      const dir = `${home}/sftp-${crypto.randomUUID().slice(0, 8)}`;
      try {
        await sftp.mkdir(dir);
        await fn(sftp, {
          dir,
          local: local.path,
          async remoteSha256(path) {
            const out = await client.run(`sha256sum '${path}'`);
            equal(out.code, 0, new TextDecoder().decode(out.stderr));
            return new TextDecoder().decode(out.stdout).split(" ")[0];
          },
        });
      } catch (e) {
        console.error("sshd log:\n" + server.peer.log.slice(-3000));
        throw e;
      } finally {
        await client.run(`rm -rf '${dir}'`).catch(() => {});
        await sftp.close().catch(() => {});
        await client.close().catch(() => {});
        await server.stop();
        await local.cleanup();
      }
    }, { timeoutMs });

  check("every operation (OpenSSH extensions, limits 261120)", async (sftp, c) => {
    equal(sftp.limits.maxReadLength, 261120);
    for (
      const e of [
        "posix-rename@openssh.com",
        "statvfs@openssh.com",
        "fsync@openssh.com",
        "hardlink@openssh.com",
        "limits@openssh.com",
      ]
    ) {
      ok(sftp.extensions.has(e), e);
    }
    await sftpChecks.everyOperation(sftp, c);
  });
  check(
    `${(options.bigFileBytes ?? 200_000_000) / 1e6} MB each way with equal SHA-256`,
    (sftp, c) => sftpChecks.bigFile(sftp, c, options.bigFileBytes),
    240_000,
  );
  check("a directory tree both ways, modes and times preserved", sftpChecks.tree);
  check(
    "permission and missing-file errors are typed and name the path",
    (s, c) => sftpChecks.errors(s, c, true),
  );
  check("resume of a partial download and upload", sftpChecks.resume);
  check("read and write streams", sftpChecks.streams);
}
