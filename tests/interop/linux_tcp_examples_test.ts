/**
 * The TCP examples as a user runs them: examples/tcp_client.ts on a memory link (no permissions
 * at all), and both examples on a TAP device talking to Linux (nc, and a Python echo server).
 */
import assert from "node:assert/strict";
import { interopTest, Peer, run } from "./_harness.ts";
import { createTapNamespace } from "./_netns.ts";
import { LINUX_PEER } from "../../net/tcp/_test_linux.ts";

const root = new URL("../../", import.meta.url).pathname;
const needs = { root: true, programs: ["ip", "python3", "nc"], files: ["/dev/net/tun"] };

function example(args: string[]): string[] {
  return ["run", "--config", `${root}deno.json`, ...args];
}

Deno.test("examples/tcp_client.ts --memory: echo through two stacks in one process, no permissions", async () => {
  const out = await run(Deno.execPath(), [
    ...example([`${root}examples/tcp_client.ts`, "--memory"]),
    "10.0.0.1",
    "7",
    "memory link works",
  ]);
  assert.equal(out, "memory link works\n");
});

interopTest(
  "linux_tap_tcp: examples/tcp_echo_server.ts on TAP, Linux's nc talks to it",
  needs,
  async () => {
    const ns = await createTapNamespace("tcpexsrv", "10.79.251.1/24");
    const server = new Peer("tcp_echo_server", Deno.execPath(), [
      ...example(["-A", `${root}examples/tcp_echo_server.ts`]),
      "--tap",
      ns.tap,
      "--netns",
      ns.name,
      "--address",
      "10.79.251.2/24",
      "--port",
      "7",
    ]);
    try {
      await server.waitForOutput("echo server on 10.79.251.2:7");
      const out = await ns.exec("sh", [
        "-c",
        "seq 1 20000 | nc -N -w 10 10.79.251.2 7 | tail -n 1",
      ]);
      assert.equal(out, "20000\n");
    } finally {
      await server.stop();
      await ns.cleanup();
    }
  },
);

interopTest(
  "linux_tap_tcp: examples/tcp_client.ts on TAP against a Linux echo server",
  needs,
  async () => {
    const ns = await createTapNamespace("tcpexcli", "10.79.252.1/24");
    const echo = ns.spawn("linux-echo", "python3", ["-c", LINUX_PEER, "echo-many", "7"]);
    try {
      await echo.waitForOutput("ready");
      const out = await run(Deno.execPath(), [
        ...example(["-A", `${root}examples/tcp_client.ts`]),
        "--tap",
        ns.tap,
        "--netns",
        ns.name,
        "--address",
        "10.79.252.2/24",
        "10.79.252.1",
        "7",
        "hello Linux",
      ]);
      assert.equal(out, "hello Linux\n");
    } finally {
      await echo.stop();
      await ns.cleanup();
    }
  },
);
