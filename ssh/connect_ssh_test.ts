import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import { MemoryLink } from "../drivers/memory.ts";
import { Stack } from "../net/stack.ts";
import { ConnectionRefused } from "../net/errors.ts";
import { hostNetwork } from "../net/gateway/host_network.ts";
import type { Conn } from "../net/conn.ts";
import { scriptedHostKeyLine, ScriptedSshServer } from "./_test_server.ts";
import { connectSsh } from "./connect_ssh.ts";
import { AuthenticationFailed, HostKeyUnknown } from "./errors.ts";
import { KnownHosts } from "./known_hosts.ts";

/** Two stacks on a memory link: the client at 10.0.0.1, a scripted SSH server at 10.0.0.2. */
async function withLink(fn: (client: Stack, server: Stack) => Promise<void>): Promise<void> {
  const [a, b] = MemoryLink.pair();
  const client = new Stack({ nic: a, address: "10.0.0.1/24" });
  const server = new Stack({ nic: b, address: "10.0.0.2/24" });
  try {
    await fn(client, server);
  } finally {
    await client.close();
    await server.close();
  }
}

/** Serves one scripted login on `accept()`'s connection; resolves to whether it succeeded. */
async function serveOne(accept: () => Promise<Conn>, password = "secret") {
  const server = new ScriptedSshServer(await accept());
  await server.handshake();
  return { server, ok: await server.authenticate((p) => p === password) };
}

Deno.test("connectSsh: usernet TCP on a memory link, known_hosts checked under the hostname", async () => {
  await withLink(async (clientStack, serverStack) => {
    const listener = serverStack.listen({ port: 22 });
    const serving = serveOne(() => listener.accept());
    const client = await connectSsh(clientStack, {
      hostname: "10.0.0.2",
      port: 22,
      username: "tester",
      // Port 22: known_hosts lists the plain host name.
      knownHosts: KnownHosts.parse(`10.0.0.2 ${scriptedHostKeyLine()}\n`),
      auth: { password: "secret" },
    });
    const { ok: loggedIn } = await serving;
    equal(loggedIn, true);
    equal(client.info.serverVersion, "SSH-2.0-ScriptedServer_1.0");
    ok(client.info.strictKex);
    await client.close().catch(() => {});
    listener.close();
  });
});

Deno.test("connectSsh: another port is looked up as [hostname]:port; port defaults to 22", async () => {
  await withLink(async (clientStack, serverStack) => {
    const listener = serverStack.listen({ port: 2222 });
    const serving = serveOne(() => listener.accept());
    const seen: Array<[string, number]> = [];
    const client = await connectSsh(clientStack, {
      hostname: "10.0.0.2",
      port: 2222,
      username: "tester",
      knownHosts: KnownHosts.parse(`[10.0.0.2]:2222 ${scriptedHostKeyLine()}\n`),
      hostKeyPolicy: (k) => {
        seen.push([k.host, k.port]);
        return k.knownHosts?.status === "match";
      },
      auth: { password: "secret" },
    });
    await serving;
    deepEqual(seen, [["10.0.0.2", 2222]]);
    await client.close().catch(() => {});
    listener.close();
    // Without a port, 22 is dialled (refused here: nothing listens).
    await rejects(
      connectSsh(clientStack, {
        hostname: "10.0.0.2",
        username: "tester",
        auth: { password: "x" },
      }),
      ConnectionRefused,
    );
  });
});

Deno.test("connectSsh: `host` overrides the known_hosts name; an unknown host is refused and TCP closed", async () => {
  await withLink(async (clientStack, serverStack) => {
    const listener = serverStack.listen({ port: 22 });
    const serving = (async () => {
      const server = new ScriptedSshServer(await listener.accept());
      await server.handshake().catch(() => {});
      await server.closedByClient();
      return server;
    })();
    await rejects(
      connectSsh(clientStack, {
        hostname: "10.0.0.2",
        host: "gateway.test",
        username: "tester",
        knownHosts: KnownHosts.parse(`10.0.0.2 ${scriptedHostKeyLine()}\n`),
        auth: { password: "secret" },
      }),
      (e: unknown) => e instanceof HostKeyUnknown && e.message.includes("gateway.test"),
    );
    await serving; // the server saw the client close the connection
    listener.close();
  });
});

Deno.test("connectSsh: a wrong password is AuthenticationFailed", async () => {
  await withLink(async (clientStack, serverStack) => {
    const listener = serverStack.listen({ port: 22 });
    const serving = serveOne(() => listener.accept());
    await rejects(
      connectSsh(clientStack, {
        hostname: "10.0.0.2",
        username: "tester",
        knownHosts: KnownHosts.parse(`10.0.0.2 ${scriptedHostKeyLine()}\n`),
        auth: { password: "wrong" },
      }),
      AuthenticationFailed,
    );
    equal((await serving).ok, false);
    listener.close();
  });
});

Deno.test("connectSsh: through the embedded gateway (10.0.2.2) to a server on the host's 127.0.0.1", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const serving = serveOne(() => listener.accept());
  const net = await hostNetwork();
  try {
    const client = await connectSsh(net.stack, {
      hostname: "10.0.2.2",
      port: listener.addr.port,
      host: "127.0.0.1",
      username: "tester",
      knownHosts: KnownHosts.parse(`[127.0.0.1]:${listener.addr.port} ${scriptedHostKeyLine()}\n`),
      auth: { password: "secret" },
    });
    equal((await serving).ok, true);
    equal(net.gateway.stats().tcpAccepted, 1);
    await client.close().catch(() => {});
  } finally {
    listener.close();
    await net.close();
  }
});
