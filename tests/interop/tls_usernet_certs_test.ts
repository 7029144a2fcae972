/**
 * Certificate verification against chains made by the openssl CLI during the test, each served
 * by its own `openssl s_server` in the test's namespace and fetched through usernet's TCP on a
 * TAP: expired, not yet valid, wrong host, wildcard edge cases, IP SANs, self-signed, untrusted
 * root, missing intermediate, reversed and shuffled chains, a CA:FALSE intermediate, a pathLen
 * violation, a name-constraint violation, SHA-1 signatures and RSA-1024. Each case is accepted or
 * refused with its error class, and a refusal reaches s_server as the matching alert.
 */

import { equal, ok } from "node:assert/strict";
import { interopTest, type Peer, run, tempDir } from "./_harness.ts";
import { TAP_NEEDS, usernetOnTap, type UsernetTap } from "./_usernet_peers.ts";
import { connectTls } from "../../tls/connect_tls.ts";
import {
  CertificateExpired,
  CertificateNotYetValid,
  HostnameMismatch,
  NameConstraintViolation,
  NotACertificateAuthority,
  PathLengthExceeded,
  UnknownIssuer,
  WeakAlgorithm,
} from "../../tls/x509/errors.ts";

const needs = { ...TAP_NEEDS, programs: [...TAP_NEEDS.programs, "openssl"] };

type ErrorClass = new (...args: never[]) => Error;

interface Case {
  name: string;
  /** Leaf certificate and key files (in the fixtures directory). */
  cert: string;
  /** Certificates sent after the leaf, in this order (files). */
  chain?: string[];
  /** Name the client connects with. */
  serverName: string;
  /** Roots the client trusts (files). */
  trust: string[];
  /** The expected refusal, or undefined when the chain must be accepted. */
  error?: ErrorClass;
  /** The alert s_server must report, as OpenSSL words it. */
  alert?: string;
  /** Lower s_server's security level so it agrees to serve a weak certificate. */
  weak?: boolean;
}

const LINUX = "10.96.0.1";

