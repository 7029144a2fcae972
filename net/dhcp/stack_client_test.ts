/**
 * The stack's DHCP client against a usernet DhcpServer on the other end of a memory link:
 * acquisition and the lease applied, renewal at T1, expiry taking the address down, DECLINE on
 * an ARP conflict, NAK of a remembered lease, release.
 */
import assert from "node:assert/strict";
import { MemoryLink } from "../../drivers/memory.ts";
import { Stack } from "../stack.ts";
import { parseIpv4Address } from "../wire/address.ts";
import type { DhcpLease } from "./client.ts";
import { type DhcpLeaseEvent, DhcpStopped } from "./stack_client.ts";
import {
  type DhcpServerReplyEvent,
  StackDhcpServer,
  type StackDhcpServerOptions,
} from "./stack_server.ts";

function network(server: Partial<StackDhcpServerOptions> = {}) {
  const [a, b] = MemoryLink.pair();
  const gateway = new Stack({ nic: a, address: "10.0.2.2/24" });
  const dhcpd = new StackDhcpServer(gateway, {
    poolStart: "10.0.2.15",
    poolEnd: "10.0.2.30",
    routers: ["10.0.2.2"],
    dnsServers: ["10.0.2.3"],
    domainName: "usernet.test",
    mtu: 1400,
    ...server,
  });
  const client = new Stack({ nic: b });
  const events: DhcpLeaseEvent[] = [];
  client.addEventListener("lease", (e) => events.push(e as DhcpLeaseEvent));
  return {
    gateway,
    dhcpd,
    client,
    events,
    close: async () => {
      dhcpd.close();
      await Promise.all([gateway.close(), client.close()]);
    },
  };
}

function nextEvent(stack: Stack, change: string): Promise<DhcpLeaseEvent> {
  return new Promise((resolve) => {
    const on = (e: Event) => {
      if ((e as DhcpLeaseEvent).change !== change) return;
      stack.removeEventListener("lease", on);
      resolve(e as DhcpLeaseEvent);
    };
    stack.addEventListener("lease", on);
  });
}

Deno.test("stack dhcp: DISCOVER..ACK, the lease configures address, route and DNS", async () => {
  const n = network();
  try {
    const replies: string[] = [];
    n.dhcpd.addEventListener("reply", (e) => {
      const r = e as DhcpServerReplyEvent;
      replies.push(`${r.messageType} ${r.address} ${r.mac}`);
    });
    const lease = await n.client.dhcp({ hostname: "unit", probe: { count: 1, waitMs: 50 } });
    assert.deepEqual(n.client.ipv4, {
      address: "10.0.2.15",
      prefixLength: 24,
      gateway: "10.0.2.2",
    });
    assert.equal(lease.domain, "usernet.test");
    assert.equal(lease.mtu, 1400);
    assert.equal(n.client.mtu, 1400, "the lease's MTU is applied");
    assert.deepEqual(n.client.resolver.servers, ["10.0.2.3:53"]);
    assert.equal(n.client.dhcpClient?.state, "BOUND");
    assert.deepEqual(n.events.map((e) => [e.change, e.address]), [["acquired", "10.0.2.15"]]);
    assert.deepEqual(replies, [`2 10.0.2.15 ${n.client.mac}`, `5 10.0.2.15 ${n.client.mac}`]);
    assert.equal(n.dhcpd.leases()[0].hostname, "unit");
    // The address works: the gateway reaches us and we reach it.
    assert.equal((await n.gateway.ping("10.0.2.15")).from, "10.0.2.15");
    assert.equal((await n.client.ping("10.0.2.2")).from, "10.0.2.2");
    // A second dhcp() call returns the same lease.
    assert.equal(await n.client.dhcp(), lease);
  } finally {
    await n.close();
  }
});

Deno.test("stack dhcp: OFFER and ACK unicast to the offered address are taken before it is ours", async () => {
  // Without the BROADCAST flag our server (like passt, whatever the flag) sends OFFER and ACK
  // to yiaddr at the client's MAC (RFC 2131 §4.1): IPv4 for an address the stack does not
  // have yet, which only the DHCP client's port may take.
  const n = network();
  const serverNic = n.gateway.nic;
  const transmit = serverNic.transmit.bind(serverNic);
  const replyMacs: string[] = [];
  serverNic.transmit = (frames) => {
    for (const f of frames) {
      const d = f.data;
      // IPv4 (0x0800), UDP (17), source port 67: a DHCP reply; note its Ethernet destination.
      if (d[12] === 8 && d[13] === 0 && d[23] === 17 && ((d[34] << 8) | d[35]) === 67) {
        replyMacs.push(
          Array.from(d.subarray(0, 6), (b) => b.toString(16).padStart(2, "0")).join(":"),
        );
      }
    }
    transmit(frames);
  };
  try {
    const lease = await n.client.dhcp(
      { probe: false, broadcastFlag: false },
      AbortSignal.timeout(5000), // a failure is a clear error, not a hang
    );
    assert.deepEqual(replyMacs, [n.client.mac, n.client.mac], "OFFER and ACK were unicast");
    assert.equal(lease.address, parseIpv4Address("10.0.2.15"));
    assert.equal(n.client.ipv4?.address, "10.0.2.15");
    assert.equal(n.client.stats().drops["ipv4/not-for-us"], undefined);
  } finally {
    await n.close();
  }
});

