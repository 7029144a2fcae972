import { equal, ok, throws } from "node:assert/strict";
import { SshChannel } from "./channel.ts";
import { SshReader, SshWriter } from "./_wire.ts";
import { ProtocolError } from "./errors.ts";

function fakeHost() {
  const sent: Uint8Array[] = [];
  return {
    sent,
    host: { send: (p: Uint8Array) => (sent.push(p), Promise.resolve()), release: () => {} },
  };
}

const data = (n: number) => new SshReader(new SshWriter().string(new Uint8Array(n)).bytes());

Deno.test("channel: grants window only as the reader consumes (RFC 4254 §5.2)", async () => {
  const { sent, host } = fakeHost();
  const ch = new SshChannel(host, 0, "session", 64 * 1024, 32 * 1024);
  ch._confirm(7, 1 << 20, 32 * 1024);
  for (let i = 0; i < 2; i++) ch._onMessage(94, data(32 * 1024));
  equal(ch.localWindow, 0);
  // Unread data still occupies the window: nothing granted yet.
  equal(sent.filter((p) => p[0] === 93).length, 0);
  const reader = ch.readable.getReader();
  await reader.read();
  await reader.read();
  await Promise.resolve();
  const adjusts = sent.filter((p) => p[0] === 93);
  ok(adjusts.length >= 1);
  let granted = 0;
  for (const a of adjusts) {
    const r = new SshReader(a, 1);
    equal(r.uint32(), 7);
    granted += r.uint32();
  }
  equal(granted, 64 * 1024);
  equal(ch.localWindow, 64 * 1024);
});

Deno.test("channel: data beyond the window is a protocol error", () => {
  const { host } = fakeHost();
  const ch = new SshChannel(host, 0, "session", 1024, 1024);
  ch._confirm(1, 1024, 1024);
  throws(() => ch._onMessage(94, data(2048)), ProtocolError);
});

Deno.test("channel: writes wait for window and respect the peer's max packet", async () => {
  const { sent, host } = fakeHost();
  const ch = new SshChannel(host, 0, "session");
  ch._confirm(3, 5000, 2048);
  const w = ch.writable.getWriter();
  let done = false;
  const writing = w.write(new Uint8Array(8000)).then(() => (done = true));
  await new Promise((r) => setTimeout(r, 10));
  const sizes = () =>
    sent.filter((p) => p[0] === 94).map((p) => new DataView(p.buffer).getUint32(5));
  equal(sizes().reduce((a, b) => a + b, 0), 5000);
  ok(sizes().every((n) => n <= 2048));
  ok(!done);
  ch._onMessage(93, new SshReader(new SshWriter().uint32(10000).bytes()));
  await writing;
  equal(sizes().reduce((a, b) => a + b, 0), 8000);
});

Deno.test("channel: stderr, exit-status and EOF reach the streams", async () => {
  const { host } = fakeHost();
  const ch = new SshChannel(host, 0, "session");
  ch._confirm(2, 1000, 1000);
  ch._onMessage(95, new SshReader(new SshWriter().uint32(1).string("oops").bytes()));
  ch._onMessage(
    98,
    new SshReader(new SshWriter().string("exit-status").boolean(false).uint32(4).bytes()),
  );
  ch._onMessage(96, new SshReader(new Uint8Array(0)));
  const r = ch.stderr.getReader();
  equal(new TextDecoder().decode((await r.read()).value), "oops");
  ok((await r.read()).done);
  equal((await ch.exit).code, 4);
});

Deno.test("channel: with the host's sendData fast path, data is copied at once and back-pressure is awaited", async () => {
  const sent: Array<{ header: Uint8Array; data: Uint8Array }> = [];
  let release: (() => void) | undefined;
  const host = {
    send: () => Promise.resolve(),
    release: () => {},
    // Copies as a transport does; asks the channel to wait after the second packet.
    sendData(header: Uint8Array, data: Uint8Array) {
      sent.push({ header: header.slice(), data: data.slice() });
      return sent.length === 2 ? new Promise<void>((r) => (release = r)) : undefined;
    },
  };
  const ch = new SshChannel(host, 0, "session");
  ch._confirm(9, 1 << 20, 2000);
  const w = ch.writable.getWriter();
  const chunk = Uint8Array.from({ length: 7000 }, (_, i) => i & 0xff);
  const writing = w.write(chunk);
  await new Promise((r) => setTimeout(r, 10));
  equal(sent.length, 2); // waiting on the host
  release!();
  await writing;
  equal(sent.length, 4);
  const ids = sent.map((s) => new DataView(s.header.buffer).getUint32(1));
  ok(ids.every((id) => id === 9));
  equal(sent.map((s) => s.header[0]).join(), "94,94,94,94");
  equal(sent.map((s) => new DataView(s.header.buffer).getUint32(5)).join(), "2000,2000,2000,1000");
  equal(sent.map((s) => s.data.length).join(), "2000,2000,2000,1000");
  const joined = new Uint8Array(7000);
  let at = 0;
  for (const s of sent) {
    joined.set(s.data, at);
    at += s.data.length;
  }
  equal(joined.join(), chunk.join());
});
