/**
 * An SFTP version 3 client (draft-ietf-secsh-filexfer-02) with OpenSSH's extensions
 * (limits, posix-rename, statvfs, fsync, hardlink): pipelined transfers as fast as
 * OpenSSH's sftp, resume, recursive copies, streams, and typed errors.
 *
 * @example
 * ```ts ignore
 * import { connect } from "../mod.ts";
 * import { openSftp } from "./mod.ts";
 * const client = await connect(await Deno.connect({ hostname: "127.0.0.1", port: 22 }), options);
 * const sftp = await openSftp(client);
 * await sftp.get("/var/log/syslog", "syslog.txt", { onProgress: (n, total) => console.log(n, total) });
 * await sftp.close();
 * await client.close();
 * ```
 *
 * @module
 */

export {
  type DirEntry,
  type OpenMode,
  openSftp,
  type RecursiveOptions,
  type RecursiveResult,
  SftpClient,
  type SftpHost,
  type SftpOptions,
  type StatVfs,
  type TransferOptions,
  type TransferResult,
} from "./client.ts";
export { SftpFile } from "./file.ts";
export {
  decodeAttributes,
  encodeAttributes,
  type FileAttributes,
  FileStat,
  longName,
} from "./attributes.ts";
export {
  type SftpLimits,
  type SftpReply,
  SftpSession,
  type SftpSessionOptions,
  type SftpStream,
} from "./session.ts";
export {
  type ByteSink,
  type ByteSource,
  download,
  type PipelineOptions,
  upload,
} from "./transfer.ts";
export * from "./errors.ts";
// Types the SFTP API refers to, re-exported so this module documents on its own.
export { SshReader, SshWriter } from "../_wire.ts";
export { SshError } from "../errors.ts";
