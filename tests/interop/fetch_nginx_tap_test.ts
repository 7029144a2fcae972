/**
 * `createFetch({ stack })` through usernet on a TAP device against nginx (Debian 1.22) inside a
 * network namespace the test creates: Linux's side of the TAP is 10.81.0.1/24 where nginx
 * listens; usernet is 10.81.0.2. Keep-alive, gzip+chunked, redirects, a 100 MB download and
 * WebDAV uploads compared by SHA-256, HTTPS with TLS 1.3 and a CA made by the test.
 */
import { interopTest } from "./_harness.ts";
import { createTapNamespace } from "./_netns.ts";
import { fetchSuite, withFetchNginx } from "./_fetch_nginx.ts";
import { TapNic } from "../../drivers/tap.ts";
import { Stack } from "../../net/stack.ts";

const needs = { root: true, programs: ["ip", "nginx"], files: ["/dev/net/tun"] };

interopTest(
  "nginx over TAP: usernet's fetch in a namespace (keep-alive, gzip, redirects, 100 MB, PUT, HTTPS)",
  needs,
  async (t) => {
    const ns = await createTapNamespace("fetch", "10.81.0.1/24");
    let stack: Stack | undefined;
    try {
      stack = new Stack({
        nic: TapNic.open({ name: ns.tap, netns: ns.name }),
        address: "10.81.0.2/24",
      });
      await withFetchNginx(
        "10.81.0.1",
        ns,
        (nginx) => fetchSuite(t, "nginx over TAP", stack!, nginx),
      );
    } finally {
      await stack?.close();
      await ns.cleanup();
    }
  },
  { timeoutMs: 120_000 },
);
