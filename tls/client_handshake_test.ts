// The sans-IO handshake core, driven message by message like an RFC 8446 Appendix A figure.
import { deepEqual, equal, ok, rejects, throws } from "node:assert/strict";
import { randomBytes } from "./_bytes.ts";
import { CIPHER_SUITES } from "./cipher_suite.ts";
import {
  ClientHandshake,
  type ClientHandshakeConfig,
  type HandshakeAction,
} from "./client_handshake.ts";
import { UnexpectedMessage } from "./errors.ts";
import {
  decodeClientHello,
  encodeEncryptedExtensions,
  encodeFinished,
  encodeKeyUpdate,
  encodeServerHello,
  ExtensionType,
  HandshakeType,
} from "./handshake_messages.ts";
import type { HandshakeMessage } from "./handshake_reassembler.ts";
import { NAMED_GROUPS, respondToKeyShare } from "./key_exchange.ts";
import { ContentType } from "./record_layer.ts";
import { TicketCache } from "./ticket_cache.ts";

const config: ClientHandshakeConfig = {
  serverName: "server.test",
  sendServerName: true,
  alpnProtocols: ["http/1.1"],
  cipherSuites: CIPHER_SUITES,
  groups: ["X25519MLKEM768", "x25519", "secp256r1", "secp384r1"],
  keyShareGroups: ["X25519MLKEM768", "x25519"],
  verifyCertificates: () => Promise.reject(new Error("not used")),
  now: () => 0,
};

const msg = (raw: Uint8Array): HandshakeMessage => ({ type: raw[0], body: raw.subarray(4), raw });
const kinds = (actions: HandshakeAction[]) => actions.map((a) => a.kind);

/** A client in WAIT_EE: ClientHello sent, ServerHello (x25519) processed. */
async function inWaitEe(): Promise<ClientHandshake> {
  const hs = new ClientHandshake(config);
  const [hello] = await hs.start();
  const ch = decodeClientHello((hello as { data: Uint8Array }).data.subarray(4));
  const share = await respondToKeyShare("x25519", ch.keyShares.get(NAMED_GROUPS.x25519)!);
  const sh = encodeServerHello({
    random: randomBytes(32),
    sessionIdEcho: ch.sessionId,
    cipherSuite: 0x1301,
    extensions: [
      [ExtensionType.supported_versions, new Uint8Array([3, 4])],
      [ExtensionType.key_share, new Uint8Array([0, 0x1d, 0, 32, ...share.publicKey])],
    ],
  });
  deepEqual(kinds(await hs.handle(msg(sh))), ["installReadKeys", "installWriteKeys"]);
  return hs;
}

Deno.test("START: ClientHello offers TLS 1.3, the groups, key shares and ALPN", async () => {
  const hs = new ClientHandshake(config);
  equal(hs.state, "START");
  const actions = await hs.start();
  equal(hs.state, "WAIT_SH");
  equal(actions.length, 1);
  const send = actions[0] as {
    kind: "send";
    contentType: number;
    data: Uint8Array;
    legacyVersion: number;
  };
  equal(send.contentType, ContentType.handshake);
  equal(send.legacyVersion, 0x0301);
  equal(send.data[0], HandshakeType.client_hello);
  const ch = decodeClientHello(send.data.subarray(4));
  equal(ch.serverName, "server.test");
  deepEqual(ch.alpnProtocols, ["http/1.1"]);
  deepEqual(ch.supportedGroups, [0x11ec, 0x1d, 0x17, 0x18]);
  deepEqual([...ch.keyShares.keys()], [0x11ec, 0x1d]);
  equal(ch.keyShares.get(0x11ec)!.length, 1184 + 32);
  equal(ch.sessionId.length, 32); // middlebox compatibility mode
  deepEqual(ch.extensions.get(ExtensionType.supported_versions), new Uint8Array([2, 3, 4]));
  // No ticket cache: no psk_key_exchange_modes, so the server sends no tickets.
  equal(ch.extensions.get(ExtensionType.psk_key_exchange_modes), undefined);
  ok(ch.signatureSchemes.includes(0x0804) && ch.signatureSchemes.includes(0x0807));
});

Deno.test("START: with a ticket cache the ClientHello offers psk_dhe_ke (RFC 8446 §4.2.9)", async () => {
  const hs = new ClientHandshake({ ...config, ticketCache: new TicketCache() });
  const [send] = await hs.start() as Array<{ kind: "send"; data: Uint8Array }>;
  const ch = decodeClientHello(send.data.subarray(4));
  deepEqual(ch.extensions.get(ExtensionType.psk_key_exchange_modes), new Uint8Array([1, 1]));
});

Deno.test("START: a server message before ClientHello is unexpected_message", () => {
  const hs = new ClientHandshake(config);
  throws(() => hs.handle(msg(encodeFinished(new Uint8Array(32)))), UnexpectedMessage);
});

Deno.test("WAIT_SH: EncryptedExtensions instead of ServerHello is unexpected_message", async () => {
  const hs = new ClientHandshake(config);
  await hs.start();
  await rejects(async () => await hs.handle(msg(encodeEncryptedExtensions([]))), UnexpectedMessage);
});

Deno.test("WAIT_EE: Finished is unexpected_message (Certificate and Finished must wait)", async () => {
  const hs = await inWaitEe();
  equal(hs.state, "WAIT_EE");
  await rejects(
    async () => await hs.handle(msg(encodeFinished(new Uint8Array(32)))),
    (e: Error) => e instanceof UnexpectedMessage && (e as UnexpectedMessage).alert === 10,
  );
});

Deno.test("WAIT_EE → WAIT_CERT_CR: EncryptedExtensions, then KeyUpdate is unexpected_message", async () => {
  const hs = await inWaitEe();
  deepEqual(await hs.handle(msg(encodeEncryptedExtensions([]))), []);
  equal(hs.state, "WAIT_CERT_CR");
  await rejects(async () => await hs.handle(msg(encodeKeyUpdate(false))), UnexpectedMessage);
});

Deno.test("KeyUpdate before the handshake completed is refused locally", async () => {
  const hs = await inWaitEe();
  throws(() => hs.keyUpdate(true), /before the handshake/);
});

Deno.test("change_cipher_spec is acceptable only between ClientHello and server Finished", async () => {
  const hs = new ClientHandshake(config);
  equal(hs.acceptsChangeCipherSpec, false);
  await hs.start();
  equal(hs.acceptsChangeCipherSpec, true);
});
