/**
 * Interop with QEMU's user network (libslirp) and with passt, each on a stream socket that
 * usernet connects to. Both run inside a namespace the test creates, so nothing they do can
 * reach a real address; the test only ever talks to their gateway address.
 */
import assert from "node:assert/strict";
import { interopTest, tempDir, waitFor } from "./_harness.ts";
import { createNamespace } from "./_netns.ts";
import { QemuStreamNic } from "../../drivers/qemu_stream.ts";
import { Stack } from "../../net/stack.ts";

async function socketExists(path: string): Promise<boolean> {
  try {
    return (await Deno.lstat(path)).isSocket === true;
  } catch {
    return false;
  }
}

interopTest(
  "qemu_user: usernet ARPs the slirp gateway 10.0.2.2 and pings it",
  { root: true, programs: ["ip", "qemu-system-x86_64"] },
  async () => {
    const ns = await createNamespace("slirp");
    const dir = await tempDir("slirp");
    const socket = `${dir.path}/qemu.sock`;
    const qemu = ns.spawn("qemu", "qemu-system-x86_64", [
      "-machine",
      "none",
      "-nodefaults",
      "-display",
      "none",
      "-netdev",
      "user,id=u0",
      "-netdev",
      `stream,id=s0,server=on,addr.type=unix,addr.path=${socket}`,
      "-netdev",
      "hubport,id=p0,hubid=0,netdev=u0",
      "-netdev",
      "hubport,id=p1,hubid=0,netdev=s0",
    ]);
    let stack: Stack | undefined;
    try {
      await waitFor("QEMU's stream socket", () => socketExists(socket), 30_000);
      const nic = await QemuStreamNic.connect({ path: socket });
      stack = new Stack({ nic, address: "10.0.2.15/24", gateway: "10.0.2.2" });
      const reply = await stack.ping("10.0.2.2", { timeout: 5000 });
      assert.equal(reply.from, "10.0.2.2");
      const gateway = stack.neighbors().find((n) => n.address === "10.0.2.2");
      assert.ok(gateway?.mac, "the gateway's MAC was learned by ARP");
      assert.equal(gateway.mac, "52:55:0a:00:02:02"); // slirp's gateway MAC
      const second = await stack.ping("10.0.2.2", { timeout: 5000, size: 1000 });
      assert.equal(second.bytes, 1008);
    } catch (error) {
      console.error(qemu.log);
      throw error;
    } finally {
      await stack?.close();
      await qemu.stop();
      await ns.cleanup();
      await dir.cleanup();
    }
  },
);

interopTest(
  "passt: usernet ARPs passt's gateway and pings it over a unix stream socket",
  { root: true, programs: ["ip", "passt"] },
  async () => {
    const ns = await createNamespace("passt");
    // passt needs an interface with a default route; give it a veth pair with both ends inside.
    await ns.exec("ip", ["link", "add", "ext0", "type", "veth", "peer", "name", "ext1"]);
    await ns.exec("ip", ["addr", "add", "192.168.77.1/24", "dev", "ext0"]);
    await ns.exec("ip", ["link", "set", "ext0", "up"]);
    await ns.exec("ip", ["link", "set", "ext1", "up"]);
    await ns.exec("ip", ["route", "add", "default", "via", "192.168.77.2", "dev", "ext0"]);
    // passt forwards pings with ping sockets from inside the namespace; give the namespace the
    // gateway address so the kernel there answers them and nothing leaves.
    await ns.exec("ip", ["addr", "add", "10.0.2.2/32", "dev", "lo"]);
    await ns.exec("sysctl", ["-q", "-w", "net.ipv4.ping_group_range=0 2147483647"]);
    const dir = await tempDir("passt");
    const socket = `${dir.path}/passt.sock`;
    const passt = ns.spawn("passt", "passt", [
      "-f",
      "-e",
      "-1",
      "--runas",
      "0",
      "-s",
      socket,
      "-4",
      "-a",
      "10.0.2.15",
      "-n",
      "24",
      "-g",
      "10.0.2.2",
      "-D",
      "none",
      "-S",
      "none",
    ]);
    let stack: Stack | undefined;
    try {
      await waitFor("passt's socket", () => socketExists(socket), 30_000);
      const nic = await QemuStreamNic.connect({ path: socket });
      stack = new Stack({ nic, address: "10.0.2.15/24", gateway: "10.0.2.2" });
      const reply = await stack.ping("10.0.2.2", { timeout: 5000 });
      assert.equal(reply.from, "10.0.2.2");
      assert.ok(stack.neighbors().find((n) => n.address === "10.0.2.2")?.mac, "ARP resolved");
    } catch (error) {
      console.error(passt.log);
      throw error;
    } finally {
      await stack?.close();
      await passt.stop();
      await ns.cleanup();
      await dir.cleanup();
    }
  },
);
