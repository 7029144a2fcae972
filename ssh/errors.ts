/**
 * Typed errors of the SSH client. Every refusal a caller can act on has its own class.
 *
 * @module
 */

/**
 * Base class of every error raised by the SSH client.
 *
 * @example
 * ```ts ignore
 * try { await connect(conn, opts); } catch (e) { if (e instanceof SshError) console.log(e.message); }
 * ```
 */
export class SshError extends Error {
  /** Creates the error. */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/**
 * The peer sent something that breaks the protocol (malformed or unexpected message).
 *
 * @example
 * ```ts
 * import { ProtocolError } from "./errors.ts";
 * const e = new ProtocolError("truncated SSH message");
 * ```
 */
export class ProtocolError extends SshError {}

/** Disconnect reason codes (RFC 4253 §11.1) by number. */
export const DISCONNECT_REASONS: Record<number, string> = {
  1: "HOST_NOT_ALLOWED_TO_CONNECT",
  2: "PROTOCOL_ERROR",
  3: "KEY_EXCHANGE_FAILED",
  4: "RESERVED",
  5: "MAC_ERROR",
  6: "COMPRESSION_ERROR",
  7: "SERVICE_NOT_AVAILABLE",
  8: "PROTOCOL_VERSION_NOT_SUPPORTED",
  9: "HOST_KEY_NOT_VERIFIABLE",
  10: "CONNECTION_LOST",
  11: "BY_APPLICATION",
  12: "TOO_MANY_CONNECTIONS",
  13: "AUTH_CANCELLED_BY_USER",
  14: "NO_MORE_AUTH_METHODS_AVAILABLE",
  15: "ILLEGAL_USER_NAME",
};

/**
 * The server sent SSH_MSG_DISCONNECT; `reasonCode`/`reason` say why (RFC 4253 §11.1).
 *
 * @example
 * ```ts
 * import { DisconnectError } from "./errors.ts";
 * const e = new DisconnectError(11, "bye");
 * console.log(e.reason); // "BY_APPLICATION"
 * ```
 */
export class DisconnectError extends SshError {
  /** Symbolic reason, e.g. `BY_APPLICATION`. */
  readonly reason: string;
  /** Creates the error. */
  constructor(readonly reasonCode: number, readonly description: string) {
    const reason = DISCONNECT_REASONS[reasonCode] ?? `UNKNOWN_${reasonCode}`;
    super(`server disconnected: ${reason} (${reasonCode}): ${description}`);
    this.reason = reason;
  }
}

/**
 * The underlying connection ended (EOF or error) before the SSH session closed cleanly.
 *
 * @example
 * ```ts
 * import { ConnectionLost } from "./errors.ts";
 * const e = new ConnectionLost("connection closed during key exchange");
 * ```
 */
export class ConnectionLost extends SshError {}

/**
 * No algorithm both sides support in one category (RFC 4253 §7.1).
 *
 * @example
 * ```ts
 * import { NoCommonAlgorithm } from "./errors.ts";
 * const e = new NoCommonAlgorithm("cipher", ["aes128-ctr"], ["3des-cbc"]);
 * ```
 */
export class NoCommonAlgorithm extends SshError {
  /** Creates the error. */
  constructor(
    readonly category: string,
    readonly ours: readonly string[],
    readonly theirs: readonly string[],
  ) {
    super(
      `no common ${category} algorithm: we offer ${ours.join(",")}; server offers ${
        theirs.join(",")
      }`,
    );
  }
}

/**
 * The key exchange failed (bad signature over the exchange hash, bad public value, ...).
 *
 * @example
 * ```ts
 * import { KeyExchangeFailed } from "./errors.ts";
 * const e = new KeyExchangeFailed("server's signature over the exchange hash is invalid");
 * ```
 */
export class KeyExchangeFailed extends SshError {}

/**
 * The peer broke strict key exchange (kex-strict-*-v00@openssh.com): an unexpected
 * message arrived during the initial key exchange, as in the Terrapin attack (CVE-2023-48795).
 *
 * @example
 * ```ts
 * import { StrictKexViolation } from "./errors.ts";
 * const e = new StrictKexViolation("SSH_MSG_IGNORE during the initial key exchange");
 * ```
 */
export class StrictKexViolation extends SshError {}

/**
 * A packet failed its integrity check (MAC or AEAD tag): corruption or tampering.
 *
 * @example
 * ```ts
 * import { IntegrityError } from "./errors.ts";
 * const e = new IntegrityError("MAC mismatch on packet 7");
 * ```
 */
export class IntegrityError extends SshError {}

/**
 * A packet exceeded the size limit (RFC 4253 §6.1), or its length was malformed.
 *
 * @example
 * ```ts
 * import { PacketTooLarge } from "./errors.ts";
 * const e = new PacketTooLarge(1 << 20, 256 * 1024);
 * ```
 */
export class PacketTooLarge extends SshError {
  /** Creates the error. */
  constructor(readonly size: number, readonly limit: number) {
    super(`packet of ${size} bytes exceeds the limit of ${limit}`);
  }
}

/** What the client knows about the host key it is verifying. */
export interface HostKeyDescription {
  /** The host as given to `connect` (with `[host]:port` form when the port is not 22). */
  host: string;
  /** Key type, e.g. `ssh-ed25519`. */
  keyType: string;
  /** `SHA256:...` fingerprint as OpenSSH prints it. */
  fingerprint: string;
}

/**
 * The server's host key is not in known_hosts and the policy refuses unknown keys.
 *
 * @example
 * ```ts
 * import { HostKeyUnknown } from "./errors.ts";
 * const e = new HostKeyUnknown({ host: "example", keyType: "ssh-ed25519", fingerprint: "SHA256:x" });
 * ```
 */
export class HostKeyUnknown extends SshError {
  /** Creates the error. */
  constructor(readonly key: HostKeyDescription, detail = "") {
    super(
      `host key for ${key.host} is not known (${key.keyType} ${key.fingerprint})${
        detail ? ": " + detail : ""
      }; add it to known_hosts or pass hostKeyPolicy: "accept-new"`,
    );
  }
}

/**
 * known_hosts lists keys for this host but none matches the one presented: the key changed,
 * or someone is intercepting the connection.
 *
 * @example
 * ```ts
 * import { HostKeyMismatch } from "./errors.ts";
 * const e = new HostKeyMismatch({ host: "h", keyType: "ssh-ed25519", fingerprint: "SHA256:x" }, ["SHA256:y"]);
 * ```
 */
export class HostKeyMismatch extends SshError {
  /** Creates the error. */
  constructor(readonly key: HostKeyDescription, readonly expected: readonly string[]) {
    super(
      `HOST KEY FOR ${key.host} HAS CHANGED: server presented ${key.keyType} ${key.fingerprint}, ` +
        `known_hosts expects ${expected.join(", ")}; refusing to connect`,
    );
  }
}

/**
 * The server's host key is marked `@revoked` in known_hosts.
 *
 * @example
 * ```ts
 * import { HostKeyRevoked } from "./errors.ts";
 * const e = new HostKeyRevoked({ host: "h", keyType: "ssh-ed25519", fingerprint: "SHA256:x" });
 * ```
 */
export class HostKeyRevoked extends SshError {
  /** Creates the error. */
  constructor(readonly key: HostKeyDescription) {
    super(`host key for ${key.host} (${key.keyType} ${key.fingerprint}) is marked @revoked`);
  }
}

/**
 * The caller's host key callback refused the key.
 *
 * @example
 * ```ts
 * import { HostKeyRejected } from "./errors.ts";
 * const e = new HostKeyRejected({ host: "h", keyType: "ssh-ed25519", fingerprint: "SHA256:x" });
 * ```
 */
export class HostKeyRejected extends SshError {
  /** Creates the error. */
  constructor(readonly key: HostKeyDescription) {
    super(
      `host key for ${key.host} (${key.keyType} ${key.fingerprint}) was rejected by the caller`,
    );
  }
}

/** One authentication attempt and how the server answered it. */
export interface AuthAttempt {
  /** Method name, e.g. `publickey`. */
  method: string;
  /** e.g. the key's fingerprint for publickey. */
  detail?: string;
  /** The server's answer. */
  result: "refused" | "partial" | "success";
}

/**
 * The server refused every authentication method the client could try.
 * `methodsLeft` lists what the server would still accept (RFC 4252 §5.1).
 *
 * @example
 * ```ts
 * import { AuthenticationFailed } from "./errors.ts";
 * const e = new AuthenticationFailed("password refused", ["publickey"], []);
 * console.log(e.methodsLeft); // ["publickey"]
 * ```
 */
export class AuthenticationFailed extends SshError {
  /** Creates the error. */
  constructor(
    message: string,
    readonly methodsLeft: readonly string[],
    readonly attempts: readonly AuthAttempt[],
  ) {
    super(`${message}; server still allows: ${methodsLeft.join(",") || "(nothing)"}`);
  }
}

/**
 * The server refused to open a channel (RFC 4254 §5.1).
 *
 * @example
 * ```ts
 * import { ChannelOpenFailed } from "./errors.ts";
 * const e = new ChannelOpenFailed(2, "connect failed");
 * ```
 */
export class ChannelOpenFailed extends SshError {
  /** Creates the error. */
  constructor(readonly reasonCode: number, readonly description: string) {
    const names: Record<number, string> = {
      1: "ADMINISTRATIVELY_PROHIBITED",
      2: "CONNECT_FAILED",
      3: "UNKNOWN_CHANNEL_TYPE",
      4: "RESOURCE_SHORTAGE",
    };
    super(`channel open failed: ${names[reasonCode] ?? reasonCode}: ${description}`);
  }
}

/**
 * The server answered a channel request (exec, subsystem, pty-req, ...) with FAILURE.
 *
 * @example
 * ```ts
 * import { ChannelRequestFailed } from "./errors.ts";
 * const e = new ChannelRequestFailed("subsystem");
 * ```
 */
export class ChannelRequestFailed extends SshError {
  /** Creates the error. */
  constructor(readonly request: string) {
    super(`server refused channel request "${request}"`);
  }
}

/**
 * A key file could not be parsed (unknown format, corrupt, unsupported type).
 *
 * @example
 * ```ts
 * import { KeyParseError } from "./errors.ts";
 * const e = new KeyParseError("not an OpenSSH private key");
 * ```
 */
export class KeyParseError extends SshError {}

/**
 * The private key is encrypted and the passphrase is missing or wrong.
 *
 * @example
 * ```ts
 * import { WrongPassphrase } from "./errors.ts";
 * const e = new WrongPassphrase("passphrase required");
 * ```
 */
export class WrongPassphrase extends SshError {}

/**
 * The session was closed (by `close()`, by an abort signal, or by the server) while an
 * operation was still waiting.
 *
 * @example
 * ```ts
 * import { SessionClosed } from "./errors.ts";
 * const e = new SessionClosed("client closed");
 * ```
 */
export class SessionClosed extends SshError {}
