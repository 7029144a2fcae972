/**
 * The client against a hostile scripted server: after a real key exchange the server sends
 * packets with bad MACs, oversized lengths and malformed contents, or lies about its host key.
 * Each case must end in a typed error, with the client closing the connection; nothing hangs.
 */

import { equal, ok, rejects } from "node:assert/strict";
import { memoryConnPair } from "./_memory_conn.ts";
import { SshWriter } from "./_wire.ts";
import { NoneSealer } from "./_cipher.ts";
import { scriptedHostKeyLine, ScriptedSshServer } from "./_test_server.ts";
import { connect, type ConnectOptions } from "./client.ts";
import {
  AuthenticationFailed,
  ConnectionLost,
  HostKeyMismatch,
  IntegrityError,
  PacketTooLarge,
  ProtocolError,
  SshError,
  StrictKexViolation,
} from "./errors.ts";
import { KnownHosts } from "./known_hosts.ts";
import { ed25519 } from "@noble/curves/ed25519.js";

const KNOWN = KnownHosts.parse(`scripted ${scriptedHostKeyLine()}\n`);

function options(extra: Partial<ConnectOptions> = {}): ConnectOptions {
  return {
    username: "tester",
    host: "scripted",
    knownHosts: KNOWN,
    auth: { password: "secret" },
    ...extra,
  };
}

/**
 * Runs `script` as the server while the client connects; expects the client to reject with
 * `errorClass`, and the client to close the connection afterwards.
 */
async function expectFailure(
  script: (server: ScriptedSshServer) => Promise<void>,
  errorClass: new (...args: never[]) => Error,
  serverOptions: ConstructorParameters<typeof ScriptedSshServer>[1] = {},
  clientOptions: Partial<ConnectOptions> = {},
): Promise<Error> {
  const [c, s] = memoryConnPair();
  const server = new ScriptedSshServer(s, serverOptions);
  const scripted = script(server).catch((e) => e);
  let caught: Error | undefined;
  await rejects(connect(c, options(clientOptions)), (e: Error) => {
    caught = e;
    ok(e instanceof errorClass, `${e.name}: ${e.message}`);
    return true;
  });
  await scripted;
  await server.closedByClient(); // resolves only once the client closed: no half-open leftovers
  return caught!;
}

Deno.test("hostile ssh server: the scripted server completes a login (baseline)", async () => {
  const [c, s] = memoryConnPair();
  const server = new ScriptedSshServer(s);
  const scripted = (async () => {
    await server.handshake();
    return await server.authenticate((pw) => pw === "secret");
  })();
  const client = await connect(c, options());
  equal(await scripted, true);
  ok(client.info.strictKex);
  equal(client.info.algorithms.cipherServerToClient, "aes128-gcm@openssh.com");
  equal(client.info.serverVersion, "SSH-2.0-ScriptedServer_1.0");
  c.close();
});

for (
  const [cipher, mac] of [
    ["aes128-gcm@openssh.com"],
    ["chacha20-poly1305@openssh.com"],
    ["aes256-ctr", "hmac-sha2-256-etm@openssh.com"],
    ["aes128-ctr", "hmac-sha2-512"],
  ] as Array<[string, string?]>
) {
  Deno.test(`hostile ssh server: a flipped bit in an encrypted packet is IntegrityError (${cipher} ${mac ?? ""})`, async () => {
    await expectFailure(
      async (server) => {
        await server.handshake();
        await server.packet(); // SERVICE_REQUEST
        const wire = await server.seal(new SshWriter().byte(6).string("ssh-userauth").bytes());
        wire[wire.length - 1] ^= 0x01; // last byte: inside the tag/MAC
        await server.writeRaw(wire);
      },
      IntegrityError,
      { cipher, mac },
      { algorithms: { cipher: [cipher], mac: mac ? [mac] : undefined } },
    );
  });
}

Deno.test("hostile ssh server: a packet body altered in flight (MAC intact elsewhere) is IntegrityError", async () => {
  await expectFailure(async (server) => {
    await server.handshake();
    await server.packet();
    const wire = await server.seal(new SshWriter().byte(6).string("ssh-userauth").bytes());
    wire[8] ^= 0x80; // ciphertext byte
    await server.writeRaw(wire);
  }, IntegrityError);
});

Deno.test("hostile ssh server: an encrypted packet length of 256 MiB is PacketTooLarge, not an allocation", async () => {
  const error = await expectFailure(async (server) => {
    await server.handshake();
    await server.packet();
    // aes-gcm sends the length in clear (it is the AAD): claim 256 MiB.
    await server.writeRaw(new Uint8Array([0x10, 0, 0, 0, ...new Uint8Array(60)]));
  }, PacketTooLarge);
  equal((error as PacketTooLarge).size, 0x10000000);
});

