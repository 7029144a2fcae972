import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import { sha256 } from "@noble/hashes/sha2.js";
import { AlertDescription } from "./alert.ts";
import { concat, randomBytes } from "./_bytes.ts";
import { type MemoryConnOptions, memoryConnPair } from "./_memory_conn.ts";
import { ScriptedServer, type ScriptedServerOptions } from "./_test_server.ts";
import {
  AlpnMismatch,
  BadRecordMac,
  HandshakeSignatureInvalid,
  IllegalParameter,
  MissingExtension,
  ProtocolVersionRefused,
  RecordOverflow,
  TlsAlertReceived,
  TlsClosed,
  TlsTruncated,
  UnexpectedMessage,
  UnsupportedExtension,
} from "./errors.ts";
import {
  encodeFinished,
  encodeServerHello,
  ExtensionType,
  HELLO_RETRY_REQUEST_RANDOM,
} from "./handshake_messages.ts";
import { ContentType } from "./record_layer.ts";
import { TicketCache } from "./ticket_cache.ts";
import {
  connect,
  type ConnectOptions,
  startTls,
  type StartTlsOptions,
  type TlsConnection,
} from "./tls_connection.ts";
import { CertificateExpired, HostnameMismatch, UnknownIssuer } from "./x509/errors.ts";
import {
  generateCertificateAuthority,
  type GeneratedCertificate,
  issueCertificate,
} from "./x509/generate.ts";

const ca = await generateCertificateAuthority({ commonName: "scripted test CA" });
const leaf = await issueCertificate(ca, { dnsNames: ["server.test"], ipAddresses: ["127.0.0.1"] });

interface Pair {
  client: TlsConnection;
  server: ScriptedServer;
}

/** Runs a handshake between the client and a scripted server over a memory pipe. */
async function connectScripted(
  serverOptions: Partial<ScriptedServerOptions> = {},
  clientOptions: Partial<ConnectOptions> = {},
  pipe: MemoryConnOptions = {},
): Promise<Pair> {
  const [c, s] = memoryConnPair(pipe);
  const server = new ScriptedServer(s, { chain: [leaf], ...serverOptions });
  const serverDone = server.handshake();
  const client = await connect(c, {
    serverName: "server.test",
    caCerts: ca.certPem,
    ...clientOptions,
  });
  await serverDone;
  return { client, server };
}

/** Expects the handshake to fail with `errorClass`; returns the alert the server received. */
async function expectHandshakeFailure(
  serverOptions: Partial<ScriptedServerOptions>,
  errorClass: new (...args: never[]) => Error,
  clientOptions: Partial<ConnectOptions> = {},
): Promise<number | undefined> {
  const [c, s] = memoryConnPair();
  const server = new ScriptedServer(s, { chain: [leaf], ...serverOptions });
  const serverDone = server.handshake().catch(() => {});
  await rejects(
    connect(c, { serverName: "server.test", caCerts: ca.certPem, ...clientOptions }),
    errorClass,
  );
  await serverDone;
  return server.alertReceived ?? (await server.readAlert()) ?? undefined;
}

async function readExactly(tls: TlsConnection, n: number): Promise<Uint8Array> {
  const out = new Uint8Array(n);
  let got = 0;
  while (got < n) {
    const r = await tls.read(out.subarray(got));
    if (r === null) throw new Error("EOF");
    got += r;
  }
  return out;
}

// --- Negotiation ---------------------------------------------------------------------------

Deno.test("scripted server: X25519MLKEM768 is negotiated by default, data flows both ways", async () => {
  const { client, server } = await connectScripted();
  equal(client.handshake.group, "X25519MLKEM768");
  equal(client.handshake.protocol, "TLSv1.3");
  equal(client.handshake.cipherSuite, "TLS_AES_128_GCM_SHA256");
  equal(client.handshake.helloRetryRequest, false);
  equal(client.handshake.verified, true);
  equal(client.handshake.peerCertificate?.subject, "CN=server.test,O=usernet");
  equal(client.handshake.peerCertificate?.pathLength, 2);
  await client.write(new TextEncoder().encode("ping"));
  deepEqual(await server.readData(4), new TextEncoder().encode("ping"));
  await server.sendData(new TextEncoder().encode("pong"));
  deepEqual(await readExactly(client, 4), new TextEncoder().encode("pong"));
  client.close();
});

