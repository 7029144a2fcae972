/**
 * `createFetch({ stack })` through usernet behind the embedded gateway against nginx (Debian
 * 1.22) on the host's 127.0.0.1, which the stack reaches as 10.0.2.2: the path `deno task
 * fetch` takes without NIC flags. The same checks as over TAP.
 */
import { interopTest } from "./_harness.ts";
import { fetchSuite, withFetchNginx } from "./_fetch_nginx.ts";
import { hostNetwork } from "../../net/gateway/host_network.ts";

interopTest(
  "nginx via the embedded gateway: usernet's fetch to 10.0.2.2 (keep-alive, gzip, redirects, 100 MB, PUT, HTTPS)",
  { programs: ["nginx"] },
  async (t) => {
    const net = await hostNetwork({ dhcp: true });
    try {
      await withFetchNginx("127.0.0.1", undefined, async (nginx) => {
        // The stack sees the host's loopback as the gateway's address.
        const viaGateway = {
          ...nginx,
          http: nginx.http.replace("127.0.0.1", "10.0.2.2"),
          https: nginx.https.replace("127.0.0.1", "10.0.2.2"),
        };
        await fetchSuite(t, "nginx via the gateway", net.stack, viaGateway);
      }, { alsoKnownAs: ["10.0.2.2"] });
    } finally {
      await net.close();
    }
  },
  { timeoutMs: 120_000 },
);
