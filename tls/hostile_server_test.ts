/**
 * The client against a hostile scripted server, state by state (RFC 8446 §A.1): every
 * handshake message out of place, fatal alerts in every state, malformed, truncated and
 * oversized records, and broken messages. Each case must end in a typed error and the right
 * alert to the server; nothing hangs (the memory pipe has no timeouts: a hang fails the test by
 * never finishing). Cases already covered in tls_connection_test.ts (downgrade sentinels, bad
 * Finished and CertificateVerify, a second HelloRetryRequest, ...) are not repeated.
 */

import { equal, ok, rejects } from "node:assert/strict";
import { AlertDescription, alertName } from "./alert.ts";
import { memoryConnPair } from "./_memory_conn.ts";
import { ScriptedServer, type ScriptedServerOptions } from "./_test_server.ts";
import {
  DecodeError,
  IllegalParameter,
  RecordOverflow,
  TlsAlertReceived,
  TlsError,
  TlsTruncated,
  UnexpectedMessage,
} from "./errors.ts";
import {
  encodeCertificate,
  encodeCertificateVerify,
  encodeEncryptedExtensions,
  encodeFinished,
  encodeKeyUpdate,
  encodeNewSessionTicket,
  handshakeMessage,
  HandshakeType,
} from "./handshake_messages.ts";
import { ContentType } from "./record_layer.ts";
import { startTls, type StartTlsOptions } from "./tls_connection.ts";
import { generateCertificateAuthority, issueCertificate } from "./x509/generate.ts";

const ca = await generateCertificateAuthority({ commonName: "hostile test CA" });
const leaf = await issueCertificate(ca, { dnsNames: ["server.test"] });

type ErrorClass = new (...args: never[]) => Error;

/**
 * Runs the client against a scripted server; expects `errorClass`; returns the alert the
 * server received (undefined if none).
 */
async function expectFailure(
  serverOptions: Partial<ScriptedServerOptions>,
  errorClass: ErrorClass,
  clientOptions: Partial<StartTlsOptions> = {},
  script?: (server: ScriptedServer) => Promise<void>,
): Promise<{ alert: number | undefined; error: Error }> {
  const [c, s] = memoryConnPair();
  const server = new ScriptedServer(s, { chain: [leaf], ...serverOptions });
  const serverDone = (script ? script(server) : server.handshake()).catch(() => {});
  let error!: Error;
  await rejects(
    startTls(c, { serverName: "server.test", caCerts: ca.certPem, ...clientOptions }),
    (e: Error) => {
      error = e;
      ok(e instanceof errorClass, `expected ${errorClass.name}, got ${e.name}: ${e.message}`);
      ok(e instanceof TlsError || e.name.endsWith("Error"), "typed");
      return true;
    },
  );
  await serverDone;
  const alert = server.alertReceived ?? (await server.readAlert()) ?? undefined;
  return { alert, error };
}

/** A handshake message of each type, with a plausible body. */
const MESSAGES: Record<string, () => Uint8Array> = {
  ServerHello: () => handshakeMessage(HandshakeType.server_hello, new Uint8Array(40)),
  EncryptedExtensions: () => encodeEncryptedExtensions([]),
  CertificateRequest: () =>
    handshakeMessage(
      HandshakeType.certificate_request,
      new Uint8Array([0, 0, 8, 0, 13, 0, 4, 0, 2, 4, 3]),
    ),
  Certificate: () => encodeCertificate(new Uint8Array(0), [leaf.der]),
  CertificateVerify: () => encodeCertificateVerify(0x0403, new Uint8Array(70)),
  Finished: () => encodeFinished(new Uint8Array(32)),
  NewSessionTicket: () =>
    encodeNewSessionTicket({
      lifetime: 60,
      ageAdd: 1,
      nonce: new Uint8Array([0]),
      ticket: new Uint8Array(16),
    }),
  KeyUpdate: () => encodeKeyUpdate(false),
  EndOfEarlyData: () => handshakeMessage(HandshakeType.end_of_early_data, new Uint8Array(0)),
  "an unknown type (99)": () => handshakeMessage(99, new Uint8Array(4)),
};

/** What may come next in each state of the server's encrypted flight (RFC 8446 §A.1). */
const STATES: Array<[string, number, string[]]> = [
  ["WAIT_EE", HandshakeType.encrypted_extensions, ["EncryptedExtensions"]],
  ["WAIT_CERT_CR", HandshakeType.certificate, ["Certificate", "CertificateRequest"]],
  ["WAIT_CV", HandshakeType.certificate_verify, ["CertificateVerify"]],
  ["WAIT_FINISHED", HandshakeType.finished, ["Finished"]],
];

// --- Unexpected messages in each state ---------------------------------------------------------

for (const [state, before, allowed] of STATES) {
  const wrong = Object.keys(MESSAGES).filter((m) => !allowed.includes(m));
  Deno.test(`hostile tls server: ${state}: each of ${wrong.length} out-of-place messages is unexpected_message`, async () => {
    for (const name of wrong) {
      const { alert } = await expectFailure({
        beforeMessage: async (type, s) => {
          if (type === before) await s.send(ContentType.handshake, MESSAGES[name]());
        },
      }, UnexpectedMessage);
      equal(alert, AlertDescription.unexpected_message, `${state}: ${name}`);
    }
  });
}