Deno.test("scripted server: handshake.peerCertificates is the chain as sent, leaf first, with DER", async () => {
  const intermediate = await issueCertificate(ca, { isCa: true, commonName: "scripted sub CA" });
  const subLeaf = await issueCertificate(intermediate, { dnsNames: ["server.test"] });
  const stray = await generateCertificateAuthority({ commonName: "stray CA" });
  const { client } = await connectScripted({ chain: [subLeaf, intermediate, stray] });
  const h = client.handshake;
  deepEqual(h.peerCertificates?.map((c) => c.der), [subLeaf.der, intermediate.der, stray.der]);
  deepEqual(h.peerCertificates?.map((c) => c.subject.text), [
    "CN=server.test,O=usernet",
    "CN=scripted sub CA,O=usernet",
    "CN=stray CA,O=usernet",
  ]);
  equal(h.peerCertificates?.[1].basicConstraints?.ca, true);
  equal(h.peerCertificate?.issuer, "CN=scripted sub CA,O=usernet");
  equal(h.peerCertificate?.pathLength, 3); // leaf, sub CA, root (the stray CA is not on it)
  client.close();
});

Deno.test("scripted server: peerCertificates with insecureSkipVerify are still reported", async () => {
  const { client } = await connectScripted({}, { insecureSkipVerify: true, caCerts: undefined });
  equal(client.handshake.verified, false);
  deepEqual(client.handshake.peerCertificates?.map((c) => c.der), [leaf.der]);
  client.close();
});

for (
  const suite of [
    "TLS_AES_128_GCM_SHA256",
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
  ] as const
) {
  Deno.test(`scripted server: ${suite} carries 200 kB both ways`, async () => {
    const { client, server } = await connectScripted({}, { cipherSuites: [suite] });
    equal(client.handshake.cipherSuite, suite);
    const up = randomBytes(200_000);
    const [, received] = await Promise.all([client.write(up), server.readData(up.length)]);
    deepEqual(sha256(received), sha256(up));
    const down = randomBytes(200_000);
    const [, got] = await Promise.all([server.sendData(down), readExactly(client, down.length)]);
    deepEqual(sha256(got), sha256(down));
    client.close();
  });
}

for (const group of ["x25519", "secp256r1", "secp384r1"] as const) {
  Deno.test(`scripted server: ${group} key share`, async () => {
    const { client } = await connectScripted({}, { groups: [group], keyShareGroups: [group] });
    equal(client.handshake.group, group);
    client.close();
  });
}

for (const keyType of ["P-384", "Ed25519", "RSA"] as const) {
  Deno.test(`scripted server: ${keyType} server certificate and CertificateVerify`, async () => {
    const cert = await issueCertificate(ca, { dnsNames: ["server.test"], keyType });
    const { client } = await connectScripted({ chain: [cert] });
    equal(
      client.handshake.signatureScheme,
      {
        "P-384": "ecdsa_secp384r1_sha384",
        Ed25519: "ed25519",
        RSA: "rsa_pss_rsae_sha256",
      }[keyType],
    );
    client.close();
  });
}

Deno.test("scripted server: ALPN selection is reported", async () => {
  const { client } = await connectScripted({ alpn: "http/1.1" }, {
    alpnProtocols: ["h2", "http/1.1"],
  });
  equal(client.handshake.alpnProtocol, "http/1.1");
  client.close();
});

