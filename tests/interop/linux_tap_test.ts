/**
 * Interop with the Linux kernel's own IPv4/ICMP/UDP over a TAP device in a namespace the test
 * creates: Linux at 10.77.0.1, usernet at 10.77.0.2.
 */
import assert from "node:assert/strict";
import { interopTest } from "./_harness.ts";
import { createTapNamespace } from "./_netns.ts";
import { TapNic } from "../../drivers/tap.ts";
import { Stack } from "../../net/stack.ts";
import { PortUnreachable } from "../../net/errors.ts";

const needs = { root: true, programs: ["ip", "ping", "python3"], files: ["/dev/net/tun"] };

async function setup(tag: string) {
  const ns = await createTapNamespace(tag, "10.77.0.1/24");
  const nic = TapNic.open({ name: ns.tap, netns: ns.name });
  const stack = new Stack({ nic, address: "10.77.0.2/24", gateway: "10.77.0.1" });
  return {
    ns,
    stack,
    async cleanup() {
      await stack.close();
      await ns.cleanup();
    },
  };
}

const UDP_PEER = `
import socket, sys, hashlib
mode, port = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(10)
if mode == "echo-server":
    s.bind(("10.77.0.1", port))
    print("ready", flush=True)
    while True:
        data, addr = s.recvfrom(65535)
        s.sendto(data, addr)
elif mode == "client":
    size = int(sys.argv[3])
    data = bytes((i * 7 + 3) & 255 for i in range(size))
    s.connect(("10.77.0.2", port))
    s.send(data)
    back = s.recv(65535)
    print("sha", hashlib.sha256(back).hexdigest(), hashlib.sha256(data).hexdigest(), len(back), flush=True)
elif mode == "closed-port":
    s.connect(("10.77.0.2", port))
    s.send(b"anyone?")
    try:
        s.recv(100)
        print("no error", flush=True)
    except ConnectionRefusedError:
        print("refused", flush=True)
`;

interopTest("linux_tap: Linux pings usernet", needs, async () => {
  const { ns, stack, cleanup } = await setup("ping-in");
  try {
    const out = await ns.exec("ping", ["-c", "3", "-i", "0.2", "-W", "5", "10.77.0.2"]);
    assert.match(out, /3 packets transmitted, 3 received/);
    assert.equal(stack.stats().icmp.echoRequestsIn, 3);
  } finally {
    await cleanup();
  }
});

interopTest("linux_tap: usernet pings Linux, 56 and 3000 bytes", needs, async () => {
  const { stack, cleanup } = await setup("ping-out");
  try {
    const small = await stack.ping("10.77.0.1", { timeout: 5000 });
    assert.equal(small.from, "10.77.0.1");
    assert.equal(small.bytes, 64);
    assert.equal(small.ttl, 64);
    // 3000 bytes of echo data: fragmented both ways.
    const big = await stack.ping("10.77.0.1", { size: 3000, timeout: 5000 });
    assert.equal(big.bytes, 3008);
    assert.ok(stack.stats().ipv4.reassembled >= 1);
    assert.ok(stack.stats().ipv4.fragmentsOut >= 3);
  } finally {
    await cleanup();
  }
});

interopTest(
  "linux_tap: UDP echo both ways, 60000-byte datagrams fragmented and reassembled",
  needs,
  async () => {
    const { ns, stack, cleanup } = await setup("udp");
    const server = ns.spawn("python-udp-echo", "python3", ["-c", UDP_PEER, "echo-server", "7007"]);
    const echo = stack.listenDatagram({ port: 7008 });
    (async () => {
      for await (const [data, from] of echo) await echo.send(data, from);
    })();
    try {
      await server.waitForOutput("ready");
      // usernet → Linux echo server.
      const client = stack.listenDatagram({});
      for (const size of [1, 1472, 60000]) {
        const data = crypto.getRandomValues(new Uint8Array(size));
        await client.send(data, { hostname: "10.77.0.1", port: 7007 });
        const [back, from] = await client.receive();
        assert.equal(from.hostname, "10.77.0.1");
        assert.deepEqual(back, data);
      }
      client.close();
      // Linux → usernet echo server.
      for (const size of ["100", "60000"]) {
        const out = await ns.exec("python3", ["-c", UDP_PEER, "client", "7008", size]);
        const [, got, want, length] = out.trim().split(" ");
        assert.equal(got, want);
        assert.equal(length, size);
      }
      assert.ok(stack.stats().ipv4.reassembled >= 2);
    } finally {
      echo.close();
      await server.stop();
      await cleanup();
    }
  },
);

interopTest(
  "linux_tap: Linux sees port unreachable from usernet; usernet sees Linux's",
  needs,
  async () => {
    const { ns, stack, cleanup } = await setup("unreach");
    try {
      const out = await ns.exec("python3", ["-c", UDP_PEER, "closed-port", "9999"]);
      assert.equal(out.trim(), "refused");
      assert.equal(stack.stats().icmp.errorsOut, 1);
      const socket = stack.listenDatagram({});
      await socket.send(new Uint8Array(8), { hostname: "10.77.0.1", port: 9 });
      await assert.rejects(socket.receive(), PortUnreachable);
      socket.close();
    } finally {
      await cleanup();
    }
  },
);
