// RFC 8448 ("Example Handshake Traces for TLS 1.3") replayed through the sans-IO client
// handshake and the record layer, applied the way TlsConnection applies them, with the trace's
// fixed randomness: the client's random and x25519 / P-256 private keys come from the RFC.
//
// Our ClientHello has other extensions than the RFC's, so the core is given the RFC's
// ClientHello bytes to send and hash in its place (ClientHandshakeTestHooks.clientHellos; the
// core checks their key shares are the ones it generated from that randomness). From there on
// everything is the client's own work: the server's records are fed exactly as the RFC prints
// them, and every record the client emits is compared with the RFC's, byte for byte.
//
// The trace's server certificate has a 1024-bit RSA key, which chain validation refuses
// (asserted below); the replay therefore skips chain validation as `insecureSkipVerify` does,
// while the CertificateVerify signature over the transcript is still verified with that key.
import { deepEqual, equal, rejects } from "node:assert/strict";
import { concat, fromHex } from "./_bytes.ts";
import { AlertDescription } from "./alert.ts";
import { type CipherSuite, cipherSuite, type CipherSuiteName } from "./cipher_suite.ts";
import {
  ClientHandshake,
  type ClientHandshakeConfig,
  type ClientHandshakeTestHooks,
  type HandshakeAction,
  type PeerCertificateResult,
} from "./client_handshake.ts";
import { HandshakeSignatureInvalid } from "./errors.ts";
import type { TlsHandshakeInfo } from "./handshake_info.ts";
import { HandshakeReassembler } from "./handshake_reassembler.ts";
import { generateKeyShare } from "./key_exchange.ts";
import { hkdfExpandLabel } from "./key_schedule.ts";
import { RecordProtection } from "./record_cipher.ts";
import {
  alertContent,
  ContentType,
  type OpenedRecord,
  openRecord,
  RecordReader,
  sealHandshakeSend,
  sealRecords,
} from "./record_layer.ts";
import { TicketCache } from "./ticket_cache.ts";
import { parseCertificate } from "./x509/certificate.ts";
import { WeakAlgorithm } from "./x509/errors.ts";
import { TrustStore } from "./x509/trust_store.ts";
import { verifyServerChain } from "./x509/verify_chain.ts";
import { rfc8448 } from "./testdata/rfc8448.ts";
import * as v from "./testdata/rfc8448_traces.ts";

/** A change_cipher_spec record (RFC 8446 §5, Appendix D.4), which the traces do not send. */
const CHANGE_CIPHER_SPEC_RECORD = new Uint8Array([20, 3, 3, 0, 1, 1]);
/** The wall clock the replay runs at: within the certificate's validity, not that it matters. */
const NOW = Date.UTC(2020, 0, 1);
const suites = (...names: CipherSuiteName[]): CipherSuite[] => names.map((n) => cipherSuite(n)!);

/**
 * Hands out the given byte strings in order, each to a request of exactly its length: the
 * ClientHello random, legacy_session_id, then each key share's secret key.
 */
function fixedRandom(...values: Uint8Array[]): (n: number) => Uint8Array {
  const queue = [...values];
  return (n) => {
    const next = queue.shift();
    if (!next) throw new Error(`random(${n}) asked for more than the trace provides`);
    equal(next.length, n, `random(${n}) where the trace has ${next.length} bytes next`);
    return next.slice();
  };
}

/** Chain validation skipped, as with `insecureSkipVerify`; the certificates seen are kept. */
function skipChainValidation(seen: Uint8Array[][]) {
  return (certificates: Uint8Array[]): Promise<PeerCertificateResult> => {
    seen.push(certificates);
    const leaf = parseCertificate(certificates[0]);
    return Promise.resolve({ leaf, certificates: [leaf], pathLength: 0, verified: false });
  };
}

/** What the client did with one input: the bytes it wrote and the records it opened. */
interface Step {
  sent: Uint8Array;
  opened: OpenedRecord[];
}

/**
 * The client end of the wire: the handshake core, the record reader, reassembler and
 * protection, with actions applied in order as TlsConnection applies them (sends sealed under
 * the write keys current at that point, change_cipher_spec always in the clear).
 */
