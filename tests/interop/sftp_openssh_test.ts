/**
 * SFTP against OpenSSH's sshd (internal-sftp, Debian 12's OpenSSH 9.2p1) on 127.0.0.1 over
 * `Deno.connect`. The same suite runs over usernet TCP by calling `sftpSuite` with another
 * connect function.
 */

import { sftpSuite } from "./sftp_suite_test.ts";

sftpSuite("openssh", (hostname, port) => Deno.connect({ hostname, port }));
