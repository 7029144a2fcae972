/**
 * A tiny real Linux guest under QEMU, for interop tests where the guest's own Linux TCP/IP stack
 * is the peer of usernet over a QEMU `-netdev stream` (or `dgram`) socket.
 *
 * {@linkcode ensureGuest} builds, once, a kernel and an initramfs under `.cache/guest/` at the
 * repository root: the kernel comes from Debian's `linux-image-cloud-amd64` package (fetched with
 * `apt-get download` and unpacked, never installed), the userland is `busybox-static`. The
 * initramfs's `/init` mounts proc/sys/dev, loads virtio-net, configures `eth0` from the kernel
 * command line (static address or DHCP through `udhcpc`), runs the test's shell script, prints
 * `USERNET-EXIT status=N` and powers off.
 *
 * {@linkcode bootGuest} starts QEMU (software emulation: KVM does not work on the project's
 * machines) with that image plus a small per-boot cpio holding the script and any extra files,
 * appended to the initramfs. The guest prints markers on its serial console, which is QEMU's
 * stdout:
 *
 * - `USERNET-BOOT uptime=S` when `/init` starts;
 * - `USERNET-RESULT dhcp.ip=A/P` (and `dhcp.router`, `dhcp.dns`, `dhcp.mtu`, ...) when a DHCP
 *   lease is applied;
 * - `USERNET-READY ip=A/P` when the network is configured, right before the script runs;
 * - `USERNET-RESULT key=value` for each `result key value` (or `check key cmd ...`) in the script;
 * - `USERNET-EXIT status=N` with the script's exit status, right before `poweroff -f`.
 *
 * Inside the script, two shell functions are available: `result KEY VALUE...` prints a result
 * line, and `check KEY CMD ARGS...` runs a command and records its exit status as result KEY.
 * Every busybox applet is on PATH (ping, nc, wget, httpd, udhcpc, nslookup, sha256sum, dd, ...).
 *
 * Things to know when writing tests with it:
 * - Listen before {@linkcode bootGuest}: QEMU 7.2 connects a client netdev once and, if that
 *   fails, runs the guest unplugged without a word (a missing unix socket is caught up front).
 * - Under TCG the guest is slow: ~2.4 s to its first frame, and TCP from the guest reached
 *   ~57 Mbit/s through slirp here. Keep transfers to a few MB.
 * - busybox `nc` half-closes after its stdin ends and then waits for the peer to close: close
 *   your side when you have read everything, or the script never ends.
 * - With IPv6 on (the default) the guest also sends router solicitations, MLD reports and DAD
 *   probes; pass `ipv6: false` for a quieter wire.
 * - Frames on a stream netdev are each a 4-byte big-endian length then the Ethernet frame; on
 *   a dgram netdev one per datagram. The card offers no offloads there: frames fit the MTU.
 *
 * @example Boot a guest that pings the gateway through a stream socket you listen on
 * ```ts ignore
 * import { bootGuest, ensureGuest } from "./_guest.ts";
 * const listener = Deno.listen({ transport: "unix", path: "/tmp/g.sock" }); // listen first
 * const guest = bootGuest({
 *   image: await ensureGuest(),
 *   netdev: { unixPath: "/tmp/g.sock" },
 *   script: "check ping ping -c1 -W5 10.0.2.2",
 * });
 * const conn = await listener.accept(); // frames: 4-byte big-endian length, then Ethernet
 * // ... answer ARP and ICMP over conn ...
 * const exit = await guest.waitForExit(60_000);
 * console.log(exit.scriptStatus, guest.results.ping);
 * ```
 *
 * @module
 */

/** The kernel and initramfs a guest boots from. */
export interface GuestImage {
  /** Path of the kernel (bzImage). */
  kernel: string;
  /** Path of the gzip-compressed newc initramfs with busybox, the modules and `/init`. */
  initrd: string;
  /** The kernel's release, e.g. `6.1.0-56-cloud-amd64`. */
  kernelRelease: string;
}

/** Options of {@linkcode ensureGuest}. */
export interface EnsureGuestOptions {
  /**
   * Debian package to take the kernel from: a concrete one (`linux-image-6.1.0-56-cloud-amd64`)
   * or a metapackage resolved with apt-cache (`linux-image-amd64`). By default the newest kernel
   * already in the cache is reused, else `linux-image-cloud-amd64` is resolved; its boot under
   * TCG takes about half the time of the generic `linux-image-amd64`.
   */
  kernelPackage?: string;
  /** Cache folder; defaults to `.cache/guest/` at the repository root. */
  cacheDir?: string;
  /** The static busybox to put in the initramfs; defaults to `/bin/busybox`. */
  busybox?: string;
  /** Receives one line per build step (downloads, extraction); silent by default. */
  log?: (message: string) => void;
}

/** The guest's network interface configuration, from the kernel command line. */
export type GuestNetConfig =
  | { ip: string; gateway?: string; dns?: string; mtu?: number }
  | { dhcp: true; mtu?: number }
  | "none";

/** Where the guest's virtio-net card is plugged. */
export type GuestNetdev =
  /** QEMU connects (once, without retry) to a unix stream socket the caller listens on. */
  | { unixPath: string }
  /** QEMU connects (once, without retry) to a TCP socket the caller listens on, `host:port`. */
  | { tcp: string }
  /** One frame per datagram between QEMU's socket `localPath` and the caller's `remotePath`. */
  | { dgram: { localPath: string; remotePath: string } }
  /** QEMU's own user network (libslirp), restricted so nothing leaves: for self-tests only. */
  | { slirp: true };

