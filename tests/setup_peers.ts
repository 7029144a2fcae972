/**
 * Installs the Debian packages the interop tests use, when they are missing and we are root
 * (`deno task test` runs this first). Without root it says which are missing and leaves the
 * decision to the tests: they skip with a reason, or fail under `CI=true`.
 *
 * @module
 */

/** Program (or file) to check → Debian package that provides it. */
export const PEER_PACKAGES: Record<string, string> = {
  "/usr/sbin/ip": "iproute2",
  "/usr/bin/ping": "iputils-ping",
  "/usr/bin/qemu-system-x86_64": "qemu-system-x86",
  "/usr/bin/passt": "passt",
  "/usr/bin/tshark": "tshark",
  "/usr/bin/socat": "socat",
  "/usr/bin/python3": "python3",
  "/usr/sbin/sshd": "openssh-server",
  "/usr/bin/ssh": "openssh-client",
  "/usr/bin/sftp": "openssh-client",
  "/usr/sbin/nginx": "nginx",
  "/usr/sbin/dnsmasq": "dnsmasq",
  "/usr/sbin/chronyd": "chrony",
  "/bin/busybox": "busybox-static",
  "/usr/bin/cpio": "cpio",
  "/usr/bin/openssl": "openssl",
  "/etc/ssl/certs/ca-certificates.crt": "ca-certificates",
  "/usr/lib/python3/dist-packages/asyncssh": "python3-asyncssh",
  "/usr/lib/python3/dist-packages/paramiko": "python3-paramiko",
  "/usr/bin/nc.openbsd": "netcat-openbsd",
  "/usr/bin/dig": "dnsutils",
  "/usr/bin/xz": "xz-utils",
};

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

async function run(cmd: string, args: string[]): Promise<boolean> {
  const status = await new Deno.Command(cmd, {
    args,
    env: { DEBIAN_FRONTEND: "noninteractive" },
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  return status.success;
}

if (import.meta.main) {
  const missing = [
    ...new Set(
      Object.entries(PEER_PACKAGES).filter(([path]) => !exists(path)).map(([, pkg]) => pkg),
    ),
  ];
  if (missing.length === 0) {
    console.error("setup: all interop peers are installed");
  } else if (Deno.uid() !== 0) {
    console.error(
      `setup: not root, so not installing: ${
        missing.join(" ")
      } (interop tests that need them will say so)`,
    );
  } else {
    console.error(`setup: installing ${missing.join(" ")}`);
    // The tests start their own peers in namespaces; keep the packages' services (nginx,
    // dnsmasq, chrony, sshd) from starting on the machine itself (Debian's policy-rc.d hook).
    const policy = "/usr/sbin/policy-rc.d";
    const ourPolicy = !exists(policy);
    if (ourPolicy) Deno.writeTextFileSync(policy, "#!/bin/sh\nexit 101\n", { mode: 0o755 });
    let ok = false;
    try {
      ok = await run("apt-get", ["update", "-q"]) &&
        await run("apt-get", ["install", "-y", "-q", "--no-install-recommends", ...missing]);
    } finally {
      if (ourPolicy) Deno.removeSync(policy);
    }
    if (!ok) {
      console.error(
        "setup: apt-get failed; interop tests that need these packages will fail under CI=true",
      );
      Deno.exit(1);
    }
  }
}
