import { equal, ok } from "node:assert/strict";
import { SshError } from "../errors.ts";
import {
  BadMessage,
  FileChanged,
  NoConnection,
  NoSuchFile,
  OpUnsupported,
  PermissionDenied,
  SftpConnectionLost,
  SftpError,
  SftpFailure,
  statusError,
} from "./errors.ts";

Deno.test("sftp errors: each status code maps to its class, with operation, path and server text", () => {
  const cases: Array<[number, typeof SftpError, string]> = [
    [2, NoSuchFile, "no such file"],
    [3, PermissionDenied, "permission denied"],
    [4, SftpFailure, "failure"],
    [5, BadMessage, "bad message"],
    [6, NoConnection, "no connection"],
    [7, SftpConnectionLost, "connection lost"],
    [8, OpUnsupported, "operation unsupported"],
    [99, SftpFailure, "status 99"],
  ];
  for (const [code, Class, text] of cases) {
    const e = statusError(code, "Server says so", "open", "/x/y");
    ok(e instanceof Class, `${code} -> ${e.name}`);
    ok(e instanceof SftpError && e instanceof SshError);
    equal(e.name, Class.name);
    equal(e.code, code);
    equal(e.path, "/x/y");
    equal(e.serverMessage, "Server says so");
    equal(e.message, `open /x/y: ${text} (server: "Server says so")`);
  }
  // The server's text is not repeated when it says the same thing.
  equal(statusError(2, "No such file", "stat", "/a").message, "stat /a: no such file");
  const changed = new FileChanged("get /f: the file changed during the transfer", -1, "/f");
  ok(changed instanceof SftpError);
  equal(changed.name, "FileChanged");
});