/** A file placed into the guest's root file system before `/init` runs. */
export type GuestFile = string | Uint8Array | { data: string | Uint8Array; mode: number };

/** Options of {@linkcode bootGuest}. */
export interface BootGuestOptions {
  /** What {@linkcode ensureGuest} returned. */
  image: GuestImage;
  /** Where the network card is plugged. */
  netdev: GuestNetdev;
  /** Shell script run by busybox sh after the network is up (with `result` and `check`). */
  script: string;
  /**
   * The interface configuration; defaults to QEMU's usual `10.0.2.15/24` via `10.0.2.2`, DNS
   * `10.0.2.3`.
   */
  net?: GuestNetConfig;
  /** The card's MAC address; defaults to `52:54:00:12:34:56`. */
  mac?: string;
  /** Guest memory; defaults to 256 MiB (files passed in live in RAM). */
  memoryMb?: number;
  /** Whether the guest kernel runs IPv6; default true (it then sends RS, MLD and DAD frames). */
  ipv6?: boolean;
  /** Extra files for the guest, by absolute path; mode defaults to 0644. */
  files?: Record<string, GuestFile>;
  /** Extra kernel command-line words. */
  cmdline?: string;
  /** Extra virtio-net-pci properties, e.g. `"host_mtu=9000"`. */
  deviceOptions?: string;
}

/** How a guest ended. */
export interface GuestExit {
  /** QEMU's exit code (0 after `poweroff -f`). */
  code: number;
  /** The signal that ended QEMU, when it was killed. */
  signal: Deno.Signal | null;
  /** The script's exit status from `USERNET-EXIT status=N`, or undefined if it never ended. */
  scriptStatus: number | undefined;
}

/** The guest image could not be built; the message says what to install or fix. */
export class GuestBuildError extends Error {
  /**
   * Creates the error; the message should say what to do about it.
   *
   * @example
   * ```ts
   * import { GuestBuildError } from "./_guest.ts";
   * const e = new GuestBuildError("busybox-static is not installed");
   * console.assert(e.name === "GuestBuildError");
   * ```
   */
  constructor(message: string) {
    super(message);
    this.name = "GuestBuildError";
  }
}

/** A guest did not print what was awaited before the deadline. The message holds the console. */
export class GuestTimeout extends Error {
  /**
   * Creates the error; the message should say what to do about it.
   *
   * @example
   * ```ts
   * import { GuestTimeout } from "./_guest.ts";
   * const e = new GuestTimeout("no USERNET-READY within 60000 ms");
   * console.assert(e.name === "GuestTimeout");
   * ```
   */
  constructor(message: string) {
    super(message);
    this.name = "GuestTimeout";
  }
}

/** QEMU ended before the guest printed what was awaited. The message holds QEMU's stderr. */
export class GuestExited extends Error {
  /**
   * Creates the error; the message should say what to do about it.
   *
   * @example
   * ```ts
   * import { GuestExited } from "./_guest.ts";
   * const e = new GuestExited("QEMU exited (code 1) before /READY/", { code: 1, signal: null, scriptStatus: undefined });
   * console.assert(e.exit.code === 1);
   * ```
   */
  constructor(message: string, readonly exit: GuestExit) {
    super(message);
    this.name = "GuestExited";
  }
}

/**
 * The guest's network socket is not there. QEMU 7.2 connects a client netdev once, without
 * retry, and on failure runs the guest silently without network: so this is checked up front.
 */
export class GuestNetdevError extends Error {
  /**
   * Creates the error; the message should say what to do about it.
   *
   * @example
   * ```ts
   * import { GuestNetdevError } from "./_guest.ts";
   * const e = new GuestNetdevError("no listening socket at /tmp/x.sock");
   * console.assert(e.name === "GuestNetdevError");
   * ```
   */
  constructor(message: string) {
    super(message);
    this.name = "GuestNetdevError";
  }
}

/** The virtio-net modules, in load order (each depends only on earlier ones). */
export const GUEST_MODULES: readonly string[] = [
  "virtio_ring",
  "virtio",
  "virtio_pci_legacy_dev",
  "virtio_pci_modern_dev",
  "virtio_pci",
  "failover",
  "net_failover",
  "virtio_net",
];

/** The default MAC of QEMU's first NIC, also used here. */
export const GUEST_MAC = "52:54:00:12:34:56";

const DEFAULT_KERNEL_PACKAGE = "linux-image-cloud-amd64";
/** Bump when the layout of the image changes in a way the scripts' hash does not capture. */
const BUILDER_VERSION = "1";