Deno.test("hostile ssh server: a plaintext packet length of 4 GiB - 1 before keys is PacketTooLarge", async () => {
  await expectFailure(async (server) => {
    await server.line();
    await server.sendVersion();
    await server.writeRaw(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]));
  }, PacketTooLarge);
});

Deno.test("hostile ssh server: padding longer than the packet is ProtocolError", async () => {
  await expectFailure(async (server) => {
    await server.line();
    await server.sendVersion();
    // packet_length 12, padding_length 200.
    await server.writeRaw(new Uint8Array([0, 0, 0, 12, 200, 20, ...new Uint8Array(10)]));
  }, ProtocolError);
});

Deno.test("hostile ssh server: a packet length that is not a multiple of the block size is ProtocolError", async () => {
  await expectFailure(async (server) => {
    await server.line();
    await server.sendVersion();
    await server.writeRaw(new Uint8Array([0, 0, 0, 13, 4, 20, ...new Uint8Array(11)]));
  }, ProtocolError);
});

Deno.test("hostile ssh server: a KEXINIT whose name-list runs past the packet is ProtocolError", async () => {
  await expectFailure(async (server) => {
    await server.line();
    await server.sendVersion();
    await server.packet();
    const bad = new SshWriter().byte(20).raw(new Uint8Array(16)).uint32(5000).bytes();
    await server.writeRaw(new NoneSealer().seal(0, bad));
  }, ProtocolError);
});

Deno.test("hostile ssh server: an unknown message during authentication is ProtocolError", async () => {
  await expectFailure(async (server) => {
    await server.handshake();
    await server.packet();
    await server.send(new SshWriter().byte(6).string("ssh-userauth").bytes());
    await server.packet(); // USERAUTH_REQUEST none
    await server.send(new SshWriter().byte(94).uint32(0).string("data before auth").bytes());
  }, ProtocolError);
});

Deno.test("hostile ssh server: EOF in the middle of an encrypted packet is ConnectionLost", async () => {
  await expectFailure(async (server) => {
    await server.handshake();
    await server.packet();
    const wire = await server.seal(new SshWriter().byte(6).string("ssh-userauth").bytes());
    await server.writeRaw(wire.subarray(0, wire.length - 7));
    server.conn.close();
  }, ConnectionLost);
});

Deno.test("hostile ssh server: IGNORE before the server's KEXINIT under strict KEX is StrictKexViolation", async () => {
  await expectFailure(async (server) => {
    await server.line();
    await server.sendVersion();
    await server.packet();
    await server.send(new Uint8Array([2, 0, 0, 0, 0]));
    await server.send(server.kexInit());
  }, StrictKexViolation);
});

Deno.test("hostile ssh server: a changed host key is HostKeyMismatch and no credentials are sent", async () => {
  const other = ed25519.utils.randomSecretKey();
  const error = await expectFailure(
    async (server) => {
      await server.handshake();
    },
    HostKeyMismatch,
    { hostSecret: other },
  );
  ok(error.message.includes("scripted"), error.message);
});

Deno.test("hostile ssh server: a wrong password is AuthenticationFailed listing the methods left", async () => {
  const [c, s] = memoryConnPair();
  const server = new ScriptedSshServer(s);
  const scripted = (async () => {
    await server.handshake();
    return await server.authenticate(() => false);
  })();
  await rejects(connect(c, options({ auth: { password: "wrong" } })), (e: unknown) => {
    ok(e instanceof AuthenticationFailed, String(e));
    equal(e.methodsLeft.join(), "password");
    return true;
  });
  equal(await scripted, false);
  equal(server.authMethodsSeen.join(), "none,password");
  await server.closedByClient();
});

Deno.test("hostile ssh server: an endless stream of banner lines is ProtocolError (bounded)", async () => {
  await expectFailure(async (server) => {
    await server.line();
    const lines = new TextEncoder().encode("not yet\r\n".repeat(2000));
    await server.writeRaw(lines).catch(() => {});
  }, ProtocolError);
});

Deno.test("hostile ssh server: an identification line without end is ProtocolError (bounded)", async () => {
  await expectFailure(async (server) => {
    await server.line();
    await server.writeRaw(new Uint8Array(20000).fill(0x41)).catch(() => {});
  }, ProtocolError);
});

Deno.test("hostile ssh server: an HTTP server instead of SSH is a typed SshError", async () => {
  await expectFailure(async (server) => {
    await server.writeRaw(new TextEncoder().encode("HTTP/1.1 400 Bad Request\r\n\r\n"));
    server.conn.close();
  }, SshError);
});

Deno.test("hostile ssh server: a server that stalls mid-kex is ended by the abort signal", async () => {
  await expectFailure(
    async (server) => {
      await server.line();
      await server.sendVersion();
      await server.packet(); // then silence
    },
    Error,
    {},
    { signal: AbortSignal.timeout(200) },
  );
});
