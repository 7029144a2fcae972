import assert from "node:assert/strict";
import { DhcpFormatError } from "./errors.ts";
import {
  BOOTP_MIN_SIZE,
  type DhcpMessage,
  parseDhcpMessage,
  serializeDhcpMessage,
} from "./message.ts";
import { decodeOptions, encodeOptions, messageTypeName } from "./options.ts";
import { seededRandom } from "../dns/_test_util.ts";

const MAC = Uint8Array.of(0x52, 0x54, 0, 0x12, 0x34, 0x56);

function message(options: DhcpMessage["options"], extra: Partial<DhcpMessage> = {}): DhcpMessage {
  return {
    op: 2,
    htype: 1,
    hops: 0,
    xid: 0x12345678,
    secs: 3,
    broadcast: true,
    ciaddr: 0,
    yiaddr: 0x0a00020f,
    siaddr: 0,
    giaddr: 0,
    chaddr: MAC,
    sname: "",
    file: "",
    options,
    ...extra,
  };
}

const everyOption: DhcpMessage["options"] = {
  messageType: 5,
  subnetMask: 0xffffff00,
  routers: [0x0a000202, 0x0a000201],
  dnsServers: [0x0a000203],
  hostname: "vm1",
  domainName: "usernet.test",
  mtu: 1500,
  broadcastAddress: 0x0a0002ff,
  requestedAddress: 0x0a00020f,
  leaseTime: 86400,
  serverId: 0x0a000202,
  parameterRequestList: [1, 3, 6, 15],
  message: "hello",
  maxMessageSize: 1472,
  renewalTime: 43200,
  rebindingTime: 75600,
  clientId: Uint8Array.of(1, ...MAC),
  other: new Map([[252, new TextEncoder().encode("http://wpad/")]]),
};

Deno.test("dhcp message: every option round-trips", () => {
  const m = message(everyOption, { sname: "server", file: "boot.img", giaddr: 0x0a000001 });
  const bytes = serializeDhcpMessage(m);
  assert.deepEqual(parseDhcpMessage(bytes), m);
  // Fixed header fields at their RFC 2131 offsets.
  assert.equal(bytes[0], 2);
  assert.equal(bytes[2], 6, "hlen");
  assert.deepEqual([...bytes.subarray(4, 8)], [0x12, 0x34, 0x56, 0x78]);
  assert.deepEqual([...bytes.subarray(10, 12)], [0x80, 0], "BROADCAST flag");
  assert.deepEqual([...bytes.subarray(236, 240)], [99, 130, 83, 99], "magic cookie");
  assert.deepEqual([...bytes.subarray(240, 243)], [53, 1, 5], "message type first");
});

Deno.test("dhcp message: short messages are padded to 300 bytes (RFC 1542)", () => {
  const bytes = serializeDhcpMessage(message({ messageType: 1 }));
  assert.equal(bytes.length, BOOTP_MIN_SIZE);
  assert.deepEqual([...bytes.subarray(240, 244)], [53, 1, 1, 255]);
});

Deno.test("dhcp message: long options are split and concatenated (RFC 3396)", () => {
  const big = new Uint8Array(600).map((_, i) => i & 255);
  const m = message({ messageType: 5, other: new Map([[224, big]]) });
  const bytes = serializeDhcpMessage(m);
  // 600 bytes -> instances of 255, 255, 90.
  assert.deepEqual([bytes[243], bytes[244]], [224, 255]);
  assert.deepEqual(parseDhcpMessage(bytes).options.other?.get(224), big);
});

Deno.test("dhcp message: options overflow into file and sname (option 52)", () => {
  const dns = Array.from({ length: 60 }, (_, i) => 0x0a000100 + i); // 242 bytes of option 6
  const { other: _other, ...withoutOther } = everyOption;
  const m = message({ ...withoutOther, dnsServers: dns });
  const bytes = serializeDhcpMessage(m, 576);
  assert.ok(bytes.length <= 576);
  const parsed = parseDhcpMessage(bytes);
  assert.deepEqual(parsed.options.dnsServers, dns);
  assert.deepEqual(parsed.options, m.options);
  assert.equal(parsed.file, "");
  assert.deepEqual([...bytes.subarray(240, 243)], [52, 1, 1], "overload: file");
  // Without a limit everything stays in the options field.
  const unlimited = serializeDhcpMessage(m);
  assert.equal(unlimited[240], 53);
  // Options too large even for file and sname.
  const huge = message({ messageType: 5, other: new Map([[224, new Uint8Array(1000)]]) });
  assert.throws(() => serializeDhcpMessage(huge, 576), DhcpFormatError);
});