// The guest's /init. Kernel messages stay quiet; every line the host parses starts with USERNET-.
const INIT_SCRIPT = `#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin HOME=/root
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm /tmp /run /var/run /root
mount -t devpts devpts /dev/pts
read up _ < /proc/uptime
echo "USERNET-BOOT uptime=$up"
for m in ${GUEST_MODULES.join(" ")}; do
  insmod /lib/modules/$m.ko || echo "USERNET-ERROR insmod $m failed"
done
UN_IP= UN_GW= UN_DNS= UN_DHCP= UN_MTU=
for arg in $(cat /proc/cmdline); do
  case "$arg" in
    usernet.ip=*) UN_IP=\${arg#*=} ;;
    usernet.gw=*) UN_GW=\${arg#*=} ;;
    usernet.dns=*) UN_DNS=\${arg#*=} ;;
    usernet.dhcp=*) UN_DHCP=\${arg#*=} ;;
    usernet.mtu=*) UN_MTU=\${arg#*=} ;;
  esac
done
hostname usernet-guest
ip link set lo up
n=0
while [ ! -e /sys/class/net/eth0 ] && [ $n -lt 100 ]; do usleep 50000; n=$((n + 1)); done
[ -e /sys/class/net/eth0 ] || echo "USERNET-ERROR no eth0"
[ -n "$UN_MTU" ] && ip link set eth0 mtu "$UN_MTU"
ip link set eth0 up
if [ "$UN_DHCP" = 1 ]; then
  udhcpc -i eth0 -s /etc/udhcpc.script -f -q -n -t 5 -T 2 -O mtu -x hostname:usernet-guest \\
    || echo "USERNET-RESULT dhcp=failed"
elif [ -n "$UN_IP" ]; then
  ip addr add "$UN_IP" dev eth0
  [ -n "$UN_GW" ] && ip route add default via "$UN_GW" dev eth0
  [ -n "$UN_DNS" ] && echo "nameserver $UN_DNS" > /etc/resolv.conf
fi
read up _ < /proc/uptime
echo "USERNET-READY ip=$(ip -o -4 addr show dev eth0 | awk '{print $4; exit}') uptime=$up"
cd /root
sh -c '. /lib/usernet.sh; . /usernet/test.sh'
echo "USERNET-EXIT status=$?"
poweroff -f
sleep 5
`;

// Functions available to the test script.
const SCRIPT_LIBRARY = `# usernet guest helpers
result() { k=$1; shift; echo "USERNET-RESULT $k=$*"; }
check() { k=$1; shift; "$@"; echo "USERNET-RESULT $k=$?"; }
`;

// udhcpc's event script: applies the lease and reports it (busybox exports mask as a prefix).
const UDHCPC_SCRIPT = `#!/bin/sh
case "$1" in
  deconfig)
    ip -4 addr flush dev "$interface"
    ip link set "$interface" up
    ;;
  bound|renew)
    if ! ip -4 addr show dev "$interface" | grep -q "inet $ip/$mask "; then
      ip -4 addr flush dev "$interface"
      ip addr add "$ip/$mask" dev "$interface"
    fi
    [ -n "$mtu" ] && ip link set "$interface" mtu "$mtu"
    if [ -n "$router" ]; then
      ip route del default 2>/dev/null
      for r in $router; do ip route add default via "$r" dev "$interface"; break; done
    fi
    : > /etc/resolv.conf
    for d in $dns; do echo "nameserver $d" >> /etc/resolv.conf; done
    echo "USERNET-RESULT dhcp.event=$1"
    echo "USERNET-RESULT dhcp.ip=$ip/$mask"
    echo "USERNET-RESULT dhcp.router=$router"
    echo "USERNET-RESULT dhcp.dns=$dns"
    echo "USERNET-RESULT dhcp.mtu=$mtu"
    echo "USERNET-RESULT dhcp.lease=$lease"
    echo "USERNET-RESULT dhcp.serverid=$serverid"
    echo "USERNET-RESULT dhcp.domain=$domain"
    ;;
  leasefail|nak)
    echo "USERNET-RESULT dhcp.event=$1"
    ;;
esac
exit 0
`;

// ---------------------------------------------------------------------------------------------
// cpio (newc) writer

/** One entry of a newc cpio archive. */
export interface CpioEntry {
  /** Path without a leading slash, e.g. `bin/busybox`. */
  path: string;
  /** Full mode including the type bits (0o040000 directory, 0o100000 file, ...). */
  mode: number;
  /** File contents or symlink target. */
  data?: Uint8Array;
  /** Device numbers of character and block devices. */
  rdev?: [major: number, minor: number];
}

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFCHR = 0o020000;
const S_IFLNK = 0o120000;

/**
 * Serializes entries as a newc ("070701") cpio archive, the format the kernel's initramfs
 * unpacker reads. Owners are root, times zero, so equal inputs give equal bytes. Parent
 * directories must come before their children.
 *
 * @example
 * ```ts
 * import { writeCpio } from "./_guest.ts";
 * const archive = writeCpio([
 *   { path: "etc", mode: 0o040755 },
 *   { path: "etc/motd", mode: 0o100644, data: new TextEncoder().encode("hi\n") },
 * ]);
 * console.assert(new TextDecoder().decode(archive.subarray(0, 6)) === "070701");
 * ```
 */