Deno.test("scripted server: ALPN protocol we did not offer is refused", async () => {
  const p = new TextEncoder().encode("h3");
  const alert = await expectHandshakeFailure(
    {
      extraEncryptedExtensions: [[
        ExtensionType.application_layer_protocol_negotiation,
        concat(new Uint8Array([0, 3, 2]), p),
      ]],
    },
    AlpnMismatch,
    { alpnProtocols: ["http/1.1"] },
  );
  equal(alert, AlertDescription.illegal_parameter);
});

// --- HelloRetryRequest -----------------------------------------------------------------------

Deno.test("scripted server: HelloRetryRequest to secp384r1", async () => {
  const { client, server } = await connectScripted({ groups: ["secp384r1"] });
  ok(server.helloRetry);
  equal(client.handshake.helloRetryRequest, true);
  equal(client.handshake.group, "secp384r1");
  client.close();
});

Deno.test("scripted server: X25519MLKEM768-only key share falls back to x25519 via HRR", async () => {
  const { client } = await connectScripted({ groups: ["x25519"] }, {
    keyShareGroups: ["X25519MLKEM768"],
  });
  equal(client.handshake.helloRetryRequest, true);
  equal(client.handshake.group, "x25519");
  client.close();
});

Deno.test("scripted server: HelloRetryRequest with a cookie is echoed", async () => {
  const { client } = await connectScripted({ cookie: new Uint8Array([9, 8, 7, 6]) });
  equal(client.handshake.helloRetryRequest, true);
  client.close();
});

/** A server that answers the ClientHello with hand-made records. */
async function rawServer(
  respond: (server: ScriptedServer, sessionId: Uint8Array) => Promise<void>,
  clientOptions: Partial<StartTlsOptions> = {},
): Promise<{ error: unknown; alert: number | null }> {
  const [c, s] = memoryConnPair();
  const server = new ScriptedServer(s, { chain: [leaf] });
  const script = (async () => {
    const ch = await server.readHandshake();
    const sessionId = ch.body.subarray(35, 35 + ch.body[34]);
    await respond(server, sessionId);
  })();
  let error: unknown;
  try {
    const tls = await startTls(c, {
      serverName: "server.test",
      caCerts: ca.certPem,
      ...clientOptions,
    });
    tls.close();
  } catch (e) {
    error = e;
  }
  await script;
  return { error, alert: await server.readAlert() };
}

function hrr(sessionId: Uint8Array, group: number): Uint8Array {
  return encodeServerHello({
    random: HELLO_RETRY_REQUEST_RANDOM,
    sessionIdEcho: sessionId,
    cipherSuite: 0x1301,
    extensions: [
      [ExtensionType.supported_versions, new Uint8Array([3, 4])],
      [ExtensionType.key_share, new Uint8Array([group >> 8, group & 0xff])],
    ],
  });
}

Deno.test("scripted server: HRR for a group we already sent a share for is illegal_parameter", async () => {
  const { error, alert } = await rawServer((s, id) =>
    s.send(ContentType.handshake, hrr(id, 0x001d), true)
  );
  ok(error instanceof IllegalParameter, String(error));
  equal(alert, AlertDescription.illegal_parameter);
});

Deno.test("scripted server: a second HelloRetryRequest is unexpected_message", async () => {
  const { error, alert } = await rawServer(async (s, id) => {
    await s.send(ContentType.handshake, hrr(id, 0x0017), true);
    await s.readHandshake();
    await s.send(ContentType.handshake, hrr(id, 0x0018), true);
  });
  ok(error instanceof UnexpectedMessage, String(error));
  equal(alert, AlertDescription.unexpected_message);
});

// --- Downgrade and version --------------------------------------------------------------------

Deno.test("scripted server: TLS 1.2 downgrade sentinel in ServerHello.random is refused", async () => {
  const alert = await expectHandshakeFailure({
    serverHello: (d) => d.random.set([0x44, 0x4f, 0x57, 0x4e, 0x47, 0x52, 0x44, 0x01], 24),
  }, ProtocolVersionRefused);
  equal(alert, AlertDescription.illegal_parameter);
});

