/**
 * SFTP against a second, independent server: python3-asyncssh's SFTPServer (Debian 12,
 * asyncssh 2.10), chrooted to a temporary directory, password login. asyncssh offers no
 * limits@openssh.com, so transfers use 32 KiB requests. Runs as root, so permission checks
 * are left to the OpenSSH suite.
 */

import { equal, ok } from "node:assert/strict";
import { freePort, interopTest, Peer, run, tempDir } from "./_harness.ts";
import { type CheckContext, sftpChecks, sha256Hex } from "./sftp_suite_test.ts";
import { connect, KnownHosts } from "../../ssh/mod.ts";
import { openSftp, type SftpClient } from "../../ssh/sftp/mod.ts";

const SERVER = `
import asyncio, sys, warnings
warnings.filterwarnings("ignore")
import asyncssh

PORT, HOST_KEY, PASSWORD, ROOT = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]

class Server(asyncssh.SSHServer):
    def begin_auth(self, username):
        return True
    def password_auth_supported(self):
        return True
    def validate_password(self, username, password):
        return password == PASSWORD

class Sftp(asyncssh.SFTPServer):
    def __init__(self, chan):
        super().__init__(chan, chroot=ROOT)

async def main():
    await asyncssh.create_server(Server, "127.0.0.1", PORT, server_host_keys=[HOST_KEY],
                                 sftp_factory=Sftp)
    print("LISTENING", PORT, flush=True)
    await asyncio.Future()

asyncio.run(main())
`;

const needs = {
  programs: ["/usr/bin/python3", "ssh-keygen"],
  files: ["/usr/lib/python3/dist-packages/asyncssh"],
};
const PASSWORD = "asyncssh-sftp-pw";

function check(
  title: string,
  fn: (sftp: SftpClient, c: CheckContext) => Promise<void>,
  timeoutMs = 120_000,
) {
  interopTest(`asyncssh: sftp ${title}`, needs, async () => {
    const { path, cleanup } = await tempDir("sftp-asyncssh");
    const root = `${path}/root`;
    const local = `${path}/local`;
    await Deno.mkdir(`${root}/work`, { recursive: true });
    await Deno.mkdir(local);
    await Deno.writeTextFile(`${path}/server.py`, SERVER);
    await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", `${path}/host`]);
    const port = freePort();
    const peer = new Peer("asyncssh", "/usr/bin/python3", [
      `${path}/server.py`,
      String(port),
      `${path}/host`,
      PASSWORD,
      root,
    ]);
    try {
      await peer.waitForOutput(`LISTENING ${port}`, 20_000);
      const pub = (await Deno.readTextFile(`${path}/host.pub`)).trim().split(/\s+/);
      const client = await connect(await Deno.connect({ hostname: "127.0.0.1", port }), {
        username: "tester",
        host: "127.0.0.1",
        port,
        knownHosts: KnownHosts.parse(`[127.0.0.1]:${port} ${pub[0]} ${pub[1]}\n`),
        auth: { password: PASSWORD },
      });
      const sftp = await openSftp(client);
      ok(!sftp.session.openSshSymlinkOrder, "asyncssh reads SYMLINK in the draft's order");
      await fn(sftp, {
        dir: "/work",
        local,
        remoteSha256: async (p) => await sha256Hex(await Deno.readFile(`${root}${p}`)),
      });
      await sftp.close();
      await client.close();
    } catch (e) {
      console.error("asyncssh log:\n" + peer.log.slice(-3000));
      throw e;
    } finally {
      await peer.stop();
      await cleanup();
    }
  }, { timeoutMs });
}

check("every operation", async (sftp, c) => {
  equal(sftp.limits.maxReadLength, 32768);
  await sftpChecks.everyOperation(sftp, c);
});
check("50 MB each way with equal SHA-256", (s, c) => sftpChecks.bigFile(s, c, 50_000_000));
check("a directory tree both ways, modes and times preserved", sftpChecks.tree);
check("missing-file errors are typed and name the path", (s, c) => sftpChecks.errors(s, c, false));
check("resume of a partial download and upload", sftpChecks.resume);
check("read and write streams", sftpChecks.streams);