export function writeCpio(entries: readonly CpioEntry[]): Uint8Array {
  const encoder = new TextEncoder();
  const parts: Uint8Array[] = [];
  let size = 0;
  const push = (bytes: Uint8Array) => {
    parts.push(bytes);
    size += bytes.length;
    const pad = (4 - (size % 4)) % 4;
    if (pad) {
      parts.push(new Uint8Array(pad));
      size += pad;
    }
  };
  const hex = (n: number) => n.toString(16).padStart(8, "0");
  let inode = 1;
  const all = [...entries, { path: "TRAILER!!!", mode: 0 } as CpioEntry];
  for (const entry of all) {
    const name = encoder.encode(entry.path + "\0");
    const data = entry.data ?? new Uint8Array(0);
    const isTrailer = entry.path === "TRAILER!!!";
    const isDir = (entry.mode & 0o170000) === S_IFDIR;
    const header = "070701" +
      hex(isTrailer ? 0 : inode++) + hex(entry.mode) + hex(0) + hex(0) +
      hex(isTrailer ? 1 : isDir ? 2 : 1) + hex(0) + hex(data.length) +
      hex(0) + hex(0) + hex(entry.rdev?.[0] ?? 0) + hex(entry.rdev?.[1] ?? 0) +
      hex(name.length) + hex(0);
    const head = new Uint8Array(header.length + name.length);
    head.set(encoder.encode(header));
    head.set(name, header.length);
    push(head);
    if (data.length) push(data);
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Adds the entries for a file and its missing parent directories. */
function addFile(
  entries: CpioEntry[],
  seenDirs: Set<string>,
  path: string,
  mode: number,
  data?: Uint8Array,
  rdev?: [number, number],
): void {
  const clean = path.replace(/^\/+/, "");
  if (!clean || clean.split("/").some((p) => p === "" || p === "." || p === "..")) {
    throw new TypeError(`guest file path ${JSON.stringify(path)} is not a clean absolute path`);
  }
  const parts = clean.split("/");
  for (let i = 1; i < parts.length; i++) {
    const dir = parts.slice(0, i).join("/");
    if (!seenDirs.has(dir)) {
      seenDirs.add(dir);
      entries.push({ path: dir, mode: S_IFDIR | 0o755 });
    }
  }
  if ((mode & 0o170000) === S_IFDIR) seenDirs.add(clean);
  entries.push({ path: clean, mode, data, rdev });
}

// ---------------------------------------------------------------------------------------------
// Building the image

const repoRoot = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");
const builds = new Map<string, Promise<GuestImage>>();

/**
 * Returns the guest image, building it on first use (a few seconds: one ~27 MB download) and
 * reusing it from `.cache/guest/` afterwards. Safe to call concurrently, also from several
 * processes: builds happen in temporary folders renamed into place.
 *
 * Needs (Debian packages): `apt` and `dpkg` (always there), `tar`, `busybox-static`; and
 * `apt-get update` once if the package lists are empty, which this does when running as root.
 *
 * @example
 * ```ts ignore
 * import { ensureGuest } from "./_guest.ts";
 * const image = await ensureGuest();
 * console.log(image.kernel, image.initrd, image.kernelRelease);
 * ```
 */
export function ensureGuest(options: EnsureGuestOptions = {}): Promise<GuestImage> {
  const key = JSON.stringify([options.kernelPackage, options.cacheDir, options.busybox]);
  let build = builds.get(key);
  if (!build) {
    build = buildGuest(options);
    builds.set(key, build);
    build.catch(() => builds.delete(key));
  }
  return build;
}

async function buildGuest(options: EnsureGuestOptions): Promise<GuestImage> {
  const cache = options.cacheDir ?? `${repoRoot}/.cache/guest`;
  const log = options.log ?? (() => {});
  const busybox = options.busybox ?? "/bin/busybox";
  await checkStaticBusybox(busybox);
  await Deno.mkdir(`${cache}/kernel`, { recursive: true });
  await Deno.mkdir(`${cache}/image`, { recursive: true });

  let release: string | undefined;
  if (options.kernelPackage === undefined) release = await newestCachedKernel(cache);
  let kernelDir = release ? `${cache}/kernel/${release}` : undefined;
  if (!kernelDir) {
    const pkg = await resolveKernelPackage(options.kernelPackage ?? DEFAULT_KERNEL_PACKAGE, log);
    release = pkg.replace(/^linux-image-/, "");
    kernelDir = `${cache}/kernel/${release}`;
    if (!(await exists(`${kernelDir}/manifest.json`))) {
      await fetchKernel(cache, pkg, release, log);
    }
  }

  const hash = await templateHash();
  const imageDir = `${cache}/image/${release}-${hash}`;
  if (!(await exists(`${imageDir}/initrd.cpio.gz`))) {
    log(`building initramfs ${imageDir}`);
    const tmp = await Deno.makeTempDir({ dir: `${cache}/image`, prefix: ".tmp-" });
    try {
      const initrd = await buildInitramfs(kernelDir, busybox);
      await Deno.writeFile(`${tmp}/initrd.cpio.gz`, initrd);
      await Deno.writeTextFile(
        `${tmp}/manifest.json`,
        JSON.stringify({ kernelRelease: release, hash, builtAt: new Date().toISOString() }) + "\n",
      );
      await renameIntoPlace(tmp, imageDir);
    } finally {
      await Deno.remove(tmp, { recursive: true }).catch(() => {});
    }
  }
  return {
    kernel: `${kernelDir}/vmlinuz`,
    initrd: `${imageDir}/initrd.cpio.gz`,
    kernelRelease: release!,
  };
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Renames a finished build into place; if another process won the race, keeps theirs. */
async function renameIntoPlace(from: string, to: string): Promise<void> {
  try {
    await Deno.rename(from, to);
  } catch (error) {
    if (!(await exists(to))) throw error;
  }
}

/** Whether the file is an ELF executable without a program interpreter (statically linked). */
async function checkStaticBusybox(path: string): Promise<void> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch {
    throw new GuestBuildError(
      `${path} not found: install the Debian package busybox-static (apt-get install busybox-static)`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const isElf64 = bytes.length > 64 && view.getUint32(0) === 0x7f454c46 && bytes[4] === 2 &&
    bytes[5] === 1;
  if (!isElf64) throw new GuestBuildError(`${path} is not a little-endian ELF64 executable`);
  const phoff = Number(view.getBigUint64(32, true));
  const phentsize = view.getUint16(54, true);
  const phnum = view.getUint16(56, true);
  for (let i = 0; i < phnum; i++) {
    const at = phoff + i * phentsize;
    if (at + 4 > bytes.length) break;
    if (view.getUint32(at, true) === 3) { // PT_INTERP: needs a dynamic loader the guest lacks
      throw new GuestBuildError(
        `${path} is dynamically linked; the guest has no libc: install busybox-static ` +
          `(apt-get install busybox-static), which replaces the busybox package`,
      );
    }
  }
}

async function newestCachedKernel(cache: string): Promise<string | undefined> {
  let best: { release: string; time: number } | undefined;
  for await (const entry of Deno.readDir(`${cache}/kernel`)) {
    if (!entry.isDirectory || entry.name.startsWith(".")) continue;
    try {
      const stat = await Deno.stat(`${cache}/kernel/${entry.name}/manifest.json`);
      const time = stat.mtime?.getTime() ?? 0;
      if (!best || time > best.time) best = { release: entry.name, time };
    } catch { /* an incomplete build */ }
  }
  return best?.release;
}

async function command(
  cmd: string,
  args: string[],
  cwd?: string,
): Promise<{ ok: boolean; out: string }> {
  try {
    const result = await new Deno.Command(cmd, { args, cwd, stdout: "piped", stderr: "piped" })
      .output();
    const out = new TextDecoder().decode(result.stdout) + new TextDecoder().decode(result.stderr);
    return { ok: result.success, out };
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new GuestBuildError(`${cmd} is not installed (needed to build the guest image)`);
    }
    throw error;
  }
}

/** Runs `apt-get update` when apt has no package lists (fresh containers remove them). */
async function ensureAptLists(log: (m: string) => void): Promise<void> {
  const lists = "/var/lib/apt/lists";
  try {
    for await (const entry of Deno.readDir(lists)) {
      if (entry.name.includes("_Packages")) return;
    }
  } catch { /* no folder: same as empty */ }
  if (Deno.uid() !== 0) {
    throw new GuestBuildError(
      `apt has no package lists (${lists} is empty) and this is not root: run apt-get update`,
    );
  }
  log("apt-get update (no package lists)");
  const update = await command("apt-get", ["update"]);
  if (!update.ok) throw new GuestBuildError(`apt-get update failed:\n${update.out}`);
}

/** Resolves a metapackage such as linux-image-cloud-amd64 to the concrete kernel package. */
async function resolveKernelPackage(name: string, log: (m: string) => void): Promise<string> {
  if (/^linux-image-\d/.test(name)) return name;
  await ensureAptLists(log);
  const deps = await command("apt-cache", ["depends", name]);
  const match = deps.out.match(/Depends: (linux-image-\d\S*)/);
  if (!deps.ok || !match) {
    throw new GuestBuildError(
      `apt-cache cannot resolve ${name} to a kernel package (is it a Debian kernel metapackage?):\n` +
        deps.out,
    );
  }
  log(`${name} -> ${match[1]}`);
  return match[1];
}

/** Downloads a kernel package and keeps vmlinuz and the virtio-net modules. */
async function fetchKernel(
  cache: string,
  pkg: string,
  release: string,
  log: (m: string) => void,
): Promise<void> {
  const tmp = await Deno.makeTempDir({ dir: `${cache}/kernel`, prefix: ".tmp-" });
  try {
    await ensureAptLists(log);
    log(`apt-get download ${pkg}`);
    const download = await command("apt-get", ["download", pkg], tmp);
    const deb = [...Deno.readDirSync(tmp)].find((e) => e.name.endsWith(".deb"))?.name;
    if (!download.ok || !deb) {
      throw new GuestBuildError(`apt-get download ${pkg} failed:\n${download.out}`);
    }
    // Only the kernel and the modules are unpacked: the whole package is ~100 MB.
    const tar = `${tmp}/data.tar`;
    const fsys = await command("sh", [
      "-c",
      `dpkg-deb --fsys-tarfile "$1" > "$2"`,
      "sh",
      `${tmp}/${deb}`,
      tar,
    ]);
    if (!fsys.ok) throw new GuestBuildError(`dpkg-deb cannot read ${deb}:\n${fsys.out}`);
    await Deno.mkdir(`${tmp}/x`);
    const names = GUEST_MODULES.map((m) => `*/${m}.ko*`);
    const extract = await command("tar", [
      "-xf",
      tar,
      "-C",
      `${tmp}/x`,
      "--wildcards",
      "./boot/vmlinuz-*",
      ...names,
    ]);
    if (!extract.ok) throw new GuestBuildError(`tar cannot unpack ${deb}:\n${extract.out}`);
    const out = `${tmp}/out`;
    await Deno.mkdir(`${out}/modules`, { recursive: true });
    const files = await listFiles(`${tmp}/x`);
    const vmlinuz = files.find((f) => /\/boot\/vmlinuz-[^/]+$/.test(f));
    if (!vmlinuz) throw new GuestBuildError(`${deb} holds no /boot/vmlinuz-*`);
    await Deno.copyFile(vmlinuz, `${out}/vmlinuz`);
    for (const module of GUEST_MODULES) {
      const found = files.find((f) => new RegExp(`/${module}\\.ko(\\.xz|\\.zst|\\.gz)?$`).test(f));
      if (!found) {
        throw new GuestBuildError(
          `${deb} has no module ${module}.ko (is virtio-net built in? this builder expects modules)`,
        );
      }
      await decompressModule(found, `${out}/modules/${module}.ko`);
    }
    await Deno.writeTextFile(
      `${out}/manifest.json`,
      JSON.stringify({ package: pkg, deb, release, builtAt: new Date().toISOString() }) + "\n",
    );
    await renameIntoPlace(out, `${cache}/kernel/${release}`);
  } finally {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
}

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) out.push(...await listFiles(path));
    else if (entry.isFile) out.push(path);
  }
  return out;
}

/**
 * Stores a module uncompressed: busybox's insmod reads plain ELF only, and Debian 12 ships plain
 * .ko files, but later kernels compress them (xz or zstd).
 */
async function decompressModule(from: string, to: string): Promise<void> {
  if (from.endsWith(".ko")) return Deno.copyFile(from, to);
  const tool = from.endsWith(".xz")
    ? ["busybox", "xz", "-dc"]
    : from.endsWith(".gz")
    ? ["busybox", "gzip", "-dc"]
    : ["zstd", "-dc"];
  let plain: Deno.CommandOutput;
  try {
    plain = await new Deno.Command(tool[0], {
      args: [...tool.slice(1), from],
      stdout: "piped",
      stderr: "piped",
    }).output();
  } catch {
    throw new GuestBuildError(`${tool[0]} is needed to decompress ${from}`);
  }
  if (!plain.success) {
    throw new GuestBuildError(
      `cannot decompress ${from}: ${new TextDecoder().decode(plain.stderr)}`,
    );
  }
  await Deno.writeFile(to, plain.stdout);
}

async function templateHash(): Promise<string> {
  const text = [BUILDER_VERSION, INIT_SCRIPT, SCRIPT_LIBRARY, UDHCPC_SCRIPT, ...GUEST_MODULES]
    .join("\0");
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].slice(0, 6).map((b) => b.toString(16).padStart(2, "0"))
    .join("");
}

