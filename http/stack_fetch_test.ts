/**
 * `createFetch({ stack })`: HTTPS through a usernet stack behind the embedded gateway to a
 * `Deno.serve` TLS server on 127.0.0.1, with a CA made by the test; certificate failures are
 * typed; the TLS layer alone over the kernel's TCP; idle TLS connections let the process exit.
 */
import assert from "node:assert/strict";
import { createFetch } from "./fetch.ts";
import { HttpTimeout, TlsFailed, TlsNotConfigured } from "./errors.ts";
import type { HttpEvent, TlsDoneEvent } from "./events.ts";
import { formatEvent } from "./events.ts";
import { type FetchStack, stackConnector, usernetTls } from "./stack_fetch.ts";
import { hostNetwork } from "../net/gateway/host_network.ts";
import { generateCertificateAuthority, issueCertificate } from "../tls/x509/generate.ts";
import { HostnameMismatch, UnknownIssuer } from "../tls/x509/errors.ts";
import { TicketCache } from "../tls/ticket_cache.ts";
import type { Conn } from "../net/conn.ts";

const ca = await generateCertificateAuthority({ commonName: "stack_fetch test CA" });
const otherCa = await generateCertificateAuthority({ commonName: "another CA" });
const serverCert = await issueCertificate(ca, {
  dnsNames: ["localhost"],
  ipAddresses: ["127.0.0.1", "10.0.2.2"],
});
const localhostOnly = await issueCertificate(ca, { dnsNames: ["localhost"] });

/** A TLS server on 127.0.0.1 answering with the path and the peer's address. */
function serveTls(cert = serverCert) {
  return Deno.serve(
    { hostname: "127.0.0.1", port: 0, cert: cert.certPem, key: cert.keyPem, onListen() {} },
    (request, info) =>
      new Response(`${new URL(request.url).pathname} from ${info.remoteAddr.hostname}\n`),
  );
}

async function withGateway(fn: (net: Awaited<ReturnType<typeof hostNetwork>>) => Promise<void>) {
  const net = await hostNetwork({ dhcp: true });
  try {
    await fn(net);
  } finally {
    await net.close();
  }
}

Deno.test("createFetch({ stack }): https through usernet and the gateway, verified, kept alive", async () => {
  const server = serveTls();
  try {
    await withGateway(async (net) => {
      const events: HttpEvent[] = [];
      const fetch = createFetch({
        stack: net.stack,
        caCerts: ca.certPem,
        onEvent: (e) => events.push(e),
      });
      const url = `https://10.0.2.2:${server.addr.port}`;
      const first = await fetch(`${url}/one`);
      assert.equal(first.status, 200);
      assert.equal(await first.text(), "/one from 127.0.0.1\n");
      assert.equal(await (await fetch(`${url}/two`)).text(), "/two from 127.0.0.1\n");
      const tls = events.filter((e): e is TlsDoneEvent => e.type === "tls-done");
      assert.equal(tls.length, 1, "one handshake: the second request reused the connection");
      const h = tls[0].handshake!;
      assert.equal(h.protocol, "TLSv1.3");
      assert.equal(h.alpnProtocol, "http/1.1");
      assert.equal(h.verified, true);
      assert.equal(h.serverName, "10.0.2.2");
      assert.equal(h.peerCertificate?.issuer, "CN=stack_fetch test CA,O=usernet");
      assert.ok(h.timeline.length >= 5);
      assert.equal(events.filter((e) => e.type === "reuse").length, 1);
      assert.match(
        formatEvent(tls[0]),
        /TLS with 10\.0\.2\.2 in [\d.]+ ms: TLSv1\.3 TLS_\w+ \w+ ALPN http\/1\.1$/,
      );
      // The stack's TCP carried it: the gateway spliced one connection.
      assert.equal(net.gateway.stats().tcpAccepted, 1);
      fetch.close();
    });
  } finally {
    await server.shutdown();
  }
});

Deno.test("createFetch({ stack }): a CA that did not issue the certificate is TlsFailed(UnknownIssuer)", async () => {
  const server = serveTls();
  try {
    await withGateway(async (net) => {
      const fetch = createFetch({ stack: net.stack, caCerts: otherCa.certPem });
      await assert.rejects(
        fetch(`https://10.0.2.2:${server.addr.port}/`),
        (e) => e instanceof TlsFailed && e.cause instanceof UnknownIssuer,
      );
      fetch.close();
    });
  } finally {
    await server.shutdown();
  }
});

