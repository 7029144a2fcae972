/**
 * `deno task demo`: fetch an HTTPS page through usernet, on any machine, without root or
 * packages (`deno run --allow-net=127.0.0.1 cli/demo.ts`).
 *
 * It makes a throw-away CA and a server certificate (tls/x509), serves a page over HTTPS on
 * 127.0.0.1 with `Deno.serve`, brings a usernet stack up behind the embedded gateway (a virtual
 * Ethernet LAN in process, as QEMU's user network: 10.0.2.2 is the host's 127.0.0.1), and fetches
 * `https://10.0.2.2:PORT/` through the stack — DHCP, ARP, IPv4, TCP, TLS 1.3 and HTTP/1.1 all
 * usernet's own, the certificate verified against the CA. It prints the timeline (as
 * `deno task fetch -v` does) and the page, and exits 0.
 *
 * @module
 */
import { FetchTimeline } from "./_fetch_timeline.ts";
import { createFetch } from "../http/fetch.ts";
import { hostNetwork } from "../net/gateway/host_network.ts";
import { generateCertificateAuthority, issueCertificate } from "../tls/x509/generate.ts";

/** Where the demo writes, and whether in colour. */
export interface DemoOptions {
  /** Writes one line (default: stdout). */
  write?: (line: string) => void;
  /** ANSI colours (default: when stdout is a terminal and NO_COLOR is unset). */
  color?: boolean;
}

/** The page the demo's server returns: what it saw of the request. */
function page(request: Request, from: Deno.NetAddr, port: number): string {
  return [
    `Hello from Deno.serve on 127.0.0.1:${port}!`,
    ``,
    `Your request came from ${from.hostname}:${from.port}: the gateway's socket. usernet's TCP`,
    `connection from 10.0.2.15 ended at the in-process gateway, which spliced it onto an`,
    `ordinary socket to this server. The TLS session is end to end, though: usernet's TLS 1.3`,
    `client checked this server's certificate against the demo CA before sending a byte.`,
    ``,
    `You sent ${request.method} ${new URL(request.url).pathname} with`,
    ...[...request.headers].map(([name, value]) => `  ${name}: ${value}`),
    ``,
  ].join("\n");
}

/**
 * Runs the demo; resolves with the exit status.
 *
 * @example
 * ```ts ignore
 * const status = await runDemo({ write: (line) => console.log(line), color: false });
 * ```
 */
export async function runDemo(options: DemoOptions = {}): Promise<number> {
  const write = options.write ?? ((line: string) => console.log(line));
  const color = options.color ?? (Deno.stdout.isTerminal() && !Deno.noColor);
  const bold = (s: string) => color ? `\x1b[1m${s}\x1b[0m` : s;
  const dim = (s: string) => color ? `\x1b[2m${s}\x1b[0m` : s;
  const ms = (t: number) => `${t.toFixed(1)} ms`;

  write(bold("usernet demo: an HTTPS page fetched through a TCP/IP stack written in TypeScript"));
  write("");
  const t = performance.now();
  const ca = await generateCertificateAuthority({ commonName: "usernet demo CA" });
  const cert = await issueCertificate(ca, {
    dnsNames: ["localhost"],
    ipAddresses: ["127.0.0.1", "10.0.2.2"],
  });
  write(
    `  1. made a CA and a server certificate for localhost, 127.0.0.1 and 10.0.2.2 ${
      dim(`(tls/x509, ECDSA P-256, ${ms(performance.now() - t)})`)
    }`,
  );
  const server: Deno.HttpServer<Deno.NetAddr> = Deno.serve(
    { hostname: "127.0.0.1", port: 0, cert: cert.certPem, key: cert.keyPem, onListen() {} },
    (request, info): Response =>
      // A streamed body goes out with the head in one TCP segment; Deno's TLS server, which
      // cannot turn Nagle off, would send a fixed body after the head's ACK.
      new Response(new Blob([page(request, info.remoteAddr, server.addr.port)]).stream(), {
        headers: { "content-type": "text/plain; charset=utf-8" },
      }),
  );
  const port = server.addr.port;
  const url = `https://10.0.2.2:${port}/`;
  write(
    `  2. started an HTTPS server on 127.0.0.1:${port} ${dim("(Deno.serve, the kernel's TCP)")}`,
  );
  write(
    `  3. then brings up a usernet stack behind an in-process gateway ${
      dim("(a virtual LAN like QEMU's user network: 10.0.2.2 is the host's 127.0.0.1)")
    }`,
  );
  write(
    `  4. and fetches ${url} through it, verifying the certificate against the CA ${
      dim("(DHCP, ARP, IPv4, TCP, TLS 1.3, HTTP/1.1: all usernet's)")
    }`,
  );
  write("");
  write(bold("Timeline") + dim("  (ms since the stack started; * events, > sent, < received)"));

  const start = performance.now();
  const timeline = new FetchTimeline({ write, start, color });
  let net: Awaited<ReturnType<typeof hostNetwork>> | undefined;
  let status = 0;
  try {
    net = await hostNetwork({ dhcp: true, wrapNic: (nic) => timeline.wrapNic(nic) });
    const v4 = net.stack.ipv4!;
    timeline.note(`usernet is up: ${v4.address}/${v4.prefixLength}, MAC ${net.stack.mac}`);
    const fetch = createFetch({
      stack: net.stack,
      caCerts: ca.certPem,
      onEvent: (event) => timeline.onHttpEvent(event),
    });
    try {
      const response = await fetch(url);
      const text = await response.text();
      const total = performance.now() - start;
      const s = timeline.summary;
      write("");
      const wire = s.bodyBytes ?? text.length;
      const coding = response.headers.get("content-encoding");
      write(
        bold(`Page`) +
          dim(
            `  (${response.status} ${response.statusText}, ${
              new TextEncoder().encode(text).length
            } bytes${coding ? `, ${wire} on the wire in ${coding}` : ""})`,
          ),
      );
      for (const line of text.trimEnd().split("\n")) write(`  ${line}`);
      write("");
      const parts = [
        ["DHCP", s.dhcpMs],
        ["ARP", s.arpMs],
        ["TCP handshake", s.tcpMs],
        ["TLS handshake", s.tlsMs],
        ["response", s.waitMs],
        ["body", s.bodyMs],
      ].filter(([, v]) => v !== undefined).map(([k, v]) => `${k} ${ms(v as number)}`);
      write(`${bold("Done")} in ${ms(total)}: ${parts.join(" · ")}`);
      write(
        dim(
          `Next: deno task fetch https://example.com/ -v   (the same through the host's network)`,
        ),
      );
    } finally {
      fetch.close();
    }
  } catch (error) {
    const e = error as Error;
    write(`demo failed: ${e.name}: ${e.message}`);
    status = 1;
  } finally {
    await net?.close();
    await server.shutdown();
  }
  return status;
}

if (import.meta.main) {
  Deno.exit(await runDemo());
}
