import { equal } from "node:assert/strict";
import { bcryptPbkdf } from "./bcrypt_pbkdf.ts";
import { Blowfish } from "./_blowfish.ts";

const hex = (b: Uint8Array) => Array.from(b).map((x) => x.toString(16).padStart(2, "0")).join("");
const te = (s: string) => new TextEncoder().encode(s);

Deno.test("blowfish: Schneier's test vector (zero key, zero block)", () => {
  const bf = new Blowfish();
  bf.expand0State(new Uint8Array(8)); // the standard key schedule
  const out = new Uint32Array(2);
  bf.encipher(0, 0, out, 0);
  equal(out[0].toString(16) + out[1].toString(16).padStart(8, "0"), "4ef997456198dd78");
});

Deno.test("blowfish: Schneier's test vector (all-ones key and block)", () => {
  const bf = new Blowfish();
  bf.expand0State(new Uint8Array(8).fill(0xff));
  const out = new Uint32Array(2);
  bf.encipher(0xffffffff, 0xffffffff, out, 0);
  equal(out[0].toString(16) + out[1].toString(16).padStart(8, "0"), "51866fd5b85ecb8a");
});

Deno.test("bcrypt_pbkdf: OpenBSD regression vector (password/salt, 4 rounds, 32 bytes)", () => {
  equal(
    hex(bcryptPbkdf(te("password"), te("salt"), 32, 4)),
    "5bbf0cc293587f1c3635555c27796598d47e579071bf427e9d8fbe842aba34d9",
  );
});

Deno.test("bcrypt_pbkdf: output longer than one hash block interleaves by stride", () => {
  const a = bcryptPbkdf(te("pw"), te("saltsalt"), 48, 2);
  const b = bcryptPbkdf(te("pw"), te("saltsalt"), 64, 2);
  equal(a.length, 48);
  // With stride 2 for both, byte i*2 comes from block 1 in each.
  equal(a[0], b[0]);
  equal(a[2], b[2]);
});
