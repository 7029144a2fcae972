/**
 * SFTP against OpenSSH's sshd (internal-sftp, Debian 12's OpenSSH 9.2p1) on 127.0.0.1 over
 * `Deno.connect`. The same suite runs over usernet TCP by calling `sftpSuite` with another
 * connect function.
 */

import { sftpSuite } from "./sftp_suite_test.ts";

sftpSuite("openssh", async (hostname, port) => {
  const conn = await Deno.connect({ hostname, port });
  conn.setNoDelay(true); // small SFTP requests must not wait for Nagle's algorithm
  return conn;
});
