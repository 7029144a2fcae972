/**
 * usernet's DHCP server core (dhcp_udhcpc_server_child.ts, in its own network namespace)
 * serving busybox udhcpc in another, joined by a veth pair made for the test.
 */
import assert from "node:assert/strict";
import { interopTest, Peer, run, tempDir, waitFor } from "./_harness.ts";

const tag = `${Deno.pid % 10000}`;

interopTest(
  "udhcpc (busybox): usernet's DHCP server core leases, renews (SIGUSR1) and takes a RELEASE",
  { programs: ["busybox", "ip"], root: true },
  async () => {
    const dir = await tempDir("udhcpc");
    const nsA = `un-dsv${tag}`, nsB = `un-dcl${tag}`;
    const sh = (ns: string, ...args: string[]) => run("ip", ["netns", "exec", ns, ...args]);
    let server: Peer | undefined;
    try {
      await run("ip", ["netns", "add", nsA]);
      await run("ip", ["netns", "add", nsB]);
      await run("ip", ["link", "add", `uV${tag}`, "type", "veth", "peer", "name", `uW${tag}`]);
      await run("ip", ["link", "set", `uV${tag}`, "netns", nsA]);
      await run("ip", ["link", "set", `uW${tag}`, "netns", nsB]);
      await sh(nsA, "ip", "addr", "add", "10.79.0.1/24", "dev", `uV${tag}`);
      await sh(nsA, "ip", "link", "set", `uV${tag}`, "up");
      await sh(nsB, "ip", "link", "set", `uW${tag}`, "address", "52:54:00:cc:dd:01");
      await sh(nsB, "ip", "link", "set", `uW${tag}`, "up");
      const script = `${dir.path}/script.sh`;
      // udhcpc calls this with the lease in its environment: record it, configure the address.
      await Deno.writeTextFile(
        script,
        [
          "#!/bin/sh",
          `echo "$1 ip=$ip mask=$mask router=$router dns=$dns domain=$domain lease=$lease mtu=$mtu serverid=$serverid" >> ${dir.path}/events`,
          'if [ "$1" = bound ]; then ip addr add "$ip/$mask" dev "$interface"; fi',
          "exit 0",
          "",
        ].join("\n"),
      );
      await Deno.chmod(script, 0o755);
      server = new Peer("usernet-dhcp-server", "ip", [
        "netns",
        "exec",
        nsA,
        Deno.execPath(),
        "run",
        "-A",
        "--unstable-net",
        new URL("./dhcp_udhcpc_server_child.ts", import.meta.url).pathname,
        `uV${tag}`,
        "10.79.0.1",
      ]);
      await server.waitForOutput('"listening":true', 20_000);
      // udhcpc stays in the foreground; SIGUSR1 makes it renew, SIGUSR2 release.
      const client = new Peer("udhcpc", "ip", [
        "netns",
        "exec",
        nsB,
        "busybox",
        "udhcpc",
        "-i",
        `uW${tag}`,
        "-f",
        "-n",
        "-t",
        "3",
        "-T",
        "1",
        "-s",
        script,
        "-x",
        "hostname:vm9",
        "-O",
        "mtu",
        "-p",
        `${dir.path}/udhcpc.pid`,
      ]);
      const pid = async () => Number(await Deno.readTextFile(`${dir.path}/udhcpc.pid`));
      const events = () => Deno.readTextFile(`${dir.path}/events`).catch(() => "");
      try {
        await client.waitForOutput(
          /lease of 10\.79\.0\.10\d obtained from 10\.79\.0\.1, lease time 600/,
        );
        await waitFor("the bound script", async () => /\nbound /.test(await events()));
        assert.match(
          await events(),
          /bound ip=10\.79\.0\.10\d mask=24 router=10\.79\.0\.1 dns=10\.79\.0\.53 domain=usernet\.test lease=600 mtu=1400 serverid=10\.79\.0\.1/,
        );
        Deno.kill(await pid(), "SIGUSR1");
        await waitFor(
          "the renew script",
          async () => /\nrenew ip=10\.79\.0\.10\d/.test(await events()),
        );
        Deno.kill(await pid(), "SIGUSR2");
        await server.waitForOutput(/"got":"DHCPRELEASE".*released/, 10_000);
      } finally {
        await client.stop();
      }
      const lines = server.log.trim().split("\n").map((l) => JSON.parse(l));
      const exchange = lines.filter((l) => l.got).map((l) => `${l.got}->${l.reply}`);
      assert.deepEqual(exchange, [
        "DHCPDISCOVER->DHCPOFFER",
        "DHCPREQUEST->DHCPACK",
        "DHCPREQUEST->DHCPACK", // the renewal, unicast from the leased address
        "DHCPRELEASE->null",
      ]);
      assert.equal(lines.find((l) => l.reply === "DHCPACK").mac, "52:54:00:cc:dd:01");
    } catch (e) {
      if (server) console.error(`server log:\n${server.log}`);
      throw e;
    } finally {
      await server?.stop();
      await run("ip", ["netns", "del", nsA], { allowFail: true });
      await run("ip", ["netns", "del", nsB], { allowFail: true });
      await dir.cleanup();
    }
  },
);
