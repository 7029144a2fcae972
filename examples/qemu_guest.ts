/**
 * Be the network of your own VM: usernet listens on a unix stream socket that QEMU's virtio-net
 * card connects to (`-netdev stream,server=off`), is 10.0.2.2, leases 10.0.2.15 to the guest by
 * DHCP, pings it and stops the VM. The guest must ask for DHCP; its serial console goes to
 * stderr. `--timeout S` (default 120) bounds each wait. Exits 0 when the guest answered.
 *
 *   deno run --allow-net --allow-read --allow-write --allow-run=qemu-system-x86_64 \
 *     examples/qemu_guest.ts --kernel vmlinuz --initrd initrd.img --append "console=ttyS0 ip=dhcp"
 *   deno run --allow-net --allow-read --allow-write --allow-run=qemu-system-x86_64 \
 *     examples/qemu_guest.ts --disk debian.qcow2 -- -accel kvm -m 1G   # after --: QEMU's own
 *
 * @module
 */
import { parseArgs } from "node:util";
import { QemuStreamServer, Stack } from "../mod.ts";
import { type DhcpServerReplyEvent, StackDhcpServer } from "../net/dhcp/stack_server.ts";

const { values: opt, positionals: qemuArgs } = parseArgs({
  args: Deno.args,
  allowPositionals: true,
  options: {
    kernel: { type: "string" },
    initrd: { type: "string" },
    append: { type: "string", default: "console=ttyS0" },
    disk: { type: "string" },
    timeout: { type: "string", default: "120" },
  },
});
if (!opt.kernel && !opt.disk) throw new Error("give --kernel PATH [--initrd PATH] or --disk PATH");
const image = opt.disk
  ? ["-drive", `file=${opt.disk},if=virtio`, "-snapshot"] // -snapshot: writes go to a temp file
  : ["-kernel", opt.kernel!, "-append", opt.append, ...opt.initrd ? ["-initrd", opt.initrd] : []];
const dir = await Deno.makeTempDir({ prefix: "usernet-vm-" });
const server = QemuStreamServer.listen({ path: `${dir}/net.sock` }); // first: QEMU connects once
const args = [
  ...["-nodefaults", "-display", "none", "-serial", "stdio", "-no-reboot", "-m", "512"],
  ...["-netdev", `stream,id=n0,server=off,addr.type=unix,addr.path=${dir}/net.sock`],
  ...["-device", "virtio-net-pci,netdev=n0", ...image, ...qemuArgs],
];
const qemu = new Deno.Command("qemu-system-x86_64", { args, stdin: "null", stdout: "piped" })
  .spawn();
qemu.stdout.pipeTo(Deno.stderr.writable, { preventClose: true }).catch(() => {});
let running = true;
qemu.status.then(() => running = false);
const within = <T>(promise: Promise<T>, what: string) =>
  Promise.race([
    promise,
    qemu.status.then((s) => Promise.reject(new Error(`QEMU exited (${s.code}) before ${what}`))),
    new Promise<never>((_, no) =>
      setTimeout(no, +opt.timeout * 1e3, new Error(`no ${what} within ${opt.timeout} s`))
    ),
  ]);
let stack: Stack | undefined, status = 1;
try {
  stack = new Stack({ nic: await within(server.accept(), "connection"), address: "10.0.2.2/24" });
  console.log(`guest connected to usernet ${stack.ipv4!.address} (${stack.mac})`);
  const pool = { poolStart: "10.0.2.15", poolEnd: "10.0.2.30", routers: ["10.0.2.2"] };
  const dhcpd = new StackDhcpServer(stack, pool); // on usernet's UDP port 67
  const acked = new Promise<string>((resolve) =>
    dhcpd.addEventListener("reply", (e) => {
      const { messageType, address, mac } = e as DhcpServerReplyEvent;
      if (messageType === 5) resolve(address), console.log(`dhcp: ${address} leased to ${mac}`);
    })
  );
  const guest = await within(acked, "DHCP lease");
  for (let seq = 1; seq <= 3; seq++) { // the first waits until the guest has set its address
    const reply = await within(stack.ping(guest, { timeout: 5000 }), "ping reply");
    console.log(`ping ${reply.from}: seq ${seq}, ${reply.bytes} bytes, ${reply.rtt.toFixed(2)} ms`);
  }
  status = 0;
} catch (error) {
  console.error(`${(error as Error).name}: ${(error as Error).message}`);
}
if (running) qemu.kill(); // SIGTERM: QEMU stops the VM
await qemu.status;
await stack?.close();
server.close();
await Deno.remove(dir, { recursive: true });
Deno.exit(status);
