/**
 * The SFTP interop suite (`sftpSuite`) against OpenSSH's sshd over usernet's own TCP on a TAP
 * device, without damage: 200 MB each way. sshd listens on the host's 127.0.0.1 (the suite
 * starts it); usernet reaches it through the namespace's tap0 address and a socat relay (see
 * `relayedConnector`), so usernet's TCP peer is Linux's TCP in the namespace.
 */

import { interopTest } from "./_harness.ts";
import { sftpSuite } from "./sftp_suite_test.ts";
import { relayedConnector, TAP_NEEDS } from "./_usernet_peers.ts";

const relay = relayedConnector("sftp-tap", { subnet: 94 });

sftpSuite("openssh over usernet TAP", relay.connect, { bigFileBytes: 200_000_000 });

interopTest(
  "openssh over usernet TAP: sftp relay and namespace cleaned up",
  TAP_NEEDS,
  async () => {
    await relay.close();
  },
);