/** Makes every certificate with openssl; returns the directory. */
async function makeCertificates(): Promise<string> {
  const { path: dir } = await tempDir("tls-usernet-certs");
  await Deno.chmod(dir, 0o755);
  const f = (n: string) => `${dir}/${n}`;
  const ossl = (...args: string[]) => run("openssl", args);
  const ext = async (name: string, lines: string[]) => {
    await Deno.writeTextFile(f(`${name}.ext`), lines.join("\n") + "\n");
    return f(`${name}.ext`);
  };
  const caExt = (extra: string[] = []) => [
    "basicConstraints=critical,CA:TRUE",
    "keyUsage=critical,keyCertSign,cRLSign",
    "subjectKeyIdentifier=hash",
    "authorityKeyIdentifier=keyid",
    ...extra,
  ];
  const leafExt = (san: string) => [
    "basicConstraints=critical,CA:FALSE",
    "keyUsage=critical,digitalSignature",
    "extendedKeyUsage=serverAuth",
    `subjectAltName=${san}`,
  ];
  const newKey = (name: string, kind = "ec") =>
    kind === "ec"
      ? ossl(
        "genpkey",
        "-algorithm",
        "EC",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-out",
        f(`${name}.key`),
      )
      : ossl(
        "genpkey",
        "-algorithm",
        "RSA",
        "-pkeyopt",
        `rsa_keygen_bits:${kind}`,
        "-out",
        f(`${name}.key`),
      );
  const root = async (name: string, extra: string[] = []) => {
    await newKey(name);
    await ossl(
      "req",
      "-x509",
      "-new",
      "-key",
      f(`${name}.key`),
      "-out",
      f(`${name}.pem`),
      "-days",
      "30",
      "-subj",
      `/CN=${name}`,
      "-extensions",
      "v3",
      "-config",
      await ext(`${name}-req`, ["[req]", "distinguished_name=dn", "[dn]", "[v3]", ...caExt(extra)]),
    );
  };
  /** Issues `name` from `issuer` with `extLines`; dates via `openssl ca` when given. */
  const issue = async (
    name: string,
    issuer: string,
    extLines: string[],
    options: { key?: string; md?: string; start?: string; end?: string } = {},
  ) => {
    await newKey(name, options.key);
    await ossl(
      "req",
      "-new",
      "-key",
      f(`${name}.key`),
      "-out",
      f(`${name}.csr`),
      "-subj",
      `/CN=${name}`,
    );
    const extFile = await ext(name, extLines);
    if (options.start || options.end) {
      const caDir = f(`ca-${name}`);
      await Deno.mkdir(caDir);
      await Deno.writeTextFile(`${caDir}/index.txt`, "");
      await Deno.writeTextFile(`${caDir}/serial`, "1000\n");
      await Deno.writeTextFile(
        `${caDir}/ca.cnf`,
        `[ca]\ndefault_ca=d\n[d]\ndatabase=${caDir}/index.txt\nnew_certs_dir=${caDir}\n` +
          `serial=${caDir}/serial\ndefault_md=sha256\npolicy=p\nunique_subject=no\n[p]\ncommonName=supplied\n`,
      );
      await ossl(
        "ca",
        "-batch",
        "-notext",
        "-config",
        `${caDir}/ca.cnf`,
        "-cert",
        f(`${issuer}.pem`),
        "-keyfile",
        f(`${issuer}.key`),
        "-in",
        f(`${name}.csr`),
        "-out",
        f(`${name}.pem`),
        "-startdate",
        options.start ?? "20200101000000Z",
        "-enddate",
        options.end ?? "20991231000000Z",
        "-extfile",
        extFile,
      );
    } else {
      await ossl(
        "x509",
        "-req",
        "-in",
        f(`${name}.csr`),
        "-CA",
        f(`${issuer}.pem`),
        "-CAkey",
        f(`${issuer}.key`),
        "-set_serial",
        String(Math.floor(Math.random() * 1e9)),
        "-out",
        f(`${name}.pem`),
        "-days",
        "30",
        `-${options.md ?? "sha256"}`,
        "-extfile",
        extFile,
      );
    }
  };
  await Promise.all([
    root("root"),
    root("other-root"),
    root("root-pathlen0", ["basicConstraints=critical,CA:TRUE,pathlen:0"]),
  ]);
  await Promise.all([
    issue("int", "root", caExt()),
    issue("int-not-ca", "root", [
      "basicConstraints=critical,CA:FALSE",
      "keyUsage=critical,keyCertSign,digitalSignature",
    ]),
    issue("int-under-pathlen0", "root-pathlen0", caExt()),
    issue(
      "int-constrained",
      "root",
      caExt(["nameConstraints=critical,permitted;DNS:.allowed.test"]),
    ),
    issue("other-leaf", "other-root", leafExt("DNS:server.test")),
  ]);
  await Promise.all([
    issue("leaf", "int", leafExt("DNS:server.test")),
    issue("int2", "int", caExt()),
    issue("expired", "int", leafExt("DNS:server.test"), {
      start: "20200101000000Z",
      end: "20210101000000Z",
    }),
    issue("future", "int", leafExt("DNS:server.test"), {
      start: "20900101000000Z",
      end: "20910101000000Z",
    }),
    issue("wild", "int", leafExt("DNS:*.wild.test")),
    issue("ip", "int", leafExt(`IP:${LINUX},DNS:10.96.0.77`)),
    issue("under-not-ca", "int-not-ca", leafExt("DNS:server.test")),
    issue("under-pathlen0", "int-under-pathlen0", leafExt("DNS:server.test")),
    issue("constrained-bad", "int-constrained", leafExt("DNS:server.test")),
    issue("constrained-good", "int-constrained", leafExt("DNS:www.allowed.test")),
    issue("sha1", "int", leafExt("DNS:server.test"), { md: "sha1" }),
    issue("rsa1024", "int", leafExt("DNS:server.test"), { key: "1024" }),
  ]);
  await issue("deep", "int2", leafExt("DNS:server.test"));
  // A self-signed leaf (CA:FALSE, names the server).
  await newKey("self");
  await ossl(
    "req",
    "-x509",
    "-new",
    "-key",
    f("self.key"),
    "-out",
    f("self.pem"),
    "-days",
    "30",
    "-subj",
    "/CN=server.test",
    "-addext",
    "subjectAltName=DNS:server.test",
    "-addext",
    "basicConstraints=critical,CA:FALSE",
  );
  return dir;
}