Deno.test("stack dhcp: new Stack({ dhcp: true }) configures itself", async () => {
  const [a, b] = MemoryLink.pair();
  const gateway = new Stack({ nic: a, address: "192.168.9.1/24" });
  const dhcpd = new StackDhcpServer(gateway, {
    poolStart: "192.168.9.100",
    poolEnd: "192.168.9.100",
  });
  const client = new Stack({ nic: b, dhcp: { probe: false } });
  try {
    const lease = await client.dhcp();
    assert.equal(lease.address, parseIpv4Address("192.168.9.100"));
    assert.equal(client.ipv4?.address, "192.168.9.100");
    assert.equal(client.ipv4?.gateway, undefined, "no router option, no default route");
  } finally {
    dhcpd.close();
    await Promise.all([gateway.close(), client.close()]);
  }
});

Deno.test("stack dhcp: renews at T1 (unicast to the server), keeps the address", async () => {
  const n = network({ leaseTime: 30, renewalTime: 1, rebindingTime: 20 });
  try {
    const lease = await n.client.dhcp({ probe: false });
    const renewed = await nextEvent(n.client, "renewed");
    assert.equal(renewed.lease!.address, lease.address);
    assert.ok(renewed.lease!.obtainedAt > lease.obtainedAt);
    assert.equal(n.client.ipv4?.address, "10.0.2.15");
    assert.equal(n.client.dhcpClient?.state, "BOUND");
  } finally {
    await n.close();
  }
});

Deno.test("stack dhcp: a lease that runs out takes the address down", async () => {
  const n = network({ leaseTime: 2, renewalTime: 1, rebindingTime: 1 });
  try {
    await n.client.dhcp({ probe: false });
    n.dhcpd.close(); // the server goes away: no renewal can succeed
    const lost = await nextEvent(n.client, "lost");
    assert.equal(lost.reason, "expired");
    assert.equal(n.client.ipv4, undefined);
    assert.equal(n.client.dhcpClient?.lease, undefined);
    assert.ok(["SELECTING", "INIT"].includes(n.client.dhcpClient!.state));
  } finally {
    await n.close();
  }
});

Deno.test("stack dhcp: an ARP answer for the offered address makes the client DECLINE it", async () => {
  const n = network();
  // Another host already uses the first pool address: the gateway answers ARP for it.
  n.gateway._iface.extraAddresses.add(parseIpv4Address("10.0.2.15")!);
  try {
    const lease = await n.client.dhcp({ declineDelayMs: 50, probe: { count: 2, waitMs: 300 } });
    assert.deepEqual(n.events.map((e) => [e.change, e.address]), [
      ["declined", "10.0.2.15"],
      ["acquired", "10.0.2.16"],
    ]);
    assert.equal(lease.address, parseIpv4Address("10.0.2.16"));
    assert.equal(n.client.ipv4?.address, "10.0.2.16");
  } finally {
    await n.close();
  }
});

Deno.test("stack dhcp: a remembered lease the server refuses (NAK) falls back to DISCOVER", async () => {
  const n = network();
  const remembered: DhcpLease = {
    address: parseIpv4Address("10.9.9.9")!, // not on the server's network: NAK
    prefixLength: 24,
    subnetMask: 0xffffff00,
    routers: [],
    dns: [],
    leaseTime: 3600,
    renewalTime: 1800,
    rebindingTime: 3150,
    serverId: parseIpv4Address("10.0.2.2")!,
    obtainedAt: 0,
    expiresAt: performance.now() + 3_600_000,
  };
  try {
    const replies: number[] = [];
    n.dhcpd.addEventListener("reply", (e) => replies.push((e as DhcpServerReplyEvent).messageType));
    const lease = await n.client.dhcp({ previousLease: remembered, probe: false });
    assert.equal(lease.address, parseIpv4Address("10.0.2.15"));
    assert.deepEqual(replies, [6, 2, 5]); // NAK, OFFER, ACK
  } finally {
    await n.close();
  }
});

