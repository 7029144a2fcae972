import { equal, ok } from "node:assert/strict";
import * as errors from "./errors.ts";

const d = { host: "h", keyType: "ssh-ed25519", fingerprint: "SHA256:x" };
const samples: errors.SshError[] = [
  new errors.ProtocolError("p"),
  new errors.DisconnectError(11, "bye"),
  new errors.ConnectionLost("gone"),
  new errors.NoCommonAlgorithm("cipher", ["a"], ["b"]),
  new errors.KeyExchangeFailed("k"),
  new errors.StrictKexViolation("s"),
  new errors.IntegrityError("i"),
  new errors.PacketTooLarge(2, 1),
  new errors.HostKeyUnknown(d),
  new errors.HostKeyMismatch(d, ["SHA256:y"]),
  new errors.HostKeyRevoked(d),
  new errors.HostKeyRejected(d),
  new errors.AuthenticationFailed("no", ["publickey"], []),
  new errors.ChannelOpenFailed(2, "refused"),
  new errors.ChannelRequestFailed("pty-req"),
  new errors.KeyParseError("k"),
  new errors.WrongPassphrase("w"),
  new errors.SessionClosed("c"),
];

Deno.test("errors: every class is an SshError with its own name", () => {
  const exported = Object.entries(errors).filter(([, v]) => typeof v === "function");
  equal(samples.length + 1, exported.length, "a sample for every exported class except SshError");
  for (const e of samples) {
    ok(e instanceof errors.SshError);
    ok(e instanceof Error);
    equal(e.name, e.constructor.name);
    ok(e.message.length > 0);
  }
});

Deno.test("errors: messages carry what the user needs", () => {
  equal(new errors.DisconnectError(11, "bye").reason, "BY_APPLICATION");
  ok(new errors.HostKeyMismatch(d, ["SHA256:y"]).message.includes("SHA256:y"));
  ok(
    new errors.AuthenticationFailed("no", ["publickey", "password"], []).message.includes(
      "publickey,password",
    ),
  );
  ok(new errors.ChannelOpenFailed(2, "refused").message.includes("CONNECT_FAILED"));
  ok(new errors.HostKeyUnknown(d).message.includes("accept-new"));
});