async function buildInitramfs(kernelDir: string, busybox: string): Promise<Uint8Array> {
  const encoder = new TextEncoder();
  const entries: CpioEntry[] = [];
  const dirs = new Set<string>();
  for (const dir of ["bin", "dev", "proc", "sys", "tmp", "etc", "lib/modules", "root", "usernet"]) {
    addFile(entries, dirs, dir, S_IFDIR | (dir === "tmp" ? 0o1777 : 0o755));
  }
  // The kernel opens /dev/console for /init before devtmpfs is mounted.
  addFile(entries, dirs, "dev/console", S_IFCHR | 0o600, undefined, [5, 1]);
  addFile(entries, dirs, "dev/null", S_IFCHR | 0o666, undefined, [1, 3]);
  addFile(entries, dirs, "bin/busybox", S_IFREG | 0o755, await Deno.readFile(busybox));
  addFile(entries, dirs, "bin/sh", S_IFLNK | 0o777, encoder.encode("busybox"));
  addFile(entries, dirs, "init", S_IFREG | 0o755, encoder.encode(INIT_SCRIPT));
  addFile(entries, dirs, "lib/usernet.sh", S_IFREG | 0o644, encoder.encode(SCRIPT_LIBRARY));
  addFile(entries, dirs, "etc/udhcpc.script", S_IFREG | 0o755, encoder.encode(UDHCPC_SCRIPT));
  addFile(
    entries,
    dirs,
    "etc/passwd",
    S_IFREG | 0o644,
    encoder.encode("root:x:0:0::/root:/bin/sh\n"),
  );
  addFile(entries, dirs, "etc/group", S_IFREG | 0o644, encoder.encode("root:x:0:\n"));
  addFile(entries, dirs, "etc/hosts", S_IFREG | 0o644, encoder.encode("127.0.0.1 localhost\n"));
  for (const module of GUEST_MODULES) {
    const data = await Deno.readFile(`${kernelDir}/modules/${module}.ko`);
    addFile(entries, dirs, `lib/modules/${module}.ko`, S_IFREG | 0o644, data);
  }
  return await gzip(writeCpio(entries));
}

