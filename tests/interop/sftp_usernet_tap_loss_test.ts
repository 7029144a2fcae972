/**
 * The SFTP interop suite (`sftpSuite`) against OpenSSH's sshd over usernet's own TCP on a TAP
 * device with 2% of frames dropped at usernet's NIC in both directions (FaultInjector, seeded;
 * the seed is printed). sshd listens on the host's 127.0.0.1 (the suite starts it); usernet
 * reaches it through the namespace's tap0 address and a socat relay (see `relayedConnector`).
 */

import { interopTest } from "./_harness.ts";
import { sftpSuite } from "./sftp_suite_test.ts";
import { relayedConnector, TAP_NEEDS } from "./_usernet_peers.ts";

/**
 * 200 MB each way with 2% loss took 22 s here (the whole file 26 s), well inside the ~90 s
 * budget, so the lossy run moves the same 200 MB as the clean one.
 */
const BIG_FILE_BYTES = Number(Deno.env.get("USERNET_SFTP_LOSS_BYTES") ?? 200_000_000);
const seed = Number(Deno.env.get("USERNET_FAULT_SEED") ?? Date.now() % 1_000_000);

const relay = relayedConnector("sftp-loss", { subnet: 95, faults: { seed, drop: 0.02 } });

sftpSuite("openssh over usernet TAP with 2% loss", relay.connect, {
  bigFileBytes: BIG_FILE_BYTES,
});

interopTest(
  "openssh over usernet TAP with 2% loss: losses were repaired, relay and namespace cleaned up",
  TAP_NEEDS,
  async () => {
    const tap = relay.tap();
    if (tap) {
      const stats = tap.stack.stats();
      console.log(
        `  seed ${seed}: frames dropped ${
          JSON.stringify(tap.faults?.faultStats())
        }, TCP retransmits ${stats.tcp.retransmits}`,
      );
      if (!(stats.tcp.retransmits > 0)) throw new Error("no retransmissions: was loss injected?");
    }
    await relay.close();
  },
);