Deno.test("scripted server: TLS 1.1 downgrade sentinel is refused too", async () => {
  const alert = await expectHandshakeFailure({
    serverHello: (d) => {
      d.random.set([0x44, 0x4f, 0x57, 0x4e, 0x47, 0x52, 0x44, 0x00], 24);
      d.extensions = d.extensions.filter(([t]) => t !== ExtensionType.supported_versions);
    },
  }, ProtocolVersionRefused);
  equal(alert, AlertDescription.illegal_parameter);
});

Deno.test("scripted server: a TLS 1.2 ServerHello is refused with protocol_version", async () => {
  const alert = await expectHandshakeFailure({
    serverHello: (d) => {
      d.extensions = d.extensions.filter(([t]) => t !== ExtensionType.supported_versions);
    },
  }, ProtocolVersionRefused);
  equal(alert, AlertDescription.protocol_version);
});

Deno.test("scripted server: missing key_share is missing_extension", async () => {
  const alert = await expectHandshakeFailure({
    serverHello: (d) => {
      d.extensions = d.extensions.filter(([t]) => t !== ExtensionType.key_share);
    },
  }, MissingExtension);
  equal(alert, AlertDescription.missing_extension);
});

Deno.test("scripted server: cipher suite we did not offer is illegal_parameter", async () => {
  const alert = await expectHandshakeFailure(
    { serverHello: (d) => void (d.cipherSuite = 0x1302) },
    IllegalParameter,
    { cipherSuites: ["TLS_AES_128_GCM_SHA256"] },
  );
  equal(alert, AlertDescription.illegal_parameter);
});

// --- Strict state machine ---------------------------------------------------------------------

Deno.test("scripted server: Finished before EncryptedExtensions is unexpected_message", async () => {
  const alert = await expectHandshakeFailure({
    afterServerHello: (s) => s.send(ContentType.handshake, encodeFinished(new Uint8Array(32))),
  }, UnexpectedMessage);
  equal(alert, AlertDescription.unexpected_message);
});

Deno.test("scripted server: application data during the handshake is unexpected_message", async () => {
  const alert = await expectHandshakeFailure({
    afterServerHello: (s) => s.send(ContentType.application_data, new Uint8Array([1, 2, 3])),
  }, UnexpectedMessage);
  equal(alert, AlertDescription.unexpected_message);
});

Deno.test("scripted server: a plaintext handshake record after ServerHello is unexpected_message", async () => {
  const alert = await expectHandshakeFailure({
    afterServerHello: (s) =>
      s.send(ContentType.handshake, encodeFinished(new Uint8Array(32)), true),
  }, UnexpectedMessage);
  equal(alert, AlertDescription.unexpected_message);
});

Deno.test("scripted server: handshake data spanning the key change is unexpected_message", async () => {
  const alert = await expectHandshakeFailure(
    { serverHelloRecordSuffix: new Uint8Array([8, 0, 0]) },
    UnexpectedMessage,
  );
  equal(alert, AlertDescription.unexpected_message);
});

Deno.test("scripted server: an extension we did not offer is unsupported_extension", async () => {
  const alert = await expectHandshakeFailure(
    { extraEncryptedExtensions: [[0x1234, new Uint8Array(0)]] },
    UnsupportedExtension,
  );
  equal(alert, AlertDescription.unsupported_extension);
});

Deno.test("scripted server: bad CertificateVerify is decrypt_error", async () => {
  const alert = await expectHandshakeFailure(
    { badCertificateVerify: true },
    HandshakeSignatureInvalid,
  );
  equal(alert, AlertDescription.decrypt_error);
});

Deno.test("scripted server: bad server Finished is decrypt_error", async () => {
  const alert = await expectHandshakeFailure({ badFinished: true }, HandshakeSignatureInvalid);
  equal(alert, AlertDescription.decrypt_error);
});