const CASES: Case[] = [
  {
    name: "a valid chain",
    cert: "leaf",
    chain: ["int"],
    serverName: "server.test",
    trust: ["root"],
  },
  {
    name: "an expired leaf",
    cert: "expired",
    chain: ["int"],
    serverName: "server.test",
    trust: ["root"],
    error: CertificateExpired,
    alert: "certificate expired",
  },
  {
    name: "a leaf not yet valid",
    cert: "future",
    chain: ["int"],
    serverName: "server.test",
    trust: ["root"],
    error: CertificateNotYetValid,
    alert: "certificate expired",
  },
  {
    name: "the wrong host",
    cert: "leaf",
    chain: ["int"],
    serverName: "other.test",
    trust: ["root"],
    error: HostnameMismatch,
    alert: "bad certificate",
  },
  {
    name: "a wildcard matching one label",
    cert: "wild",
    chain: ["int"],
    serverName: "a.wild.test",
    trust: ["root"],
  },
  {
    name: "a wildcard against its bare domain",
    cert: "wild",
    chain: ["int"],
    serverName: "wild.test",
    trust: ["root"],
    error: HostnameMismatch,
    alert: "bad certificate",
  },
  {
    name: "a wildcard against two labels",
    cert: "wild",
    chain: ["int"],
    serverName: "a.b.wild.test",
    trust: ["root"],
    error: HostnameMismatch,
    alert: "bad certificate",
  },
  {
    name: "an IP SAN for the IP connected to",
    cert: "ip",
    chain: ["int"],
    serverName: LINUX,
    trust: ["root"],
  },
  {
    name: "an IP that is only a DNS SAN",
    cert: "ip",
    chain: ["int"],
    serverName: "10.96.0.77",
    trust: ["root"],
    error: HostnameMismatch,
    alert: "bad certificate",
  },
  {
    name: "a DNS name against IP SANs only",
    cert: "ip",
    chain: ["int"],
    serverName: "server.test",
    trust: ["root"],
    error: HostnameMismatch,
    alert: "bad certificate",
  },
  {
    name: "a self-signed leaf",
    cert: "self",
    serverName: "server.test",
    trust: ["root"],
    error: UnknownIssuer,
    alert: "unknown ca",
  },
  {
    name: "a chain to an untrusted root",
    cert: "other-leaf",
    chain: ["other-root"],
    serverName: "server.test",
    trust: ["root"],
    error: UnknownIssuer,
    alert: "unknown ca",
  },
  {
    name: "a missing intermediate",
    cert: "leaf",
    serverName: "server.test",
    trust: ["root"],
    error: UnknownIssuer,
    alert: "unknown ca",
  },
  {
    name: "a reversed chain (root first, then the intermediates top-down)",
    cert: "deep",
    chain: ["root", "int", "int2"],
    serverName: "server.test",
    trust: ["root"],
  },
  {
    name: "a shuffled chain with unrelated extras",
    cert: "deep",
    chain: ["other-root", "int", "self", "int2"],
    serverName: "server.test",
    trust: ["root"],
  },
  {
    name: "an intermediate with CA:FALSE",
    cert: "under-not-ca",
    chain: ["int-not-ca"],
    serverName: "server.test",
    trust: ["root"],
    error: NotACertificateAuthority,
    alert: "bad certificate",
  },
  {
    name: "an intermediate under a pathlen:0 root",
    cert: "under-pathlen0",
    chain: ["int-under-pathlen0"],
    serverName: "server.test",
    trust: ["root-pathlen0"],
    error: PathLengthExceeded,
    alert: "bad certificate",
  },
  {
    name: "a name outside the intermediate's permitted subtree",
    cert: "constrained-bad",
    chain: ["int-constrained"],
    serverName: "server.test",
    trust: ["root"],
    error: NameConstraintViolation,
    alert: "bad certificate",
  },
  {
    name: "a name inside the intermediate's permitted subtree",
    cert: "constrained-good",
    chain: ["int-constrained"],
    serverName: "www.allowed.test",
    trust: ["root"],
  },
  {
    name: "a SHA-1 signed leaf",
    cert: "sha1",
    chain: ["int"],
    serverName: "server.test",
    trust: ["root"],
    error: WeakAlgorithm,
    alert: "bad certificate",
    weak: true,
  },
  {
    name: "an RSA-1024 leaf",
    cert: "rsa1024",
    chain: ["int"],
    serverName: "server.test",
    trust: ["root"],
    error: WeakAlgorithm,
    alert: "bad certificate",
    weak: true,
  },
];