async function gzip(data: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([data as BufferSource]).stream().pipeThrough(
    new CompressionStream("gzip"),
  );
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

// ---------------------------------------------------------------------------------------------
// Booting

const baseInitrds = new Map<string, Uint8Array>();

/** The per-boot archive: the script and the caller's files. */
function bootArchive(script: string, files: Record<string, GuestFile>): Uint8Array {
  const encoder = new TextEncoder();
  const entries: CpioEntry[] = [];
  const dirs = new Set<string>();
  addFile(entries, dirs, "usernet/test.sh", S_IFREG | 0o755, encoder.encode(script));
  for (const [path, file] of Object.entries(files)) {
    if (!path.startsWith("/")) throw new TypeError(`guest file path ${path} must be absolute`);
    const { data, mode } = typeof file === "string" || file instanceof Uint8Array
      ? { data: file, mode: 0o644 }
      : file;
    const bytes = typeof data === "string" ? encoder.encode(data) : data;
    addFile(entries, dirs, path, S_IFREG | (mode & 0o7777), bytes);
  }
  return writeCpio(entries);
}

function kernelCommandLine(options: BootGuestOptions): string {
  const words = ["console=ttyS0", "quiet", "panic=-1"];
  const net = options.net ?? { ip: "10.0.2.15/24", gateway: "10.0.2.2", dns: "10.0.2.3" };
  const safe = (what: string, value: string | number) => {
    const text = String(value);
    if (!/^[0-9A-Za-z.:/_-]+$/.test(text)) throw new TypeError(`bad ${what}: ${text}`);
    return text;
  };
  if (net !== "none") {
    if ("dhcp" in net) words.push("usernet.dhcp=1");
    else {
      words.push(`usernet.ip=${safe("ip", net.ip)}`);
      if (net.gateway) words.push(`usernet.gw=${safe("gateway", net.gateway)}`);
      if (net.dns) words.push(`usernet.dns=${safe("dns", net.dns)}`);
    }
    if (net.mtu) words.push(`usernet.mtu=${safe("mtu", net.mtu)}`);
  }
  if (options.ipv6 === false) words.push("ipv6.disable=1");
  if (options.cmdline) words.push(options.cmdline);
  return words.join(" ");
}

function netdevArgument(netdev: GuestNetdev): string {
  const comma = (what: string, value: string) => {
    if (value.includes(",")) throw new TypeError(`${what} must not contain a comma: ${value}`);
    return value;
  };
  if ("unixPath" in netdev) {
    return `stream,id=n0,server=off,addr.type=unix,addr.path=${comma("path", netdev.unixPath)}`;
  }
  if ("tcp" in netdev) {
    const match = netdev.tcp.match(/^(.+):(\d+)$/);
    if (!match) throw new TypeError(`tcp netdev must be host:port, got ${netdev.tcp}`);
    const host = match[1].replace(/^\[(.*)\]$/, "$1");
    return `stream,id=n0,server=off,addr.type=inet,addr.host=${comma("host", host)},addr.port=${
      match[2]
    }`;
  }
  if ("dgram" in netdev) {
    return `dgram,id=n0,local.type=unix,local.path=${
      comma("path", netdev.dgram.localPath)
    },remote.type=unix,remote.path=${comma("path", netdev.dgram.remotePath)}`;
  }
  return "user,id=n0,restrict=on";
}

/** Refuses a unix stream path nobody listens on (QEMU would run the guest unplugged). */
function checkNetdev(netdev: GuestNetdev): void {
  if (!("unixPath" in netdev)) return;
  let isSocket = false;
  try {
    isSocket = Deno.lstatSync(netdev.unixPath).isSocket === true;
  } catch { /* missing */ }
  if (!isSocket) {
    throw new GuestNetdevError(
      `no listening socket at ${netdev.unixPath}: listen before bootGuest(), QEMU connects once ` +
        `and otherwise runs the guest without network`,
    );
  }
}

/**
 * Starts a guest. It boots in about 2 s under software emulation, configures its network, runs
 * `options.script` and powers off. For `unixPath` and `tcp` netdevs the caller's listener must be
 * up before this is called: QEMU connects once and does not retry, and if that fails it runs the
 * guest without network and says nothing. A missing unix socket throws
 * {@linkcode GuestNetdevError}; for `tcp` only the caller's accept() tells.
 *
 * @example
 * ```ts ignore
 * import { bootGuest, ensureGuest } from "./_guest.ts";
 * await using guest = bootGuest({
 *   image: await ensureGuest(),
 *   netdev: { slirp: true },
 *   net: { dhcp: true },
 *   script: "result hello world",
 * });
 * await guest.waitForExit(60_000);
 * console.log(guest.results.hello, guest.results["dhcp.ip"]); // "world", "10.0.2.15/24"
 * ```
 */
export function bootGuest(options: BootGuestOptions): Guest {
  let base = baseInitrds.get(options.image.initrd);
  if (!base) {
    base = Deno.readFileSync(options.image.initrd);
    baseInitrds.set(options.image.initrd, base);
  }
  const extra = bootArchive(options.script, options.files ?? {});
  // The kernel reads concatenated archives; an uncompressed one must start 4-byte aligned.
  const padded = Math.ceil(base.length / 4) * 4;
  const initrd = new Uint8Array(padded + extra.length);
  initrd.set(base);
  initrd.set(extra, padded);
  const dir = Deno.makeTempDirSync({ prefix: "usernet-guest-" });
  Deno.writeFileSync(`${dir}/initrd`, initrd);
  checkNetdev(options.netdev);
  const mac = options.mac ?? GUEST_MAC;
  if (!/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i.test(mac)) throw new TypeError(`bad MAC ${mac}`);
  const args = [
    "-nodefaults",
    "-no-user-config",
    "-display",
    "none",
    "-serial",
    "stdio",
    "-no-reboot",
    "-m",
    String(options.memoryMb ?? 256),
    "-kernel",
    options.image.kernel,
    "-initrd",
    `${dir}/initrd`,
    "-append",
    kernelCommandLine(options),
    "-netdev",
    netdevArgument(options.netdev),
    "-device",
    `virtio-net-pci,netdev=n0,mac=${mac}${
      options.deviceOptions ? `,${options.deviceOptions}` : ""
    }`,
  ];
  return new Guest(args, dir);
}

/** A running guest: its console, its results, and its end. Create it with {@linkcode bootGuest}. */
export class Guest {
  readonly #child: Deno.ChildProcess;
  #console = "";
  #stderr = "";
  #listeners: Array<() => void> = [];
  #ended = false;
  /** When QEMU was started (`performance.now()` clock). */
  readonly startedAt: number = performance.now();
  /** QEMU's end, after its output has been read. Never rejects. */
  readonly exited: Promise<GuestExit>;

  /**
   * Spawns QEMU with ready-made arguments; `dir` (the per-boot initrd's folder) is removed when
   * QEMU ends.
   *
   * @example
   * ```ts ignore
   * // Use bootGuest(), which builds the per-boot initramfs and the arguments.
   * ```
   */
  constructor(args: string[], dir: string) {
    const child = new Deno.Command("qemu-system-x86_64", {
      args,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#child = child;
    const pumps = [
      this.#pump(child.stdout, (text) => this.#console += text.replaceAll("\r", "")),
      this.#pump(child.stderr, (text) => this.#stderr += text),
    ];
    this.exited = (async () => {
      const status = await child.status;
      await Promise.all(pumps);
      await Deno.remove(dir, { recursive: true }).catch(() => {});
      this.#ended = true;
      for (const l of this.#listeners) l();
      const exit = this.console.match(/^USERNET-EXIT status=(\d+)$/m);
      return {
        code: status.code,
        signal: status.signal,
        scriptStatus: exit ? Number(exit[1]) : undefined,
      };
    })();
  }

  async #pump(stream: ReadableStream<Uint8Array>, append: (text: string) => void) {
    const decoder = new TextDecoder();
    try {
      for await (const chunk of stream) {
        append(decoder.decode(chunk, { stream: true }));
        for (const l of this.#listeners) l();
      }
    } catch { /* QEMU gone */ }
  }

  /** Everything the guest printed on its serial console so far (without carriage returns). */
  get console(): string {
    return this.#console;
  }

  /** What QEMU itself printed on stderr (connection errors, bad options). */
  get stderr(): string {
    return this.#stderr;
  }

  /** The `USERNET-RESULT key=value` lines so far; a later line wins over an earlier one. */
  get results(): Record<string, string> {
    const results: Record<string, string> = {};
    for (const m of this.#console.matchAll(/^USERNET-RESULT ([^=\s]+)=(.*)$/gm)) {
      results[m[1]] = m[2];
    }
    return results;
  }

  /**
   * Waits until the console matches `pattern` and returns the match. Rejects with
   * {@linkcode GuestExited} if QEMU ends first and {@linkcode GuestTimeout} after `timeoutMs`.
   */
  waitForMarker(pattern: RegExp | string, timeoutMs = 60_000): Promise<RegExpExecArray> {
    const regex = typeof pattern === "string"
      ? new RegExp(pattern.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))
      : new RegExp(pattern.source, pattern.flags.replace("g", "").replace("y", ""));
    return new Promise((resolve, reject) => {
      const finish = (error?: Error, match?: RegExpExecArray) => {
        clearTimeout(timer);
        this.#listeners = this.#listeners.filter((l) => l !== check);
        if (error) reject(error);
        else resolve(match!);
      };
      const check = () => {
        const match = regex.exec(this.#console);
        if (match) return finish(undefined, match);
        if (this.#ended) {
          this.exited.then((exit) =>
            finish(
              new GuestExited(
                `QEMU exited (code ${exit.code}${
                  exit.signal ? `, ${exit.signal}` : ""
                }) before the console matched ${regex}\n${this.#report()}`,
                exit,
              ),
            )
          );
        }
      };
      const timer = setTimeout(
        () =>
          finish(
            new GuestTimeout(
              `the guest console did not match ${regex} within ${timeoutMs} ms\n${this.#report()}`,
            ),
          ),
        timeoutMs,
      );
      this.#listeners.push(check);
      check();
    });
  }

  /**
   * Waits for the guest to power off. Rejects with {@linkcode GuestTimeout} (and kills QEMU)
   * after `timeoutMs`.
   */
  async waitForExit(timeoutMs = 60_000): Promise<GuestExit> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<"timeout">((r) =>
      timer = setTimeout(() => r("timeout"), timeoutMs)
    );
    const winner = await Promise.race([this.exited, deadline]);
    clearTimeout(timer);
    if (winner !== "timeout") return winner;
    await this.kill();
    throw new GuestTimeout(`the guest did not power off within ${timeoutMs} ms\n${this.#report()}`);
  }

  /** Stops QEMU at once (SIGKILL) and waits until it is gone. Safe to call more than once. */
  async kill(): Promise<GuestExit> {
    try {
      this.#child.kill("SIGKILL");
    } catch { /* already gone */ }
    return await this.exited;
  }

  /** Kills the guest at the end of an `await using` block. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.kill();
  }

  #report(): string {
    const tail = this.#console.length > 8000 ? "...\n" + this.#console.slice(-8000) : this.#console;
    return `--- guest console ---\n${tail}\n--- qemu stderr ---\n${this.#stderr}`;
  }
}
