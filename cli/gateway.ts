/**
 * `deno task gateway --listen unix:PATH|tcp:HOST:PORT [--forward ...] [--pcap FILE]`: the network
 * for QEMU VMs, from `deno run`. Start it, then
 * `qemu-system-x86_64 ... -netdev stream,id=n0,addr.type=unix,addr.path=PATH -device virtio-net-pci,netdev=n0`
 * and the VM gets DHCP (10.0.2.15 and up), DNS on 10.0.2.3, and the host's network through NAT;
 * 10.0.2.2 is the host's loopback. Run with `--allow-ffi` too (`deno run --allow-net --allow-read
 * --allow-write --allow-ffi cli/gateway.ts ...`) and guests' pings to outside addresses go out
 * through Linux ping sockets, where `net.ipv4.ping_group_range` includes the process's group.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { Gateway, parsePortForward } from "../net/gateway/gateway.ts";
import { parseStreamAddress, QemuStreamServer } from "../drivers/qemu_stream.ts";
import { QemuDgramNic } from "../drivers/qemu_dgram.ts";
import { PcapNic } from "../drivers/pcap.ts";
import { runMain, UsageError } from "./_nic_flags.ts";

const HELP = `usage: deno task gateway --listen unix:PATH|tcp:HOST:PORT [options]
  --listen ADDRESS          QEMU connects here (-netdev stream,...,server=off); repeatable
  --dgram LOCAL,REMOTE      a QEMU dgram netdev (unix:PATH or udp:HOST:PORT each side)
  --forward tcp:HOSTPORT:GUESTIP:GUESTPORT   host port to guest (also udp:, and tcp:HOSTADDR:...)
  --network 10.0.2.0/24     the virtual LAN (gateway .2, DNS .3, DHCP from .15)
  --dns-server IP[:PORT]    where DNS questions go (default: the host's resolver)
  --connect-timeout S       how long a guest's connection waits for the host's connect before
                            the guest gets RST (default 20)
  --pcap FILE               capture the gateway's traffic
Guests' pings to outside addresses are forwarded when deno runs with --allow-ffi and
net.ipv4.ping_group_range includes this process's group (Linux ping sockets).`;

function dgramEnd(text: string): { path: string } | { hostname: string; port: number } {
  if (text.startsWith("unix:")) return { path: text.slice(5) };
  const m = /^udp:(.+):(\d+)$/.exec(text);
  if (!m) throw new UsageError(`"${text}" is not unix:PATH or udp:HOST:PORT`);
  return { hostname: m[1], port: Number(m[2]) };
}

if (import.meta.main) {
  runMain(async () => {
    const { values } = parseArgs({
      args: Deno.args,
      options: {
        listen: { type: "string", multiple: true },
        dgram: { type: "string", multiple: true },
        forward: { type: "string", multiple: true },
        network: { type: "string" },
        "dns-server": { type: "string" },
        "connect-timeout": { type: "string" },
        pcap: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
    if (values.help) {
      console.log(HELP);
      return 0;
    }
    if (!values.listen?.length && !values.dgram?.length) {
      throw new UsageError("give at least one --listen unix:PATH|tcp:HOST:PORT (see --help)");
    }
    let dnsUpstream;
    if (values["dns-server"]) {
      const [ipAddr, port] = values["dns-server"].split(/:(?=\d+$)/);
      dnsUpstream = { ipAddr, port: port ? Number(port) : 53 };
    }
    const connectTimeout = values["connect-timeout"] === undefined
      ? undefined
      : Number(values["connect-timeout"]) * 1000;
    if (connectTimeout !== undefined && !(connectTimeout > 0)) {
      throw new UsageError("--connect-timeout needs a positive number of seconds");
    }
    const gateway = new Gateway({
      network: values.network,
      connectTimeout,
      dnsUpstream,
      forwards: (values.forward ?? []).map(parsePortForward),
      wrapNic: values.pcap ? (nic) => new PcapNic(nic, values.pcap!) : undefined,
    });
    console.log(
      `usernet gateway ${gateway.address}/${gateway.prefixLength}, DNS ${gateway.dnsAddress}, DHCP from .15`,
    );
    for (const f of gateway.forwards) {
      console.log(
        `forward ${f.protocol} ${f.hostAddress}:${f.hostPort} -> ${f.guestAddress}:${f.guestPort}`,
      );
    }
    const servers: QemuStreamServer[] = [];
    for (const text of values.listen ?? []) {
      const server = QemuStreamServer.listen(parseStreamAddress(text));
      servers.push(server);
      console.log(`listening for QEMU on ${text} (-netdev stream,...,server=off)`);
      (async () => {
        for (;;) {
          let nic;
          try {
            nic = await server.accept();
          } catch {
            return; // closed
          }
          console.log(`VM attached on ${text}`);
          gateway.attach(nic).then(() => console.log(`VM on ${text} detached`));
        }
      })();
    }
    for (const text of values.dgram ?? []) {
      const [local, remote] = text.split(",");
      if (!remote) throw new UsageError("--dgram needs LOCAL,REMOTE");
      gateway.attach(QemuDgramNic.open({ local: dgramEnd(local), remote: dgramEnd(remote) }));
      console.log(`QEMU dgram netdev on ${text}`);
    }
    await new Promise<void>((resolve) => {
      Deno.addSignalListener("SIGINT", resolve);
      Deno.addSignalListener("SIGTERM", resolve);
    });
    for (const s of servers) s.close();
    const stats = gateway.stats();
    await gateway.close();
    console.log(
      `gateway stats: tcp accepted ${stats.tcpAccepted} refused ${stats.tcpRefused}, udp flows ${stats.udpFlows}, dns ${stats.dnsQueries}, leases ${stats.dhcpLeases}, icmp echo forwarded ${stats.icmpEchoForwarded} replies ${stats.icmpEchoReplies} dropped ${stats.icmpEchoDropped}`,
    );
    return 0;
  });
}