Deno.test("stack dhcp: INIT-REBOOT gets a remembered lease back in one exchange", async () => {
  const n = network();
  try {
    const first = await n.client.dhcp({ probe: false });
    // A second client with the same MAC (a restart) remembers the lease.
    await n.client.close();
    const [a2, b2] = MemoryLink.pair({ macs: [n.gateway._iface.mac, n.client._iface.mac] });
    const gateway2 = new Stack({ nic: a2, address: "10.0.2.2/24" });
    const dhcpd2 = new StackDhcpServer(gateway2, { poolStart: "10.0.2.15", poolEnd: "10.0.2.30" });
    const restarted = new Stack({ nic: b2 });
    const replies: number[] = [];
    dhcpd2.addEventListener("reply", (e) => replies.push((e as DhcpServerReplyEvent).messageType));
    try {
      const again = await restarted.dhcp({ previousLease: first, probe: false });
      assert.equal(again.address, first.address);
      assert.deepEqual(replies, [5], "REQUEST answered by ACK, no DISCOVER");
    } finally {
      dhcpd2.close();
      await Promise.all([gateway2.close(), restarted.close()]);
    }
  } finally {
    await n.close();
  }
});

Deno.test("stack dhcp: release sends DHCPRELEASE and removes the address", async () => {
  const n = network();
  try {
    await n.client.dhcp({ probe: false });
    assert.equal(n.dhcpd.leases()[0].state, "bound");
    await n.client.dhcpClient!.release();
    assert.equal(n.client.ipv4, undefined);
    assert.deepEqual(n.events.map((e) => [e.change, e.reason]), [
      ["acquired", undefined],
      ["lost", "released"],
    ]);
    const released = () => n.dhcpd.leases()[0]?.state === "released";
    for (let i = 0; i < 100 && !released(); i++) await new Promise((r) => setTimeout(r, 5));
    assert.equal(n.dhcpd.leases()[0].state, "released");
  } finally {
    await n.close();
  }
});

Deno.test("stack dhcp: bound() rejects with DhcpStopped when the stack closes first", async () => {
  const [a] = MemoryLink.pair();
  const lonely = new Stack({ nic: a });
  const waiting = lonely.dhcp({ probe: false });
  await lonely.close();
  await assert.rejects(waiting, DhcpStopped);
});

Deno.test("stack dhcp: bound() rejects with the signal's reason when aborted", async () => {
  const [a] = MemoryLink.pair();
  const lonely = new Stack({ nic: a });
  const abort = new AbortController();
  const waiting = lonely.dhcp({ probe: false }, abort.signal);
  abort.abort(new Error("gave up"));
  await assert.rejects(waiting, /gave up/);
  await lonely.close();
});

Deno.test("stack dhcp: a bound (or failed) wait takes its abort listener off the signal", async () => {
  // A listener left on AbortSignal.timeout() keeps Deno's process alive until the timeout.
  const counted = () => {
    const signal = new AbortController().signal;
    let listeners = 0;
    const add = signal.addEventListener.bind(signal);
    const remove = signal.removeEventListener.bind(signal);
    signal.addEventListener = ((...a: Parameters<typeof add>) => (listeners++, add(...a))) as never;
    signal.removeEventListener =
      ((...a: Parameters<typeof remove>) => (listeners--, remove(...a))) as never;
    return { signal, listeners: () => listeners };
  };
  const n = network();
  try {
    const s = counted();
    await n.client.dhcp({ probe: false }, s.signal);
    assert.equal(s.listeners(), 0, "bound: listener removed");
  } finally {
    await n.close();
  }
  const [a] = MemoryLink.pair();
  const lonely = new Stack({ nic: a });
  const s = counted();
  const waiting = lonely.dhcp({ probe: false }, s.signal);
  await lonely.close();
  await assert.rejects(waiting, DhcpStopped);
  assert.equal(s.listeners(), 0, "stopped: listener removed");
});

Deno.test("stack dhcp: DISCOVER leaves from 0.0.0.0:68 to 255.255.255.255:67 at the broadcast MAC", async () => {
  const [a, b] = MemoryLink.pair();
  const sent: Uint8Array[] = [];
  const transmit = b.transmit.bind(b);
  b.transmit = (frames) => {
    for (const f of frames) sent.push(f.data.slice());
    transmit(frames);
  };
  const client = new Stack({ nic: b });
  try {
    client.dhcp({ probe: false }).catch(() => {});
    for (let i = 0; i < 100 && sent.length === 0; i++) await new Promise((r) => setTimeout(r, 5));
    const frame = sent[0];
    const view = new DataView(frame.buffer);
    assert.deepEqual([...frame.subarray(0, 6)], [255, 255, 255, 255, 255, 255]);
    assert.equal(view.getUint16(12), 0x0800);
    assert.equal(view.getUint32(26), 0, "source 0.0.0.0");
    assert.equal(view.getUint32(30), 0xffffffff, "destination 255.255.255.255");
    assert.deepEqual([view.getUint16(34), view.getUint16(36)], [68, 67]);
    const dhcp = frame.subarray(42);
    assert.equal(dhcp[0], 1, "BOOTREQUEST");
    assert.equal(dhcp[10] & 0x80, 0x80, "BROADCAST flag: replies must come back broadcast");
  } finally {
    await client.close();
    a.close();
  }
});
