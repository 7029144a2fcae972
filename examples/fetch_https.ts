/**
 * Fetch an HTTPS page through usernet: a stack behind the embedded gateway (a virtual LAN in
 * this process that NATs to the host's network, like QEMU's user network), so no root and no
 * TAP device. TCP, IP, ARP, DHCP, TLS 1.3 and HTTP/1.1 are usernet's; the certificate is
 * verified against the system trust store, or against CA.pem when given.
 *
 *   deno run --allow-net --allow-read examples/fetch_https.ts https://example.com/
 *   deno run --allow-net --allow-read examples/fetch_https.ts https://10.0.2.2:8443/ ca.pem
 *
 * (10.0.2.2 is the host's 127.0.0.1.)
 *
 * @module
 */
import { hostNetwork } from "../net/gateway/host_network.ts";
import { createFetch } from "../http/mod.ts";

const [url = "https://example.com/", caFile] = Deno.args;

const net = await hostNetwork({ dhcp: true }); // the stack takes its address from the gateway
console.error(`usernet ${net.stack.ipv4?.address} behind the gateway ${net.gateway.address}`);

const fetch = createFetch({
  stack: net.stack,
  caCerts: caFile ? await Deno.readTextFile(caFile) : undefined, // default: the system's CAs
});
try {
  const response = await fetch(url);
  console.error(`${response.status} ${response.statusText}`);
  console.log(await response.text());
} finally {
  fetch.close();
  await net.close();
}
