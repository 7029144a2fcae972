/**
 * SFTP version 3 message numbers, open flags, attribute flags and status codes
 * (draft-ietf-secsh-filexfer-02 §3, §5, §7), and OpenSSH's extension names
 * (OpenSSH PROTOCOL file §4).
 *
 * @module
 */

/** Packet types (draft-ietf-secsh-filexfer-02 §3). */
export const FXP = {
  INIT: 1,
  VERSION: 2,
  OPEN: 3,
  CLOSE: 4,
  READ: 5,
  WRITE: 6,
  LSTAT: 7,
  FSTAT: 8,
  SETSTAT: 9,
  FSETSTAT: 10,
  OPENDIR: 11,
  READDIR: 12,
  REMOVE: 13,
  MKDIR: 14,
  RMDIR: 15,
  REALPATH: 16,
  STAT: 17,
  RENAME: 18,
  READLINK: 19,
  SYMLINK: 20,
  STATUS: 101,
  HANDLE: 102,
  DATA: 103,
  NAME: 104,
  ATTRS: 105,
  EXTENDED: 200,
  EXTENDED_REPLY: 201,
} as const;

/** Open flags (§6.3). */
export const FXF = {
  READ: 0x01,
  WRITE: 0x02,
  APPEND: 0x04,
  CREAT: 0x08,
  TRUNC: 0x10,
  EXCL: 0x20,
} as const;

/** Attribute flags (§5). */
export const ATTR = {
  SIZE: 0x01,
  UIDGID: 0x02,
  PERMISSIONS: 0x04,
  ACMODTIME: 0x08,
  EXTENDED: 0x80000000,
} as const;

/** Status codes (§7). */
export const FX = {
  OK: 0,
  EOF: 1,
  NO_SUCH_FILE: 2,
  PERMISSION_DENIED: 3,
  FAILURE: 4,
  BAD_MESSAGE: 5,
  NO_CONNECTION: 6,
  CONNECTION_LOST: 7,
  OP_UNSUPPORTED: 8,
} as const;

/** OpenSSH's extensions this client uses. */
export const EXT = {
  LIMITS: "limits@openssh.com",
  POSIX_RENAME: "posix-rename@openssh.com",
  STATVFS: "statvfs@openssh.com",
  FSYNC: "fsync@openssh.com",
  HARDLINK: "hardlink@openssh.com",
} as const;

/** Read/write size when the server does not send limits@openssh.com (§6.4 allows 32 KiB). */
export const DEFAULT_CHUNK = 32 * 1024;
/** OpenSSH's sftp keeps this many reads or writes in flight. */
export const DEFAULT_REQUESTS = 64;
