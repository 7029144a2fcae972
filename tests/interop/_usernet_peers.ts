/**
 * Helpers for the TLS, SSH and SFTP interop tests that run over usernet's own TCP: a network
 * namespace with a TAP device whose Linux side carries the real peer (openssl s_server,
 * nginx, sshd, all started inside the namespace and listening on its tap0 address), and a
 * usernet stack on the TAP. Loss can be injected at usernet's NIC (this machine's kernel has
 * no sch_netem). Nothing here can reach an address outside the namespace.
 *
 * @module
 */

import { run, waitFor } from "./_harness.ts";
import { createTapNamespace, type TestNamespace } from "./_netns.ts";
import { type SshdServer, startSshd } from "./ssh_sshd_server.ts";
import { TapNic } from "../../drivers/tap.ts";
import { FaultInjector, type FaultOptions } from "../../drivers/fault_injector.ts";
import { Stack } from "../../net/stack.ts";
import type { TcpConfig } from "../../net/tcp/config.ts";

/** What every usernet-over-TAP test needs. */
export const TAP_NEEDS = { root: true, programs: ["ip", "ss"], files: ["/dev/net/tun"] };

/** A namespace with a Linux peer address and a usernet stack on its TAP. */
export interface UsernetTap {
  ns: TestNamespace & { tap: string };
  stack: Stack;
  /** The Linux side's address (where peers listen). */
  linux: string;
  /** usernet's address. */
  usernet: string;
  /** The fault injector, when faults were asked for. */
  faults?: FaultInjector;
  /** Closes the stack and deletes the namespace (and every process in it). */
  cleanup(): Promise<void>;
}

/** Options of {@linkcode usernetOnTap}. */
export interface UsernetTapOptions {
  /** Second octet of the 10.N.0.0/24 subnet (default 91); namespaces are separate anyway. */
  subnet?: number;
  /** Damage applied at usernet's NIC, both directions, from a seeded PRNG. */
  faults?: FaultOptions & { seed: number };
  /** TCP settings of the stack. */
  tcp?: Partial<TcpConfig>;
}

/** Creates the namespace, the TAP and the stack (Linux at 10.N.0.1, usernet at 10.N.0.2). */
export async function usernetOnTap(
  tag: string,
  options: UsernetTapOptions = {},
): Promise<UsernetTap> {
  const n = options.subnet ?? 91;
  const linux = `10.${n}.0.1`;
  const usernet = `10.${n}.0.2`;
  const ns = await createTapNamespace(tag, `${linux}/24`);
  // Bursts of a fast sender must not overflow the TAP's queue towards usernet.
  await run("ip", ["-n", ns.name, "link", "set", "tap0", "txqueuelen", "10000"]);
  let stack: Stack;
  let faults: FaultInjector | undefined;
  try {
    const tap = TapNic.open({ name: ns.tap, netns: ns.name });
    if (options.faults) {
      faults = new FaultInjector(tap, {
        seed: options.faults.seed,
        transmit: options.faults,
        receive: options.faults,
      });
      console.error(`fault injection seed: ${options.faults.seed}`);
    }
    stack = new Stack({
      nic: faults ?? tap,
      address: `${usernet}/24`,
      gateway: linux,
      tcp: options.tcp,
    });
  } catch (e) {
    await ns.cleanup();
    throw e;
  }
  return {
    ns,
    stack,
    linux,
    usernet,
    faults,
    async cleanup() {
      await stack.close();
      await ns.cleanup();
    },
  };
}

/** Waits until something in the namespace listens on TCP `port`. */
export async function waitForListener(
  ns: TestNamespace,
  port: number,
  timeoutMs = 15_000,
): Promise<void> {
  await waitFor(
    `a listener on port ${port} in ${ns.name}`,
    async () => {
      const out = await ns.exec("ss", ["-Hltn", `sport = :${port}`], { allowFail: true });
      return out.trim().length > 0;
    },
    timeoutMs,
    50,
  );
}

