/**
 * Typed SFTP errors: one class per status code a server can send
 * (draft-ietf-secsh-filexfer-02 §7), each naming the operation and path.
 *
 * @module
 */

import { SshError } from "../errors.ts";
import { FX } from "./_protocol.ts";

/**
 * Base class of every SFTP error. `code` is the SFTP status code (or -1 for client-side
 * failures), `path` the remote path the operation was about, `serverMessage` what the
 * server said.
 *
 * @example
 * ```ts ignore
 * try { await sftp.stat("/nope"); } catch (e) { if (e instanceof SftpError) console.log(e.code); }
 * ```
 */
export class SftpError extends SshError {
  /** Creates the error; the message says what failed, on which path, and why. */
  constructor(
    message: string,
    readonly code: number = FX.FAILURE,
    readonly path?: string,
    readonly serverMessage?: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/**
 * SSH_FX_NO_SUCH_FILE: the path does not exist.
 *
 * @example
 * ```ts
 * import { NoSuchFile } from "./errors.ts";
 * const e = new NoSuchFile("stat /tmp/x: no such file", 2, "/tmp/x");
 * ```
 */
export class NoSuchFile extends SftpError {}

/**
 * SSH_FX_PERMISSION_DENIED: the server's user may not do this.
 *
 * @example
 * ```ts
 * import { PermissionDenied } from "./errors.ts";
 * const e = new PermissionDenied("open /etc/shadow: permission denied", 3, "/etc/shadow");
 * ```
 */
export class PermissionDenied extends SftpError {}

/**
 * SSH_FX_FAILURE: the operation failed for another reason (directory not empty, file
 * exists, disk full, ...); `serverMessage` often says which.
 *
 * @example
 * ```ts
 * import { SftpFailure } from "./errors.ts";
 * const e = new SftpFailure("rmdir /tmp/d: failure", 4, "/tmp/d");
 * ```
 */
export class SftpFailure extends SftpError {}

/**
 * SSH_FX_BAD_MESSAGE, or a malformed packet from the server (the session is closed).
 *
 * @example
 * ```ts
 * import { BadMessage } from "./errors.ts";
 * const e = new BadMessage("server sent a DATA reply longer than requested", 5);
 * ```
 */
export class BadMessage extends SftpError {}

/**
 * SSH_FX_NO_CONNECTION: the server has no connection (to its backing store).
 *
 * @example
 * ```ts
 * import { NoConnection } from "./errors.ts";
 * const e = new NoConnection("read /f: no connection", 6, "/f");
 * ```
 */
export class NoConnection extends SftpError {}

/**
 * SSH_FX_CONNECTION_LOST, or the SFTP channel closed while requests were outstanding.
 *
 * @example
 * ```ts
 * import { SftpConnectionLost } from "./errors.ts";
 * const e = new SftpConnectionLost("the SFTP channel closed with 3 requests outstanding", 7);
 * ```
 */
export class SftpConnectionLost extends SftpError {}

/**
 * SSH_FX_OP_UNSUPPORTED, or an extension the server did not announce.
 *
 * @example
 * ```ts
 * import { OpUnsupported } from "./errors.ts";
 * const e = new OpUnsupported("statvfs /: the server lacks statvfs@openssh.com", 8, "/");
 * ```
 */
export class OpUnsupported extends SftpError {}

/**
 * A file changed size while it was being downloaded (data past a confirmed end of file,
 * or an end of file before data already received): the copy would not be a snapshot.
 *
 * @example
 * ```ts
 * import { FileChanged } from "./errors.ts";
 * const e = new FileChanged("get /log: the file changed during the transfer", -1, "/log");
 * ```
 */
export class FileChanged extends SftpError {}

const STATUS_TEXT: Record<number, string> = {
  [FX.EOF]: "end of file",
  [FX.NO_SUCH_FILE]: "no such file",
  [FX.PERMISSION_DENIED]: "permission denied",
  [FX.FAILURE]: "failure",
  [FX.BAD_MESSAGE]: "bad message",
  [FX.NO_CONNECTION]: "no connection",
  [FX.CONNECTION_LOST]: "connection lost",
  [FX.OP_UNSUPPORTED]: "operation unsupported",
};

/**
 * The typed error for an SFTP status `code`, with a message like
 * `stat /x: no such file (server: "No such file")`.
 *
 * @example
 * ```ts
 * import { statusError, NoSuchFile } from "./errors.ts";
 * const e = statusError(2, "No such file", "stat", "/x");
 * console.log(e instanceof NoSuchFile, e.message);
 * ```
 */
export function statusError(
  code: number,
  serverMessage: string,
  operation: string,
  path?: string,
): SftpError {
  const what = STATUS_TEXT[code] ?? `status ${code}`;
  const said = serverMessage && serverMessage.toLowerCase() !== what
    ? ` (server: ${JSON.stringify(serverMessage)})`
    : "";
  const message = `${operation}${path !== undefined ? " " + path : ""}: ${what}${said}`;
  const Class = code === FX.NO_SUCH_FILE
    ? NoSuchFile
    : code === FX.PERMISSION_DENIED
    ? PermissionDenied
    : code === FX.BAD_MESSAGE
    ? BadMessage
    : code === FX.NO_CONNECTION
    ? NoConnection
    : code === FX.CONNECTION_LOST
    ? SftpConnectionLost
    : code === FX.OP_UNSUPPORTED
    ? OpUnsupported
    : SftpFailure;
  return new Class(message, code, path, serverMessage);
}