Deno.test("scripted server: a fatal alert from the server is reported by name", async () => {
  const [c, s] = memoryConnPair();
  const server = new ScriptedServer(s, { chain: [leaf] });
  const script = (async () => {
    await server.readHandshake();
    await server.send(ContentType.alert, new Uint8Array([2, 40]), true);
  })();
  const error = await startTls(c, { serverName: "server.test", caCerts: ca.certPem }).catch((e) =>
    e
  );
  await script;
  ok(error instanceof TlsAlertReceived);
  equal(error.alert, 40);
  equal(error.alertName, "handshake_failure");
});

Deno.test("scripted server: renegotiation-like ServerHello after the handshake is unexpected_message", async () => {
  const { client, server } = await connectScripted();
  await server.send(ContentType.handshake, hrr(new Uint8Array(32), 0x17));
  await rejects(client.read(new Uint8Array(10)), UnexpectedMessage);
  equal(await server.readAlert(), AlertDescription.unexpected_message);
});

Deno.test("scripted server: change_cipher_spec after the handshake is unexpected_message", async () => {
  const { client, server } = await connectScripted();
  await server.send(ContentType.change_cipher_spec, new Uint8Array([1]), true);
  await rejects(client.read(new Uint8Array(10)), UnexpectedMessage);
  equal(await server.readAlert(), AlertDescription.unexpected_message);
});

// --- Record layer -----------------------------------------------------------------------------

Deno.test("scripted server: handshake split into 7-byte records, delivered byte by byte", async () => {
  const { client, server } = await connectScripted({ handshakeFragment: 7, tickets: 1 }, {}, {
    maxRead: 1,
  });
  await server.sendData(new Uint8Array([42]));
  deepEqual(await readExactly(client, 1), new Uint8Array([42]));
  client.close();
});

Deno.test("scripted server: padded records are accepted", async () => {
  const { client, server } = await connectScripted({ padding: 300 });
  await server.sendData(new Uint8Array(20000).fill(7));
  deepEqual(await readExactly(client, 20000), new Uint8Array(20000).fill(7));
  client.close();
});

Deno.test("scripted server: a record over 2^14 + 256 bytes is record_overflow", async () => {
  const { client, server } = await connectScripted();
  const huge = new Uint8Array(5 + 16384 + 257);
  huge.set([23, 3, 3, (16384 + 257) >> 8, (16384 + 257) & 0xff]);
  await server.sendRaw(huge);
  await rejects(client.read(new Uint8Array(10)), RecordOverflow);
  equal(await server.readAlert(), AlertDescription.record_overflow);
});

Deno.test("scripted server: a corrupted record is bad_record_mac", async () => {
  const { client, server } = await connectScripted();
  await server.sendRaw(new Uint8Array([23, 3, 3, 0, 20, ...new Uint8Array(20)]));
  await rejects(client.read(new Uint8Array(10)), BadRecordMac);
  equal(await server.readAlert(), AlertDescription.bad_record_mac);
});

// --- Post-handshake ---------------------------------------------------------------------------

Deno.test("scripted server: KeyUpdate from the server (update requested) is answered", async () => {
  const { client, server } = await connectScripted();
  await server.sendKeyUpdate(true);
  await server.sendData(new TextEncoder().encode("after update"));
  deepEqual(await readExactly(client, 12), new TextEncoder().encode("after update"));
  await client.write(new TextEncoder().encode("reply"));
  deepEqual(await server.readData(5), new TextEncoder().encode("reply"));
  equal(server.keyUpdatesReceived, 1);
  client.close();
});

Deno.test("scripted server: client KeyUpdate requesting the peer's update", async () => {
  const { client, server } = await connectScripted();
  await client.keyUpdate(true);
  await client.write(new TextEncoder().encode("x"));
  deepEqual(await server.readData(1), new TextEncoder().encode("x"));
  equal(server.keyUpdatesReceived, 1);
  // The server answered with its own KeyUpdate: data after it must still decrypt.
  await server.sendData(new TextEncoder().encode("y"));
  deepEqual(await readExactly(client, 1), new TextEncoder().encode("y"));
  client.close();
});

