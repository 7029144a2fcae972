import { deepEqual, equal, ok } from "node:assert/strict";
import { hashHostName, hostKeyName, KnownHosts } from "./known_hosts.ts";
import { fromBase64 } from "./host_key.ts";

const dir = new URL("../tests/fixtures/ssh/", import.meta.url);
const read = (n: string) => Deno.readTextFileSync(new URL(n, dir));
const blob = (pubFile: string) => fromBase64(read(pubFile).trim().split(/\s+/)[1]);
const host = blob("host_ed25519.pub");
const ecdsa = blob("id_ecdsa256.pub");
const rsa = blob("id_rsa.pub");
const other = blob("id_ed25519.pub");

Deno.test("known_hosts: plain entries, comma lists and ports", () => {
  const kh = KnownHosts.parse(read("known_hosts_plain"));
  equal(kh.lookup("example.com", 22, host).status, "match");
  equal(kh.lookup("192.0.2.10", 22, host).status, "match");
  equal(kh.lookup("EXAMPLE.com", 22, host).status, "match");
  // Port 2222 is a separate name: the ed25519 key is not listed there.
  deepEqual(kh.lookup("example.com", 2222, host), {
    status: "unknown",
    otherTypes: ["ecdsa-sha2-nistp256"],
  });
  deepEqual(kh.invalidLines, [7]);
});

Deno.test("known_hosts: a different key of the same type is a mismatch", () => {
  const kh = KnownHosts.parse(read("known_hosts_plain"));
  const r = kh.lookup("example.com", 22, other);
  equal(r.status, "mismatch");
  if (r.status === "mismatch") equal(r.expected[0].line, 2);
});

Deno.test("known_hosts: a key of another type is unknown, listing the known types", () => {
  const kh = KnownHosts.parse(read("known_hosts_plain"));
  deepEqual(kh.lookup("example.com", 22, rsa), { status: "unknown", otherTypes: ["ssh-ed25519"] });
  deepEqual(kh.keyTypesFor("example.com"), ["ssh-ed25519"]);
});

Deno.test("known_hosts: wildcards and negation", () => {
  const kh = KnownHosts.parse(read("known_hosts_plain"));
  equal(kh.lookup("a.wild.test", 22, rsa).status, "match");
  equal(kh.lookup("bad.wild.test", 22, rsa).status, "unknown");
  equal(kh.lookup("wild.test", 22, rsa).status, "unknown");
});

Deno.test("known_hosts: @revoked wins over a matching entry", () => {
  const kh = KnownHosts.parse(read("known_hosts_plain"));
  equal(kh.lookup("example.com", 2222, ecdsa).status, "revoked");
});

Deno.test("known_hosts: @cert-authority keys do not vouch for plain host keys", () => {
  const kh = KnownHosts.parse(read("known_hosts_plain"));
  equal(kh.lookup("x.ca.test", 22, host).status, "unknown");
});

Deno.test("known_hosts: hashed entries from ssh-keygen -H", () => {
  const text = read("known_hosts_hashed");
  ok(text.startsWith("|1|"));
  const kh = KnownHosts.parse(text);
  equal(kh.lookup("hashed.example", 22, host).status, "match");
  equal(kh.lookup("hashed.example", 2200, ecdsa).status, "match");
  equal(kh.lookup("hashed.example", 2200, host).status, "unknown");
  equal(kh.lookup("other.example", 22, host).status, "unknown");
  equal(kh.lookup("hashed.example", 22, other).status, "mismatch");
});

Deno.test("known_hosts: hashHostName matches the |1|salt|hash format", () => {
  const line = read("known_hosts_hashed").split("\n")[0];
  const [, , salt, hash] = line.split(" ")[0].split("|");
  deepEqual(hashHostName("hashed.example", fromBase64(salt)), fromBase64(hash));
});

Deno.test("known_hosts: add() records plain and hashed lines that then match", async () => {
  const kh = KnownHosts.parse("");
  const plain = await kh.add("new.example", 2022, host);
  ok(plain.startsWith("[new.example]:2022 ssh-ed25519 "));
  const hashed = await kh.add("h.example", 22, ecdsa, true);
  ok(hashed.startsWith("|1|"));
  equal(kh.lookup("new.example", 2022, host).status, "match");
  equal(kh.lookup("h.example", 22, ecdsa).status, "match");
});

Deno.test("known_hosts: load() of a missing file is empty and add() creates it", async () => {
  const d = await Deno.makeTempDir();
  try {
    const kh = await KnownHosts.load(`${d}/known_hosts`);
    equal(kh.entries.length, 0);
    await kh.add("127.0.0.1", 22, host);
    const again = await KnownHosts.load(`${d}/known_hosts`);
    equal(again.lookup("127.0.0.1", 22, host).status, "match");
  } finally {
    await Deno.remove(d, { recursive: true });
  }
});

Deno.test("known_hosts: hostKeyName uses [host]:port off port 22", () => {
  equal(hostKeyName("h", 22), "h");
  equal(hostKeyName("h", 2222), "[h]:2222");
});
