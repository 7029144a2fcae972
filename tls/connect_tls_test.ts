import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import { MemoryLink } from "../drivers/memory.ts";
import { Stack } from "../net/stack.ts";
import { ConnectionRefused } from "../net/errors.ts";
import { hostNetwork } from "../net/gateway/host_network.ts";
import { ScriptedServer } from "./_test_server.ts";
import { connectTls } from "./connect_tls.ts";
import { TlsConnection } from "./tls_connection.ts";
import { UnknownIssuer } from "./x509/errors.ts";
import { generateCertificateAuthority, issueCertificate } from "./x509/generate.ts";

const ca = await generateCertificateAuthority({ commonName: "connectTls test CA" });
const leaf = await issueCertificate(ca, { dnsNames: ["server.test"], ipAddresses: ["10.0.0.2"] });

/** Two stacks on a memory link: the client at 10.0.0.1, a scripted TLS server at 10.0.0.2. */
async function withLink(
  fn: (client: Stack, serverStack: Stack) => Promise<void>,
): Promise<void> {
  const [a, b] = MemoryLink.pair();
  const client = new Stack({ nic: a, address: "10.0.0.1/24" });
  const server = new Stack({ nic: b, address: "10.0.0.2/24" });
  try {
    await fn(client, server);
  } finally {
    await client.close();
    await server.close();
  }
}

Deno.test("connectTls: usernet TCP on a memory link, then TLS 1.3 to a scripted server", async () => {
  await withLink(async (clientStack, serverStack) => {
    const listener = serverStack.listen({ port: 443 });
    const serving = (async () => {
      const conn = await listener.accept();
      const server = new ScriptedServer(conn, { chain: [leaf] });
      await server.handshake();
      deepEqual(await server.readData(4), new TextEncoder().encode("ping"));
      await server.sendData(new TextEncoder().encode("pong"));
      await server.sendCloseNotify();
      return server;
    })();
    const tls = await connectTls(clientStack, {
      hostname: "10.0.0.2",
      port: 443,
      serverName: "server.test",
      caCerts: ca.certPem,
    });
    ok(tls instanceof TlsConnection);
    equal(tls.handshake.serverName, "server.test");
    await tls.write(new TextEncoder().encode("ping"));
    const buf = new Uint8Array(16);
    equal(await tls.read(buf), 4);
    equal(new TextDecoder().decode(buf.subarray(0, 4)), "pong");
    equal(await tls.read(buf), null);
    const server = await serving;
    equal(server.clientHello.serverName, "server.test");
    tls.close();
    listener.close();
  });
});

Deno.test("connectTls: serverName defaults to the hostname (an IP: matched against IP SANs, no SNI)", async () => {
  await withLink(async (clientStack, serverStack) => {
    const listener = serverStack.listen({ port: 8443 });
    const serving = (async () => {
      const server = new ScriptedServer(await listener.accept(), { chain: [leaf] });
      await server.handshake();
      return server;
    })();
    const tls = await connectTls(clientStack, {
      hostname: "10.0.0.2",
      port: 8443,
      caCerts: ca.certPem,
    });
    equal(tls.handshake.serverName, "10.0.0.2");
    equal(tls.handshake.verified, true);
    const server = await serving;
    equal(server.clientHello.serverName, undefined);
    tls.close();
    listener.close();
  });
});

Deno.test("connectTls: a closed port is the stack's ConnectionRefused", async () => {
  await withLink(async (clientStack) => {
    await rejects(
      connectTls(clientStack, { hostname: "10.0.0.2", port: 444, caCerts: ca.certPem }),
      ConnectionRefused,
    );
  });
});

Deno.test("connectTls: a failed handshake closes the TCP connection", async () => {
  await withLink(async (clientStack, serverStack) => {
    const listener = serverStack.listen({ port: 443 });
    const serving = (async () => {
      const conn = await listener.accept();
      const server = new ScriptedServer(conn, { chain: [leaf] });
      await server.handshake().catch(() => {});
      // The client refused the certificate: it sent its alert, then closed TCP (EOF here).
      const rest = new Uint8Array(1024);
      while ((await conn.read(rest).catch(() => null)) !== null) { /* drain */ }
      conn.close();
      return server;
    })();
    const other = await generateCertificateAuthority({ commonName: "someone else" });
    await rejects(
      connectTls(clientStack, {
        hostname: "10.0.0.2",
        port: 443,
        serverName: "server.test",
        caCerts: other.certPem,
      }),
      UnknownIssuer,
    );
    const server = await serving;
    equal(server.alertReceived, 48); // unknown_ca
    listener.close();
  });
});

Deno.test("connectTls: an aborted signal rejects before any TCP is opened", async () => {
  await withLink(async (clientStack) => {
    const controller = new AbortController();
    controller.abort(new Error("not today"));
    await rejects(
      connectTls(clientStack, {
        hostname: "10.0.0.2",
        port: 443,
        caCerts: ca.certPem,
        signal: controller.signal,
      }),
      /not today/,
    );
    deepEqual(clientStack.tcpConnections(), []);
  });
});

Deno.test("connectTls: through the embedded gateway (10.0.2.2) to Deno.listenTls on the host", async () => {
  const localhost = await issueCertificate(ca, { dnsNames: ["localhost"] });
  const listener = Deno.listenTls({
    hostname: "127.0.0.1",
    port: 0,
    cert: localhost.certPem,
    key: localhost.keyPem,
  });
  const serving = (async () => {
    const conn = await listener.accept();
    const buf = new Uint8Array(64);
    const n = await conn.read(buf);
    await conn.write(buf.subarray(0, n ?? 0));
    conn.close();
  })();
  const net = await hostNetwork();
  try {
    const tls = await connectTls(net.stack, {
      hostname: "10.0.2.2",
      port: listener.addr.port,
      serverName: "localhost",
      caCerts: ca.certPem,
    });
    await tls.write(new TextEncoder().encode("echo me"));
    const buf = new Uint8Array(64);
    const n = await tls.read(buf);
    equal(new TextDecoder().decode(buf.subarray(0, n!)), "echo me");
    tls.close();
    await serving;
    equal(net.gateway.stats().tcpAccepted, 1);
  } finally {
    listener.close();
    await net.close();
  }
});
