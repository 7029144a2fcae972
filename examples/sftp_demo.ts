/**
 * Uploads 10 MB of random bytes over SFTP and downloads them again, checking SHA-256 both
 * ways. The TCP connection always runs on usernet's own stack: over the NIC the flags name, or
 * with no NIC flag behind an embedded gateway to the host's network (there 10.0.2.2 is the
 * host's loopback).
 *
 *   deno run -A examples/sftp_demo.ts user@10.0.2.2 -i ~/.ssh/id_ed25519 --tap tap0 --address 10.0.2.15/24
 *
 * @module
 */
import { parseArgs } from "node:util";
import { NIC_FLAG_OPTIONS, runMain } from "../cli/_nic_flags.ts";
import { openConnector } from "../cli/_connect.ts";
import { parseTarget, sshLogin } from "../cli/ssh.ts";

const hex = async (data: Uint8Array) =>
  Array.from(
    new Uint8Array(await crypto.subtle.digest("SHA-256", data as Uint8Array<ArrayBuffer>)),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("");

runMain(async () => {
  const { values, positionals } = parseArgs({
    args: Deno.args,
    options: {
      ...NIC_FLAG_OPTIONS,
      identity: { type: "string", short: "i", multiple: true },
      "known-hosts": { type: "string" },
    },
    allowPositionals: true,
  });
  const target = parseTarget(positionals[0] ?? "localhost", { allowPort: true });
  const connector = await openConnector(values);
  const client = await sshLogin(() => connector.connect(target.host, target.port), target, {
    identities: values.identity,
    knownHosts: values["known-hosts"],
  });
  const sftp = await client.sftp();

  const data = new Uint8Array(10_000_000);
  for (let i = 0; i < data.length; i += 65536) crypto.getRandomValues(data.subarray(i, i + 65536));
  const want = await hex(data);
  const remote = `${await sftp.realpath(".")}/usernet-sftp-demo.bin`;

  let t = performance.now();
  await sftp.writeFile(remote, data);
  const up = (performance.now() - t) / 1000;
  const { stdout } = await client.run(`sha256sum '${remote}'`); // the server's own hash
  const remoteHash = new TextDecoder().decode(stdout).split(" ")[0];

  t = performance.now();
  const back = await sftp.readFile(remote);
  const down = (performance.now() - t) / 1000;
  const backHash = await hex(back);
  await sftp.remove(remote);

  console.log(
    `upload   ${(10 / up).toFixed(1)} MB/s  sha256 ${remoteHash === want ? "ok" : "MISMATCH"}`,
  );
  console.log(
    `download ${(10 / down).toFixed(1)} MB/s  sha256 ${backHash === want ? "ok" : "MISMATCH"}`,
  );
  await sftp.close();
  await client.close();
  await connector.close();
  return remoteHash === want && backHash === want ? 0 : 1;
});