Deno.test("hostile tls server: WAIT_SH: every plaintext message but ServerHello is unexpected_message", async () => {
  for (const name of Object.keys(MESSAGES).filter((m) => m !== "ServerHello")) {
    const { alert } = await expectFailure({}, UnexpectedMessage, {}, async (s) => {
      await s.readHandshake();
      await s.send(ContentType.handshake, MESSAGES[name](), true);
    });
    equal(alert, AlertDescription.unexpected_message, name);
  }
});

Deno.test("hostile tls server: WAIT_SH: application data before ServerHello is unexpected_message", async () => {
  const { alert } = await expectFailure({}, UnexpectedMessage, {}, async (s) => {
    await s.readHandshake();
    await s.send(ContentType.application_data, new Uint8Array(10), true);
  });
  equal(alert, AlertDescription.unexpected_message);
});

// --- Alerts mid-handshake -----------------------------------------------------------------------

for (const [state, before] of STATES) {
  Deno.test(`hostile tls server: ${state}: a fatal alert is TlsAlertReceived by name, not answered`, async () => {
    for (
      const description of [
        AlertDescription.handshake_failure,
        AlertDescription.internal_error,
        AlertDescription.close_notify,
      ]
    ) {
      const { alert, error } = await expectFailure({
        beforeMessage: async (type, s) => {
          if (type === before) await s.sendAlert(description);
        },
      }, TlsAlertReceived);
      equal((error as TlsAlertReceived).alert, description);
      equal((error as TlsAlertReceived).alertName, alertName(description));
      equal(alert, undefined, "no alert is sent in answer to a fatal alert");
    }
  });
}

Deno.test("hostile tls server: WAIT_SH: a plaintext fatal alert is TlsAlertReceived", async () => {
  const { error } = await expectFailure({}, TlsAlertReceived, {}, async (s) => {
    await s.readHandshake();
    await s.send(ContentType.alert, new Uint8Array([2, AlertDescription.protocol_version]), true);
  });
  equal((error as TlsAlertReceived).alertName, "protocol_version");
});

Deno.test("hostile tls server: an alert record of three bytes is decode_error", async () => {
  const { alert } = await expectFailure({
    beforeMessage: async (type, s) => {
      if (type === HandshakeType.certificate) {
        await s.send(ContentType.alert, new Uint8Array([2, 40, 0]));
      }
    },
  }, DecodeError);
  equal(alert, AlertDescription.decode_error);
});

// --- Malformed and broken messages --------------------------------------------------------------

Deno.test("hostile tls server: an empty Certificate is decode_error (RFC 8446 §4.4.2.4)", async () => {
  const { alert } = await expectFailure({
    beforeMessage: async (type, s) => {
      if (type === HandshakeType.certificate) {
        await s.send(ContentType.handshake, encodeCertificate(new Uint8Array(0), []));
      }
    },
  }, DecodeError);
  equal(alert, AlertDescription.decode_error);
});

Deno.test("hostile tls server: a CertificateVerify with a scheme we did not offer is illegal_parameter", async () => {
  const { alert } = await expectFailure({
    beforeMessage: async (type, s) => {
      if (type === HandshakeType.certificate_verify) {
        // rsa_pkcs1_sha256: allowed in certificates, never in TLS 1.3 CertificateVerify.
        await s.send(ContentType.handshake, encodeCertificateVerify(0x0401, new Uint8Array(256)));
      }
    },
  }, IllegalParameter);
  equal(alert, AlertDescription.illegal_parameter);
});

Deno.test("hostile tls server: a Finished of the wrong length is refused (decode_error or decrypt_error)", async () => {
  const { alert } = await expectFailure({
    beforeMessage: async (type, s) => {
      if (type === HandshakeType.finished) {
        await s.send(ContentType.handshake, encodeFinished(new Uint8Array(31)));
      }
    },
  }, TlsError);
  ok(
    alert === AlertDescription.decode_error || alert === AlertDescription.decrypt_error,
    `alert ${alert}`,
  );
});

Deno.test("hostile tls server: EncryptedExtensions with a body that overruns is decode_error", async () => {
  const { alert } = await expectFailure({
    beforeMessage: async (type, s) => {
      if (type === HandshakeType.encrypted_extensions) {
        await s.send(
          ContentType.handshake,
          handshakeMessage(HandshakeType.encrypted_extensions, new Uint8Array([0, 40, 0, 1])),
        );
      }
    },
  }, DecodeError);
  equal(alert, AlertDescription.decode_error);
});

Deno.test("hostile tls server: a handshake message claiming 16 MiB is decode_error before it is buffered", async () => {
  const { alert } = await expectFailure({
    beforeMessage: async (type, s) => {
      if (type === HandshakeType.certificate) {
        await s.send(
          ContentType.handshake,
          new Uint8Array([HandshakeType.certificate, 0xff, 0xff, 0xff]),
        );
      }
    },
  }, DecodeError);
  equal(alert, AlertDescription.decode_error);
});