Deno.test("dhcp message: strict lengths and typed errors", () => {
  const good = serializeDhcpMessage(message({ messageType: 2, leaseTime: 60 }));
  assert.throws(() => parseDhcpMessage(good.subarray(0, 239)), /shorter than 240/);
  const noCookie = good.slice();
  noCookie[236] = 0;
  assert.throws(() => parseDhcpMessage(noCookie), /magic cookie/);
  const hlen = good.slice();
  hlen[2] = 17;
  assert.throws(() => parseDhcpMessage(hlen), /over 16/);
  // Option runs past the end of the message.
  const cut = good.slice(0, 240 + 3 + 4);
  assert.throws(() => parseDhcpMessage(cut), DhcpFormatError);
  // Option with a length byte missing.
  assert.throws(
    () => parseDhcpMessage(Uint8Array.from([...good.subarray(0, 240), 51])),
    /no length/,
  );
  const wrong: Array<[number, number[], RegExp]> = [
    [51, [0, 0, 1], /51 must be 4 bytes/],
    [1, [255, 255, 255], /1 must be 4 bytes/],
    [3, [10, 0, 2, 2, 1], /multiple of 4/],
    [6, [], /multiple of 4/],
    [53, [1, 2], /53 must be 1 bytes/],
    [26, [0, 40], /below the minimum/],
    [57, [1, 0], /< 576/],
    [61, [1], /at least 2/],
    [12, [], /is empty/],
    [52, [4], /overload/],
  ];
  for (const [code, value, re] of wrong) {
    const bytes = Uint8Array.from([...good.subarray(0, 240), code, value.length, ...value, 255]);
    assert.throws(() => parseDhcpMessage(bytes), re, `option ${code}`);
    try {
      parseDhcpMessage(bytes);
    } catch (e) {
      assert.ok(e instanceof DhcpFormatError);
      if (code !== 52) assert.equal(e.option, code);
    }
  }
  assert.throws(
    () => serializeDhcpMessage(message({}, { chaddr: new Uint8Array(17) })),
    DhcpFormatError,
  );
  assert.throws(
    () => serializeDhcpMessage(message({ other: new Map([[52, Uint8Array.of(1)]]) })),
    /cannot be set directly/,
  );
});

Deno.test("dhcp message: missing END and NUL-terminated strings are tolerated", () => {
  const good = serializeDhcpMessage(message({ messageType: 2 }));
  const noEnd = Uint8Array.from([...good.subarray(0, 240), 53, 1, 2, 12, 4, 0x76, 0x6d, 0, 0]);
  const m = parseDhcpMessage(noEnd);
  assert.equal(m.options.messageType, 2);
  assert.equal(m.options.hostname, "vm");
});

Deno.test("dhcp options: encode/decode agree; names of message types", () => {
  const decoded = decodeOptions(new Map(encodeOptions(everyOption)));
  assert.deepEqual(decoded, everyOption);
  assert.equal(messageTypeName(5), "DHCPACK");
  assert.equal(messageTypeName(99), "DHCP type 99");
});

Deno.test("dhcp message: 20000 mutated messages parse or fail with DhcpFormatError only", () => {
  const random = seededRandom(9);
  const seeds = [
    serializeDhcpMessage(message(everyOption)),
    serializeDhcpMessage(
      message({ ...everyOption, other: undefined, dnsServers: Array(60).fill(1) }),
      576,
    ),
  ];
  let parsed = 0;
  for (let i = 0; i < 20000; i++) {
    const bytes = seeds[i % seeds.length].slice();
    const flips = 1 + Math.floor(random() * 4);
    for (let f = 0; f < flips; f++) {
      // Mostly hit the options area, where the structure is.
      const at = random() < 0.8
        ? 236 + Math.floor(random() * (bytes.length - 236))
        : Math.floor(random() * bytes.length);
      bytes[at] = random() * 256;
    }
    try {
      const m = parseDhcpMessage(bytes);
      parsed++;
      if (m.chaddr.length <= 16) serializeDhcpMessage(m);
    } catch (e) {
      if (!(e instanceof DhcpFormatError)) throw e;
    }
  }
  assert.ok(parsed > 1000, `${parsed} mutants still parsed`);
});