/** Reads everything `conn` delivers until EOF into one buffer. */
export async function readToEnd(
  conn: { read(p: Uint8Array): Promise<number | null> },
  chunkSize = 256 * 1024,
): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let total = 0;
  const buf = new Uint8Array(chunkSize);
  for (;;) {
    const n = await conn.read(buf);
    if (n === null) break;
    parts.push(buf.slice(0, n));
    total += n;
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Hex of bytes. */
export function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** A file of `size` random bytes; resolves to its SHA-256 (hex). */
export async function writeRandomFile(path: string, size: number): Promise<string> {
  const data = new Uint8Array(size);
  for (let i = 0; i < size; i += 65536) {
    crypto.getRandomValues(data.subarray(i, Math.min(size, i + 65536)));
  }
  await Deno.writeFile(path, data);
  const digest = await crypto.subtle.digest("SHA-256", data);
  return hex(new Uint8Array(digest));
}

/** What an SSH test needs from sshd. */
export const SSHD_NEEDS = {
  root: true,
  programs: ["ip", "ss", "/usr/sbin/sshd", "ssh-keygen", "useradd", "chpasswd", "sha256sum"],
  files: ["/dev/net/tun"],
};

/**
 * Starts OpenSSH's sshd inside `ns`, listening on `address:port` only, with temporary host keys
 * (ed25519, ecdsa-256, ecdsa-384, rsa-2048), the test user's password, the given authorized keys
 * and `Subsystem sftp internal-sftp`. The same shape as `startSshd` on loopback.
 */
export function startSshdInNamespace(
  ns: TestNamespace,
  address: string,
  options: { port?: number; extraConfig?: string[]; authorizedKeys?: string[] } = {},
): Promise<SshdServer> {
  return startSshd({ ...options, namespace: ns, address });
}

/**
 * A `connectFn` for `sftpSuite` (whose sshd listens on the host's 127.0.0.1) that goes through
 * usernet's TCP on a TAP: usernet connects to the namespace's tap0 address, where a socat relay
 * hands the bytes through a unix socket to a socat on the host side, which connects to
 * 127.0.0.1. The TCP that usernet talks to is Linux's, in the namespace; loss injected at
 * usernet's NIC hits exactly that connection. One namespace per test file; `close()` ends the
 * relays and deletes it.
 */
export function relayedConnector(tag: string, options: UsernetTapOptions = {}): {
  connect: (hostname: string, port: number) => Promise<import("../../net/conn.ts").Conn>;
  close: () => Promise<void>;
  /** The tap, once the first connection made it. */
  tap: () => UsernetTap | undefined;
} {
  let net: Promise<UsernetTap> | undefined;
  let resolved: UsernetTap | undefined;
  let dir: string | undefined;
  const hostRelays: Deno.ChildProcess[] = [];
  const relayed = new Set<number>();
  const closeSync = () => {
    for (const r of hostRelays) {
      try {
        r.kill("SIGKILL");
      } catch { /* gone */ }
    }
    if (resolved) {
      const pids = new TextDecoder().decode(
        new Deno.Command("ip", { args: ["netns", "pids", resolved.ns.name], stdout: "piped" })
          .outputSync().stdout,
      );
      for (const pid of pids.split(/\s+/).filter(Boolean)) {
        try {
          Deno.kill(Number(pid), "SIGKILL");
        } catch { /* gone */ }
      }
      new Deno.Command("ip", { args: ["netns", "del", resolved.ns.name], stderr: "null" })
        .outputSync();
    }
  };
  globalThis.addEventListener("unload", closeSync);
  return {
    tap: () => resolved,
    async connect(hostname, port) {
      if (hostname !== "127.0.0.1") throw new Error(`relay only to 127.0.0.1, not ${hostname}`);
      net ??= usernetOnTap(tag, options).then((n) => (resolved = n));
      const tap = await net;
      dir ??= await Deno.makeTempDir({ prefix: "usernet-relay-" });
      if (!relayed.has(port)) {
        relayed.add(port);
        const sock = `${dir}/${port}.sock`;
        const host = new Deno.Command("socat", {
          args: [`UNIX-LISTEN:${sock},fork`, `TCP:127.0.0.1:${port},nodelay`],
          stdin: "null",
          stdout: "null",
          stderr: "null",
        }).spawn();
        hostRelays.push(host);
        await waitFor("the host relay's socket", async () => {
          try {
            await Deno.stat(sock);
            return true;
          } catch {
            return false;
          }
        }, 10_000);
        tap.ns.spawn("socat relay", "socat", [
          `TCP-LISTEN:${port},bind=${tap.linux},reuseaddr,fork,nodelay`,
          `UNIX-CONNECT:${sock}`,
        ]);
        await waitForListener(tap.ns, port);
      }
      const conn = await tap.stack.connect({ hostname: tap.linux, port });
      conn.setNoDelay(true); // small SFTP requests must not wait for Nagle's algorithm
      return conn;
    },
    async close() {
      globalThis.removeEventListener("unload", closeSync);
      for (const r of hostRelays) {
        try {
          r.kill("SIGTERM");
        } catch { /* gone */ }
        await r.status;
      }
      if (net) await (await net).cleanup();
      if (dir) await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}
