/**
 * A Deno-native SSH-2 client: runs over any `Conn` (Deno.connect or usernet TCP), verifies
 * host keys against known_hosts by default, and offers exec, shell, subsystems (SFTP) and
 * direct-tcpip forwarding.
 *
 * @example
 * ```ts ignore
 * import { connect, KnownHosts, SshPrivateKey } from "./mod.ts";
 * const client = await connect(await Deno.connect({ hostname: "127.0.0.1", port: 22 }), {
 *   username: "me",
 *   host: "127.0.0.1",
 *   knownHosts: await KnownHosts.load(`${Deno.env.get("HOME")}/.ssh/known_hosts`),
 *   auth: { privateKey: SshPrivateKey.parse(await Deno.readTextFile("id_ed25519")) },
 * });
 * const out = await client.run("uname -a");
 * console.log(new TextDecoder().decode(out.stdout), out.code);
 * await client.close();
 * ```
 *
 * @module
 */

export {
  type AuthOptions,
  ChannelConn,
  type CommandOutput,
  connect,
  type ConnectionInfo,
  type ConnectOptions,
  type HostKeyCheck,
  type HostKeyPolicy,
  type KeyboardInteractiveChallenge,
  type PtyOptions,
  type SessionOptions,
  SshClient,
  SshProcess,
} from "./client.ts";
export {
  connectSsh,
  type ConnectSshOptions,
  type DialedConn,
  type TcpDialer,
} from "./connect_ssh.ts";
export { type ChannelHost, type ExitStatus, SshChannel } from "./channel.ts";
export { SshReader, SshWriter } from "./_wire.ts";
export type { Conn } from "../net/conn.ts";
export {
  type AlgorithmPreferences,
  DEFAULT_CIPHERS,
  DEFAULT_MACS,
  type NegotiatedAlgorithms,
  type RekeyLimits,
  type ServerHostKey,
  Transport,
  type TransportOptions,
} from "./transport.ts";
export { KEX_ALGORITHMS } from "./kex.ts";
export { fingerprint, SIGNATURE_ALGORITHMS } from "./host_key.ts";
export {
  hostKeyName,
  KnownHosts,
  type KnownHostsEntry,
  type KnownHostsResult,
} from "./known_hosts.ts";
export { type PrivateKeyType, SshPrivateKey } from "./private_key.ts";
export { bcryptPbkdf } from "./bcrypt_pbkdf.ts";
export * from "./errors.ts";