Deno.test("createFetch({ stack }): a name the certificate does not cover is TlsFailed(HostnameMismatch); -k style skip works", async () => {
  const server = serveTls(localhostOnly);
  try {
    await withGateway(async (net) => {
      const url = `https://10.0.2.2:${server.addr.port}/x`;
      const strict = createFetch({ stack: net.stack, caCerts: ca.certPem });
      await assert.rejects(strict(url), (e) => {
        assert.ok(e instanceof TlsFailed);
        assert.ok(e.cause instanceof HostnameMismatch);
        assert.equal(e.cause.hostname, "10.0.2.2");
        assert.deepEqual(e.cause.names, ["localhost"]);
        return true;
      });
      strict.close();
      const events: HttpEvent[] = [];
      const insecure = createFetch({
        stack: net.stack,
        insecureSkipVerify: true,
        onEvent: (e) => events.push(e),
      });
      assert.equal(await (await insecure(url)).text(), "/x from 127.0.0.1\n");
      const done = events.find((e): e is TlsDoneEvent => e.type === "tls-done");
      assert.equal(done?.handshake?.verified, false);
      insecure.close();
    });
  } finally {
    await server.shutdown();
  }
});

Deno.test("createFetch: TLS settings with connect (kernel TCP) make usernet's TLS layer; tickets resume", async () => {
  const server = serveTls();
  try {
    const events: HttpEvent[] = [];
    const fetch = createFetch({
      connect: (hostname, port) => Deno.connect({ hostname, port }),
      caCerts: ca.certPem,
      ticketCache: new TicketCache(),
      maxIdlePerOrigin: 0, // every request on a new connection
      onEvent: (e) => events.push(e),
    });
    for (let i = 0; i < 3; i++) {
      assert.equal(
        await (await fetch(`https://localhost:${server.addr.port}/r`)).text(),
        "/r from 127.0.0.1\n",
      );
    }
    const handshakes = events.filter((e): e is TlsDoneEvent => e.type === "tls-done")
      .map((e) => e.handshake!);
    assert.equal(handshakes.length, 3);
    assert.equal(handshakes[0].resumed, false);
    assert.ok(handshakes.slice(1).some((h) => h.resumed), "a later connection resumed");
    assert.ok(handshakes.every((h) => h.peerCertificate?.subject === "CN=localhost,O=usernet"));
    fetch.close();
  } finally {
    await server.shutdown();
  }
});

Deno.test("createFetch: https with connect and no TLS settings is still TlsNotConfigured", async () => {
  const fetch = createFetch({ connect: () => Promise.reject(new Error("not reached")) });
  await assert.rejects(fetch("https://a.test/"), TlsNotConfigured);
  fetch.close();
});

Deno.test("createFetch: exactly one of connect and stack", () => {
  const stack: FetchStack = { connect: () => Promise.reject(new Error("no")) };
  assert.throws(() => createFetch({}), TypeError);
  assert.throws(() => createFetch({ stack, connect: () => stack.connect({} as never) }), TypeError);
});

Deno.test("createFetch({ stack }): a connect timeout aborts the stack's attempt", async () => {
  let seen: AbortSignal | undefined;
  const stack: FetchStack = {
    connect: ({ signal }) => {
      seen = signal;
      return new Promise<Conn>(() => {}); // a SYN that is never answered
    },
  };
  const fetch = createFetch({ stack, connectTimeoutMs: 30 });
  await assert.rejects(fetch("http://10.9.9.9/"), (e) => e instanceof HttpTimeout);
  assert.equal(seen?.aborted, true);
  fetch.close();
});

Deno.test("stackConnector turns Nagle off; usernetTls passes the ALPN list", async () => {
  let noDelay: boolean | undefined;
  const fake = {
    read: () => Promise.resolve(null),
    write: (p: Uint8Array) => Promise.resolve(p.length),
    closeWrite: () => Promise.resolve(),
    close: () => {},
    setNoDelay: (on: boolean) => noDelay = on,
  };
  const connect = stackConnector({ connect: () => Promise.resolve(fake) });
  assert.equal(await connect("a", 1), fake);
  assert.equal(noDelay, true);
  // A server that closes at once: the handshake fails with the TLS layer's error.
  await assert.rejects(usernetTls({ caCerts: ca.certPem })(fake, "a.test", ["http/1.1"]));
});

Deno.test("an idle pooled TLS connection over Deno.connect lets the process exit", async () => {
  const server = serveTls();
  try {
    const script = `
      import { createFetch } from "${new URL("./fetch.ts", import.meta.url).href}";
      const fetch = createFetch({
        connect: (hostname, port) => Deno.connect({ hostname, port }),
        caCerts: ${JSON.stringify(ca.certPem)},
      });
      const response = await fetch("https://127.0.0.1:${server.addr.port}/idle");
      console.log(await response.text());
      // No fetch.close(): the idle connection's pending read must not hold the process.
    `;
    const started = performance.now();
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["eval", "--config", new URL("../deno.json", import.meta.url).pathname, script],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, stderr);
    assert.equal(new TextDecoder().decode(out.stdout), "/idle from 127.0.0.1\n\n");
    assert.ok(performance.now() - started < 20_000, "exited without waiting for the idle timeout");
  } finally {
    await server.shutdown();
  }
});