Deno.test("scripted server: session ticket resumption (psk_dhe_ke) through sessionCache", async () => {
  const cache = new TicketCache();
  const first = await connectScripted({ tickets: 2 }, { sessionCache: cache });
  await first.server.sendData(new Uint8Array([1]));
  await readExactly(first.client, 1); // tickets arrive before this data
  equal(cache.size, 2);
  first.client.close();
  const second = await connectScripted({ acceptResumption: true }, { sessionCache: cache });
  ok(second.server.resumed);
  equal(second.client.handshake.resumed, true);
  equal(second.client.handshake.peerCertificate?.subject, "CN=server.test,O=usernet");
  // The resumed session reports the certificates of the original handshake.
  deepEqual(second.client.handshake.peerCertificates?.map((c) => c.der), [leaf.der]);
  equal(cache.size, 1); // tickets are single-use
  await second.client.write(new Uint8Array([5]));
  deepEqual(await second.server.readData(1), new Uint8Array([5]));
  second.client.close();
});

Deno.test("scripted server: ticketCache, the earlier name of sessionCache, still resumes", async () => {
  const cache = new TicketCache();
  const first = await connectScripted({ tickets: 1 }, { ticketCache: cache });
  await first.server.sendData(new Uint8Array([1]));
  await readExactly(first.client, 1);
  equal(cache.size, 1);
  first.client.close();
  const second = await connectScripted({ acceptResumption: true }, { ticketCache: cache });
  equal(second.client.handshake.resumed, true);
  second.client.close();
});

Deno.test("connect: sessionCache and ticketCache together are a TypeError naming both", async () => {
  const [c] = memoryConnPair();
  await rejects(
    connect(c, {
      serverName: "server.test",
      caCerts: ca.certPem,
      sessionCache: new TicketCache(),
      ticketCache: new TicketCache(),
    }),
    (e: Error) =>
      e instanceof TypeError && /sessionCache/.test(e.message) &&
      /ticketCache/.test(e.message),
  );
  c.close();
});

Deno.test("connect: startTls and StartTlsOptions are the earlier names of connect and ConnectOptions", async () => {
  equal(startTls, connect);
  const [c, s] = memoryConnPair();
  const server = new ScriptedServer(s, { chain: [leaf] });
  const serverDone = server.handshake();
  const options: StartTlsOptions = { serverName: "server.test", caCerts: ca.certPem };
  const client = await startTls(c, options);
  await serverDone;
  equal(client.handshake.verified, true);
  client.close();
});

Deno.test("scripted server: resumption with HRR recomputes the binder", async () => {
  const cache = new TicketCache();
  const first = await connectScripted({ tickets: 1 }, { ticketCache: cache });
  await first.server.sendData(new Uint8Array([1]));
  await readExactly(first.client, 1);
  first.client.close();
  const second = await connectScripted({ acceptResumption: true, groups: ["secp256r1"] }, {
    ticketCache: cache,
  });
  ok(second.server.resumed && second.server.helloRetry);
  equal(second.client.handshake.resumed, true);
  second.client.close();
});

Deno.test("scripted server: CertificateRequest is answered with an empty Certificate", async () => {
  const { client } = await connectScripted({ requestClientCertificate: true });
  equal(client.handshake.verified, true);
  client.close();
});

Deno.test("scripted server: close_notify both ways", async () => {
  const { client, server } = await connectScripted();
  await server.sendData(new Uint8Array([1, 2]));
  await server.sendCloseNotify();
  deepEqual(await readExactly(client, 2), new Uint8Array([1, 2]));
  equal(await client.read(new Uint8Array(10)), null);
  await client.closeWrite();
  equal(await server.readAlert(), AlertDescription.close_notify);
  client.close();
});