// --- Records ------------------------------------------------------------------------------------

Deno.test("hostile tls server: a record of unknown content type (99) before keys is unexpected_message", async () => {
  const { alert } = await expectFailure({}, UnexpectedMessage, {}, async (s) => {
    await s.readHandshake();
    await s.sendRaw(new Uint8Array([99, 3, 3, 0, 2, 1, 2]));
  });
  equal(alert, AlertDescription.unexpected_message);
});

Deno.test("hostile tls server: a protected record whose inner type is unknown is unexpected_message", async () => {
  const { alert } = await expectFailure({
    beforeMessage: async (type, s) => {
      if (type === HandshakeType.certificate) await s.send(99, new Uint8Array([1, 2, 3]));
    },
  }, UnexpectedMessage);
  equal(alert, AlertDescription.unexpected_message);
});

Deno.test("hostile tls server: a zero-length plaintext handshake record is refused", async () => {
  const { alert } = await expectFailure({}, TlsError, {}, async (s) => {
    await s.readHandshake();
    await s.sendRaw(new Uint8Array([ContentType.handshake, 3, 3, 0, 0]));
  });
  ok(
    alert === AlertDescription.unexpected_message || alert === AlertDescription.decode_error,
    `alert ${alert}`,
  );
});

Deno.test("hostile tls server: a plaintext record over 2^14 during the handshake is record_overflow", async () => {
  const { alert } = await expectFailure({}, RecordOverflow, {}, async (s) => {
    await s.readHandshake();
    const len = 16384 + 1;
    const huge = new Uint8Array(5 + len);
    huge.set([ContentType.handshake, 3, 3, len >> 8, len & 0xff]);
    await s.sendRaw(huge);
  });
  equal(alert, AlertDescription.record_overflow);
});

Deno.test("hostile tls server: a protected record over 2^14 + 256 during the handshake is record_overflow", async () => {
  const { alert } = await expectFailure({
    beforeMessage: async (type, s) => {
      if (type === HandshakeType.certificate) {
        const len = 16384 + 257;
        const huge = new Uint8Array(5 + len);
        huge.set([ContentType.application_data, 3, 3, len >> 8, len & 0xff]);
        await s.sendRaw(huge);
      }
    },
  }, RecordOverflow);
  equal(alert, AlertDescription.record_overflow);
});

Deno.test("hostile tls server: a record header announcing 64 KiB is refused before its body arrives", async () => {
  const { alert } = await expectFailure({}, RecordOverflow, {}, async (s) => {
    await s.readHandshake();
    await s.sendRaw(new Uint8Array([ContentType.handshake, 3, 3, 0xff, 0xff]));
  });
  equal(alert, AlertDescription.record_overflow);
});

Deno.test("hostile tls server: a garbled protected record during the handshake is bad_record_mac", async () => {
  const { alert } = await expectFailure({
    beforeMessage: async (type, s) => {
      if (type === HandshakeType.certificate) {
        await s.sendRaw(new Uint8Array([23, 3, 3, 0, 40, ...new Uint8Array(40).fill(7)]));
      }
    },
  }, TlsError);
  equal(alert, AlertDescription.bad_record_mac);
});

// --- Truncation ---------------------------------------------------------------------------------

Deno.test("hostile tls server: EOF in the middle of a record during the handshake is TlsTruncated", async () => {
  await expectFailure({}, TlsTruncated, {}, async (s) => {
    await s.readHandshake();
    await s.sendRaw(new Uint8Array([ContentType.handshake, 3, 3, 0, 90, 2, 0, 0]));
    s.conn.close();
  });
});

Deno.test("hostile tls server: EOF after half a handshake message (whole records) is TlsTruncated", async () => {
  await expectFailure({}, TlsTruncated, {}, async (s) => {
    await s.readHandshake();
    await s.send(
      ContentType.handshake,
      new Uint8Array([HandshakeType.server_hello, 0, 0, 80, 3, 3]),
      true,
    );
    s.conn.close();
  });
});

Deno.test("hostile tls server: EOF after the encrypted flight began is TlsTruncated", async () => {
  await expectFailure({
    beforeMessage: (type, s) => {
      if (type === HandshakeType.certificate) s.conn.close();
      return Promise.resolve();
    },
  }, TlsTruncated);
});

Deno.test("hostile tls server: EOF mid-record after the handshake is TlsTruncated on read", async () => {
  const [c, s] = memoryConnPair();
  const server = new ScriptedServer(s, { chain: [leaf] });
  const serverDone = server.handshake();
  const client = await startTls(c, { serverName: "server.test", caCerts: ca.certPem });
  await serverDone;
  await server.sendRaw(new Uint8Array([23, 3, 3, 0, 100, 1, 2, 3]));
  s.close();
  await rejects(client.read(new Uint8Array(10)), TlsTruncated);
  client.close();
});