class TraceClient {
  readonly hs: ClientHandshake;
  readonly readSecrets: Uint8Array[] = [];
  readonly writeSecrets: Uint8Array[] = [];
  info: TlsHandshakeInfo | undefined;
  #read: RecordProtection | undefined;
  #write: RecordProtection | undefined;
  readonly #reader = new RecordReader();
  readonly #reassembler = new HandshakeReassembler();

  constructor(config: ClientHandshakeConfig, hooks: ClientHandshakeTestHooks) {
    this.hs = new ClientHandshake(config, hooks);
  }

  async start(): Promise<Uint8Array> {
    return await this.#apply(await this.hs.start());
  }

  /** Feeds wire bytes from the server; handshake messages go to the core. */
  async receive(wire: Uint8Array): Promise<Step> {
    const space = this.#reader.space();
    space.set(wire);
    this.#reader.commit(wire.length);
    const sent: Uint8Array[] = [];
    const opened: OpenedRecord[] = [];
    for (let r = this.#reader.next(); r; r = this.#reader.next()) {
      const record = await openRecord(this.#read, r);
      if (record.type !== ContentType.handshake) {
        opened.push({ type: record.type, content: record.content.slice() });
        continue;
      }
      this.#reassembler.push(record.content);
      for (let m = this.#reassembler.next(); m; m = this.#reassembler.next()) {
        sent.push(await this.#apply(await this.hs.handle(m)));
      }
    }
    return { sent: concat(...sent), opened };
  }

  /** Sends data of a content type under the current write keys. */
  send(contentType: number, data: Uint8Array): Promise<Uint8Array> {
    return sealRecords(this.#write, contentType, data);
  }

  async #apply(actions: HandshakeAction[]): Promise<Uint8Array> {
    const out: Uint8Array[] = [];
    for (const a of actions) {
      switch (a.kind) {
        case "send":
          out.push(await sealHandshakeSend(this.#write, a));
          break;
        case "installReadKeys":
          this.readSecrets.push(a.secret);
          this.#read = await RecordProtection.fromSecret(this.hs.suite!, a.secret);
          break;
        case "installWriteKeys":
          this.writeSecrets.push(a.secret);
          this.#write = await RecordProtection.fromSecret(this.hs.suite!, a.secret);
          break;
        case "connected":
          this.info = a.info;
          break;
      }
    }
    return concat(...out);
  }
}

/** Traffic key and IV of a TLS_AES_128_GCM_SHA256 traffic secret (RFC 8446 §7.3). */
function trafficKeys(secret: Uint8Array): { key: Uint8Array; iv: Uint8Array } {
  const sha256 = cipherSuite("TLS_AES_128_GCM_SHA256")!.hash;
  return {
    key: hkdfExpandLabel(sha256, secret, "key", new Uint8Array(0), 16),
    iv: hkdfExpandLabel(sha256, secret, "iv", new Uint8Array(0), 12),
  };
}

// ---------------------------------------------------------------------------------------------
// §3 Simple 1-RTT Handshake

/**
 * A client as the RFC 8448 §3 and §5 traces have it: its ClientHello offers AES-128-GCM,
 * ChaCha20, AES-256-GCM and an x25519 share, and the RFC's `clientHellos` are sent in its
 * place. Its randomness is the trace's `clientRandom`, then a legacy_session_id (ours would be
 * these zeros; the RFC's ClientHellos carry an empty one, which the client adopts with them),
 * then `privateKeys` in the order the key shares are generated.
 */
function traceClient(options: {
  clientRandom: Uint8Array;
  privateKeys: Uint8Array[];
  clientHellos: Uint8Array[];
  cache?: TicketCache;
}) {
  const seen: Uint8Array[][] = [];
  const config: ClientHandshakeConfig = {
    serverName: "server",
    sendServerName: true,
    alpnProtocols: [],
    cipherSuites: suites(
      "TLS_AES_128_GCM_SHA256",
      "TLS_CHACHA20_POLY1305_SHA256",
      "TLS_AES_256_GCM_SHA384",
    ),
    groups: ["x25519", "secp256r1", "secp384r1"],
    keyShareGroups: ["x25519"],
    verifyCertificates: skipChainValidation(seen),
    ticketCache: options.cache,
    now: () => NOW,
    random: fixedRandom(options.clientRandom, new Uint8Array(32), ...options.privateKeys),
  };
  return { client: new TraceClient(config, { clientHellos: options.clientHellos }), seen };
}

/** The client of RFC 8448 §3. */
function simpleClient(options: { cache?: TicketCache; privateKey?: Uint8Array } = {}) {
  return traceClient({
    clientRandom: v.SIMPLE_CLIENT_RANDOM,
    privateKeys: [options.privateKey ?? v.SIMPLE_CLIENT_PRIVATE_KEY],
    clientHellos: [v.SIMPLE_CLIENT_HELLO],
    cache: options.cache,
  });
}

Deno.test("RFC 8448 §3: the simple 1-RTT handshake, byte for byte", async (t) => {
  const cache = new TicketCache();
  const { client, seen } = simpleClient({ cache });
  const hs = client.hs;

  await t.step("START → WAIT_SH: the ClientHello record is the RFC's (201 octets)", async () => {
    // The core built its own ClientHello with an x25519 share from the RFC's private key and
    // accepted the RFC's in its place only because that share is the same.
    deepEqual(await client.start(), v.SIMPLE_CLIENT_HELLO_RECORD);
    equal(hs.state, "WAIT_SH");
  });

  await t.step("WAIT_SH → WAIT_EE: the ServerHello gives the RFC's handshake secrets", async () => {
    const { sent } = await client.receive(v.SIMPLE_SERVER_HELLO_RECORD);
    equal(sent.length, 0);
    equal(hs.state, "WAIT_EE");
    equal(hs.suite?.name, "TLS_AES_128_GCM_SHA256");
    deepEqual(client.readSecrets, [v.SIMPLE_SERVER_HANDSHAKE_TRAFFIC_SECRET]);
    deepEqual(client.writeSecrets, [v.SIMPLE_CLIENT_HANDSHAKE_TRAFFIC_SECRET]);
    deepEqual(trafficKeys(client.readSecrets[0]), {
      key: v.SIMPLE_SERVER_HANDSHAKE_KEY,
      iv: v.SIMPLE_SERVER_HANDSHAKE_IV,
    });
    deepEqual(trafficKeys(client.writeSecrets[0]), {
      key: v.SIMPLE_CLIENT_HANDSHAKE_KEY,
      iv: v.SIMPLE_CLIENT_HANDSHAKE_IV,
    });
  });

  await t.step(
    "WAIT_EE → CONNECTED: the server flight (679 octets) is answered with the RFC's Finished record",
    async () => {
      const { sent, opened } = await client.receive(v.SIMPLE_SERVER_FLIGHT_RECORD);
      deepEqual(opened, []);
      // change_cipher_spec first (middlebox compatibility, RFC 8446 Appendix D.4; the trace's
      // client does not send one), then the Finished record exactly as the RFC prints it.
      deepEqual(sent, concat(CHANGE_CIPHER_SPEC_RECORD, v.SIMPLE_CLIENT_FINISHED_RECORD));
      equal(hs.state, "CONNECTED");
      deepEqual(seen, [[v.SIMPLE_SERVER_CERTIFICATE]]);
      deepEqual(client.readSecrets.slice(1), [v.SIMPLE_SERVER_APPLICATION_TRAFFIC_SECRET]);
      deepEqual(client.writeSecrets.slice(1), [v.SIMPLE_CLIENT_APPLICATION_TRAFFIC_SECRET]);
      deepEqual(trafficKeys(client.readSecrets[1]), {
        key: v.SIMPLE_SERVER_APPLICATION_KEY,
        iv: v.SIMPLE_SERVER_APPLICATION_IV,
      });
      deepEqual(trafficKeys(client.writeSecrets[1]), {
        key: v.SIMPLE_CLIENT_APPLICATION_KEY,
        iv: v.SIMPLE_CLIENT_APPLICATION_IV,
      });
      const info = client.info!;
      equal(info.cipherSuite, "TLS_AES_128_GCM_SHA256");
      equal(info.group, "x25519");
      equal(info.signatureScheme, "rsa_pss_rsae_sha256"); // verified over the transcript
      equal(info.helloRetryRequest, false);
      equal(info.resumed, false);
      equal(info.verified, false);
      equal(info.peerCertificate?.publicKey, "RSA 1024");
    },
  );

  await t.step(
    "CONNECTED: the NewSessionTicket record gives the RFC's resumption PSK",
    async () => {
      const { sent, opened } = await client.receive(v.SIMPLE_NEW_SESSION_TICKET_RECORD);
      equal(sent.length, 0);
      deepEqual(opened, []);
      equal(cache.size, 1);
      const ticket = cache.take("server", NOW)!;
      deepEqual(ticket.psk, v.SIMPLE_RESUMPTION_PSK);
      // NewSessionTicket (RFC 8446 §4.6.1): lifetime 30 s, age_add fad6aac5, nonce 00 00,
      // then the 178-octet ticket.
      equal(ticket.lifetimeMs, 30_000);
      equal(ticket.ageAdd, 0xfad6aac5);
      deepEqual(ticket.ticket, v.SIMPLE_NEW_SESSION_TICKET.subarray(17, 17 + 0xb2));
      equal(ticket.cipherSuite, "TLS_AES_128_GCM_SHA256");
    },
  );

  await t.step("CONNECTED: the client's application data record is the RFC's", async () => {
    const wire = await client.send(ContentType.application_data, v.SIMPLE_APPLICATION_PAYLOAD);
    deepEqual(wire, v.SIMPLE_CLIENT_APPLICATION_RECORD);
  });

  await t.step("CONNECTED: the server's application data record opens to the echo", async () => {
    const { sent, opened } = await client.receive(v.SIMPLE_SERVER_APPLICATION_RECORD);
    equal(sent.length, 0);
    deepEqual(opened, [{
      type: ContentType.application_data,
      content: v.SIMPLE_APPLICATION_PAYLOAD,
    }]);
  });

  await t.step("closing: close_notify both ways, the client's record the RFC's", async () => {
    const wire = await client.send(
      ContentType.alert,
      alertContent(AlertDescription.close_notify),
    );
    deepEqual(wire, v.SIMPLE_CLIENT_ALERT_RECORD);
    const { opened } = await client.receive(v.SIMPLE_SERVER_ALERT_RECORD);
    deepEqual(opened, [{ type: ContentType.alert, content: new Uint8Array([1, 0]) }]);
  });
});

Deno.test("RFC 8448 §3: the trace's 1024-bit RSA certificate is WeakAlgorithm to chain validation", async () => {
  // Why the replay skips chain validation: even as its own trust anchor, at a time within
  // its validity, the certificate is refused for its key size (RFC 8446 leaves the policy to
  // us; see MIN_RSA_BITS).
  const cert = parseCertificate(v.SIMPLE_SERVER_CERTIFICATE);
  const trustStore = new TrustStore();
  trustStore.add(cert);
  await rejects(
    verifyServerChain([v.SIMPLE_SERVER_CERTIFICATE], { trustStore, now: new Date(NOW) }),
    (e: Error) => e instanceof WeakAlgorithm && /1024/.test(e.message),
  );
});

Deno.test("RFC 8448 §3: WAIT_CV: a CertificateVerify with one signature bit flipped is refused", async () => {
  // The same trace up to the Certificate, messages fed to the core directly: the replay's
  // CertificateVerify really is verified with the certificate's key.
  const { client } = simpleClient();
  await client.start();
  await client.receive(v.SIMPLE_SERVER_HELLO_RECORD);
  const message = (hex: string) => {
    const raw = fromHex(hex);
    return { type: raw[0], body: raw.subarray(4), raw };
  };
  deepEqual(await client.hs.handle(message(rfc8448.encryptedExtensions)), []);
  deepEqual(await client.hs.handle(message(rfc8448.certificate)), []);
  equal(client.hs.state, "WAIT_CV");
  const cv = message(rfc8448.certificateVerify);
  cv.raw[cv.raw.length - 1] ^= 1;
  await rejects(client.hs.handle(cv), HandshakeSignatureInvalid);
});

Deno.test("test hook: a replacement ClientHello whose key share the client did not generate is refused", async () => {
  const other = new Uint8Array(32).fill(7);
  const { client } = simpleClient({ privateKey: other });
  await rejects(client.start(), TypeError);
});

// ---------------------------------------------------------------------------------------------
// §5 HelloRetryRequest

Deno.test("RFC 8448 §5: HelloRetryRequest to secp256r1 with a cookie, byte for byte", async (t) => {
  const { client, seen } = traceClient({
    clientRandom: v.HRR_CLIENT_RANDOM,
    privateKeys: [
      v.HRR_CLIENT_X25519_PRIVATE_KEY,
      v.HRR_CLIENT_P256_PRIVATE_KEY, // drawn when the HelloRetryRequest asks for secp256r1
    ],
    clientHellos: [v.HRR_CLIENT_HELLO_1, v.HRR_CLIENT_HELLO_2],
  });
  const hs = client.hs;

  await t.step("START → WAIT_SH: the first ClientHello record is the RFC's", async () => {
    deepEqual(await client.start(), v.HRR_CLIENT_HELLO_1_RECORD);
  });

  await t.step(
    "WAIT_SH → WAIT_SH: the HelloRetryRequest is answered with the RFC's second ClientHello",
    async () => {
      const { sent } = await client.receive(v.HRR_HELLO_RETRY_REQUEST_RECORD);
      // change_cipher_spec (RFC 8446 Appendix D.4), then the second ClientHello with a
      // P-256 share from the RFC's private key (the core checks it is the one it generated),
      // the cookie echoed, record version 0x0303.
      deepEqual(sent, concat(CHANGE_CIPHER_SPEC_RECORD, v.HRR_CLIENT_HELLO_2_RECORD));
      equal(hs.state, "WAIT_SH");
      deepEqual(client.readSecrets, []);
    },
  );

  await t.step(
    "WAIT_SH → WAIT_EE: the transcript restarts with message_hash (RFC 8446 §4.4.1)",
    async () => {
      const { sent } = await client.receive(v.HRR_SERVER_HELLO_RECORD);
      equal(sent.length, 0);
      equal(hs.state, "WAIT_EE");
      // Derived from Transcript-Hash(message_hash(ClientHello1), HelloRetryRequest,
      // ClientHello2, ServerHello) = HRR_HELLO_HASH and the P-256 shared secret.
      deepEqual(client.readSecrets, [v.HRR_SERVER_HANDSHAKE_TRAFFIC_SECRET]);
      deepEqual(client.writeSecrets, [v.HRR_CLIENT_HANDSHAKE_TRAFFIC_SECRET]);
      deepEqual(trafficKeys(client.readSecrets[0]), {
        key: v.HRR_SERVER_HANDSHAKE_KEY,
        iv: v.HRR_SERVER_HANDSHAKE_IV,
      });
    },
  );

  await t.step(
    "WAIT_EE → CONNECTED: the server flight (667 octets) is answered with the RFC's Finished",
    async () => {
      const { sent } = await client.receive(v.HRR_SERVER_FLIGHT_RECORD);
      // change_cipher_spec went out before the second ClientHello: only the Finished now.
      deepEqual(sent, v.HRR_CLIENT_FINISHED_RECORD);
      equal(hs.state, "CONNECTED");
      deepEqual(seen, [[v.SIMPLE_SERVER_CERTIFICATE]]); // the same certificate as §3
      deepEqual(client.readSecrets.slice(1), [v.HRR_SERVER_APPLICATION_TRAFFIC_SECRET]);
      deepEqual(client.writeSecrets.slice(1), [v.HRR_CLIENT_APPLICATION_TRAFFIC_SECRET]);
      const info = client.info!;
      equal(info.group, "secp256r1");
      equal(info.helloRetryRequest, true);
      equal(info.signatureScheme, "rsa_pss_rsae_sha256");
    },
  );
});

Deno.test("RFC 8448 §5: a P-256 key share from fixed randomness has the RFC's public key", async () => {
  const share = await generateKeyShare("secp256r1", fixedRandom(v.HRR_CLIENT_P256_PRIVATE_KEY));
  deepEqual(share.publicKey, v.HRR_CLIENT_P256_PUBLIC_KEY);
});
