/**
 * Network namespaces for interop tests: each test makes its own, with a TAP or veth inside, so
 * no traffic can reach a real address.
 *
 * @module
 */
import { Peer, run } from "./_harness.ts";

let counter = 0;

/** A namespace created for one test. */
export interface TestNamespace {
  /** `ip netns` name. */
  name: string;
  /** Runs a command inside the namespace and returns its output (throws on failure). */
  exec(cmd: string, args: string[], opts?: { allowFail?: boolean }): Promise<string>;
  /** Argument prefix to run a command inside: `["ip", "netns", "exec", name]`. */
  prefix: string[];
  /** Starts a background peer process inside the namespace. */
  spawn(peerName: string, cmd: string, args: string[]): Peer;
  /** Deletes the namespace and everything in it. */
  cleanup(): Promise<void>;
}

/** Creates a namespace `un-<tag>-<pid>-<n>` with loopback up. */
export async function createNamespace(tag: string): Promise<TestNamespace> {
  const name = `un-${tag}-${Deno.pid}-${counter++}`.slice(0, 40);
  await run("ip", ["netns", "del", name], { allowFail: true });
  await run("ip", ["netns", "add", name]);
  await run("ip", ["-n", name, "link", "set", "lo", "up"]);
  return {
    name,
    prefix: ["ip", "netns", "exec", name],
    exec: (cmd, args, opts) => run("ip", ["netns", "exec", name, cmd, ...args], opts),
    spawn: (peerName, cmd, args) => new Peer(peerName, "ip", ["netns", "exec", name, cmd, ...args]),
    cleanup: async () => {
      // Kill anything still running inside, then delete.
      const pids = await run("ip", ["netns", "pids", name], { allowFail: true });
      for (const pid of pids.split(/\s+/).filter(Boolean)) {
        try {
          Deno.kill(Number(pid), "SIGKILL");
        } catch { /* gone */ }
      }
      await run("ip", ["netns", "del", name], { allowFail: true });
    },
  };
}

/** A namespace with a TAP device `tap0` whose Linux side has `linuxCidr`, up. */
export async function createTapNamespace(
  tag: string,
  linuxCidr: string,
  options: { mtu?: number } = {},
): Promise<TestNamespace & { tap: string }> {
  const ns = await createNamespace(tag);
  await run("ip", ["-n", ns.name, "tuntap", "add", "dev", "tap0", "mode", "tap"]);
  await run("ip", ["-n", ns.name, "addr", "add", linuxCidr, "dev", "tap0"]);
  if (options.mtu) {
    await run("ip", ["-n", ns.name, "link", "set", "tap0", "mtu", String(options.mtu)]);
  }
  await run("ip", ["-n", ns.name, "link", "set", "tap0", "up"]);
  return { ...ns, tap: "tap0" };
}
