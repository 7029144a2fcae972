/**
 * Fetch a page through usernet on a Linux TAP device: the stack owns the TAP's Ethernet side
 * and speaks ARP, IPv4, TCP, TLS 1.3 and HTTP/1.1 on it. Needs root (or CAP_NET_ADMIN) and
 * `--allow-ffi` for the TAP device.
 *
 *   sudo ip tuntap add dev tap0 mode tap
 *   sudo ip addr add 10.0.0.1/24 dev tap0 && sudo ip link set tap0 up
 *   sudo deno run -A examples/fetch_over_tap.ts https://10.0.0.1:8443/ \
 *     --tap tap0 --address 10.0.0.2/24 --gateway 10.0.0.1 --cacert ca.pem
 *
 * Flags: --tap NAME [--netns NS] --address A/P [--gateway G] [--dns IP,IP] [--cacert FILE].
 *
 * @module
 */
import { parseArgs } from "node:util";
import { Stack, TapNic } from "../mod.ts";
import { createFetch } from "../http/mod.ts";

const { values, positionals } = parseArgs({
  args: Deno.args,
  allowPositionals: true,
  options: {
    tap: { type: "string", default: "tap0" },
    netns: { type: "string" },
    address: { type: "string", default: "10.0.0.2/24" },
    gateway: { type: "string" },
    dns: { type: "string" },
    cacert: { type: "string" },
  },
});

const stack = new Stack({
  nic: TapNic.open({ name: values.tap, netns: values.netns }),
  address: values.address,
  gateway: values.gateway,
  dns: values.dns?.split(","),
});
const fetch = createFetch({
  stack,
  caCerts: values.cacert ? await Deno.readTextFile(values.cacert) : undefined,
});
try {
  const response = await fetch(positionals[0] ?? "http://10.0.0.1/");
  console.error(`${response.status} ${response.statusText}`);
  console.log(await response.text());
} finally {
  fetch.close();
  await stack.close();
}