async function serve(net: UsernetTap, dir: string, c: Case, port: number): Promise<Peer> {
  if (c.chain) {
    let pem = "";
    for (const name of c.chain) pem += await Deno.readTextFile(`${dir}/${name}.pem`);
    await Deno.writeTextFile(`${dir}/chain-${port}.pem`, pem);
  }
  const peer = net.ns.spawn(`s_server (${c.name})`, "openssl", [
    "s_server",
    "-accept",
    `${net.linux}:${port}`,
    "-cert",
    `${dir}/${c.cert}.pem`,
    "-key",
    `${dir}/${c.cert}.key`,
    ...(c.chain ? ["-cert_chain", `${dir}/chain-${port}.pem`] : []),
    ...(c.weak ? ["-cipher", "ALL@SECLEVEL=0"] : []),
    "-tls1_3",
    "-www",
  ]);
  await peer.waitForOutput("ACCEPT", 15_000);
  return peer;
}

interopTest(
  "openssl-made certificates over usernet TAP: each chain accepted or refused with its error class and alert",
  needs,
  async () => {
    const dir = await makeCertificates();
    const net = await usernetOnTap("tls-certs", { subnet: 96 });
    const peers: Peer[] = [];
    try {
      for (const [i, c] of CASES.entries()) peers.push(await serve(net, dir, c, 5000 + i));
      for (const [i, c] of CASES.entries()) {
        const caCerts = await Promise.all(c.trust.map((t) => Deno.readTextFile(`${dir}/${t}.pem`)));
        const attempt = connectTls(net.stack, {
          hostname: net.linux,
          port: 5000 + i,
          serverName: c.serverName,
          caCerts,
        });
        if (!c.error) {
          const tls = await attempt.catch((e) => {
            throw new Error(`${c.name}: refused: ${e}`, { cause: e });
          });
          equal(tls.handshake.verified, true, c.name);
          tls.close();
          continue;
        }
        const error = await attempt.then(
          (tls) => {
            tls.close();
            return undefined;
          },
          (e) => e,
        );
        ok(error instanceof c.error, `${c.name}: expected ${c.error.name}, got ${error}`);
        await peers[i].waitForOutput(c.alert!, 10_000).catch((e) => {
          throw new Error(`${c.name}: s_server did not report "${c.alert}"`, { cause: e });
        });
      }
    } catch (e) {
      for (const p of peers) console.error(`${p.name}:\n${p.log.slice(-1500)}`);
      throw e;
    } finally {
      for (const p of peers) await p.stop();
      await net.cleanup();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
  { timeoutMs: 90_000 },
);