Deno.test("scripted server: use after close is TlsClosed, also for a pending read", async () => {
  const { client } = await connectScripted();
  const pending = client.read(new Uint8Array(10));
  client.close();
  await rejects(pending, TlsClosed);
  await rejects(client.write(new Uint8Array([1])), TlsClosed);
  await rejects(client.read(new Uint8Array(1)), TlsClosed);
});

Deno.test("startTls: a server name that is neither a DNS name nor an IP address is a TypeError", async () => {
  const [c] = memoryConnPair();
  await rejects(startTls(c, { serverName: "bad name" }), TypeError);
  await rejects(startTls(c, { serverName: "bücher.example" }), /A-label/);
  await rejects(startTls(c, { serverName: "" }), TypeError);
});

Deno.test("scripted server: EOF without close_notify is TlsTruncated", async () => {
  const { client, server } = await connectScripted();
  server.conn.close();
  await rejects(client.read(new Uint8Array(10)), TlsTruncated);
});

Deno.test("scripted server: readable and writable streams", async () => {
  const { client, server } = await connectScripted();
  const writer = client.writable.getWriter();
  await writer.write(new TextEncoder().encode("stream"));
  deepEqual(await server.readData(6), new TextEncoder().encode("stream"));
  await server.sendData(new TextEncoder().encode("abc"));
  await server.sendCloseNotify();
  const chunks: Uint8Array[] = [];
  for await (const chunk of client.readable) chunks.push(chunk);
  deepEqual(concat(...chunks), new TextEncoder().encode("abc"));
  await writer.close();
  equal(await server.readAlert(), AlertDescription.close_notify);
  client.close();
});

// --- Certificates through the handshake -------------------------------------------------------

async function certificateFailure(
  chain: GeneratedCertificate[],
  options: Partial<StartTlsOptions>,
  cls: new (...a: never[]) => Error,
) {
  return await expectHandshakeFailure({ chain }, cls, options);
}

Deno.test("scripted server: hostname mismatch is refused with bad_certificate", async () => {
  const alert = await certificateFailure([leaf], { serverName: "other.test" }, HostnameMismatch);
  equal(alert, AlertDescription.bad_certificate);
});

Deno.test("scripted server: unknown CA is refused with unknown_ca", async () => {
  const other = await generateCertificateAuthority();
  const alert = await certificateFailure([leaf], { caCerts: other.certPem }, UnknownIssuer);
  equal(alert, AlertDescription.unknown_ca);
});

Deno.test("scripted server: expired certificate is refused with certificate_expired", async () => {
  const alert = await certificateFailure([leaf], {
    now: () => new Date(Date.now() + 400 * 86400_000),
  }, CertificateExpired);
  equal(alert, AlertDescription.certificate_expired);
});

Deno.test("scripted server: insecureSkipVerify connects to an unknown CA but reports it", async () => {
  const other = await generateCertificateAuthority();
  const { client } = await connectScripted({}, {
    caCerts: other.certPem,
    insecureSkipVerify: true,
  });
  equal(client.handshake.verified, false);
  client.close();
});

Deno.test("scripted server: an IP address server name matches an IP subjectAltName, no SNI", async () => {
  const { client, server } = await connectScripted({}, { serverName: "127.0.0.1" });
  equal(server.clientHello.serverName, undefined);
  equal(client.handshake.verified, true);
  client.close();
});

Deno.test("scripted server: abort signal stops a stalled handshake", async () => {
  const [c] = memoryConnPair();
  const controller = new AbortController();
  const pending = startTls(c, {
    serverName: "server.test",
    caCerts: ca.certPem,
    signal: controller.signal,
  });
  controller.abort();
  await rejects(pending, (e: Error) => e.name === "AbortError");
});

Deno.test("scripted server: 4 MB download keeps SHA-256", async () => {
  const { client, server } = await connectScripted();
  const data = randomBytes(4 << 20);
  const [, got] = await Promise.all([server.sendData(data), readExactly(client, data.length)]);
  deepEqual(sha256(got), sha256(data));
  client.close();
});
