/**
 * nginx (Debian 1.22) for interop tests: one process in the foreground, every path inside a
 * temporary directory, on the host or inside a test namespace. Tests give only their `http { }`
 * contents (servers, locations, logs).
 *
 * @module
 */
import { Peer } from "./_harness.ts";
import type { TestNamespace } from "./_netns.ts";

/** The whole nginx.conf around a test's `http { }` contents. */
export function nginxConfig(dir: string, http: string, workerConnections = 256): string {
  return `
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log info;
events { worker_connections ${workerConnections}; }
http {
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
${http}
}
`;
}

/**
 * Writes `dir/nginx.conf` and starts nginx in the foreground with one process (no privilege
 * drop, so root's temp files work), in `ns` when given.
 */
export function startNginx(
  dir: string,
  http: string,
  options: { ns?: TestNamespace; workerConnections?: number } = {},
): Peer {
  Deno.writeTextFileSync(`${dir}/nginx.conf`, nginxConfig(dir, http, options.workerConnections));
  const args = [
    "-p",
    dir,
    "-c",
    `${dir}/nginx.conf`,
    "-e",
    `${dir}/error.log`,
    "-g",
    "daemon off; master_process off;",
  ];
  return options.ns ? options.ns.spawn("nginx", "nginx", args) : new Peer("nginx", "nginx", args);
}

/** nginx's output and its error and access logs, for a failure report. */
export async function nginxLogs(dir: string, peer: Peer | undefined): Promise<string> {
  const error = await Deno.readTextFile(`${dir}/error.log`).catch(() => "");
  const access = await Deno.readTextFile(`${dir}/access.log`).catch(() => "");
  return `nginx output:\n${peer?.log ?? ""}\nerror.log:\n${error}\naccess.log:\n${access}`;
}
