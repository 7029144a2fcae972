/**
 * Congestion control cores: slow start, congestion avoidance, and no growth for a window the
 * sender is not filling (RFC 7661's idea, as Linux's tcp_is_cwnd_limited).
 */
import assert from "node:assert/strict";
import { Cubic, initialWindow, NewReno } from "./congestion.ts";

const MSS = 1460;

for (const make of [(mss: number) => new NewReno(mss), (mss: number) => new Cubic(mss)]) {
  const name = make(MSS).name;

  Deno.test(`${name}: slow start grows by the bytes acknowledged while the flight fills the window`, () => {
    const cc = make(MSS);
    assert.equal(cc.cwnd, initialWindow(MSS));
    cc.onAck(MSS, cc.cwnd, 0, 10);
    assert.equal(cc.cwnd, initialWindow(MSS) + MSS);
    // Half the window in flight still counts in slow start (it doubles per round trip).
    const before = cc.cwnd;
    cc.onAck(MSS, before / 2, 1, 10);
    assert.equal(cc.cwnd, before + MSS);
  });

  Deno.test(`${name}: slow start holds the window while the application leaves it mostly empty`, () => {
    const cc = make(MSS);
    const start = cc.cwnd;
    // An interactive sender: two segments out at a time, acknowledged a thousand times.
    for (let i = 0; i < 1000; i++) cc.onAck(MSS, 2 * MSS, i, 10);
    assert.equal(cc.cwnd, start, "no window built that was never tested");
  });

  Deno.test(`${name}: congestion avoidance grows only when the flight fills the window`, () => {
    const cc = make(MSS);
    cc.ssthresh = 20 * MSS;
    cc.cwnd = 20 * MSS;
    for (let i = 0; i < 200; i++) cc.onAck(MSS, 10 * MSS, i, 10); // half empty: no growth
    assert.equal(cc.cwnd, 20 * MSS);
    for (let i = 0; i < 200; i++) cc.onAck(MSS, cc.cwnd, 200 + i * 10, 10);
    assert.ok(cc.cwnd > 20 * MSS, `grew to ${cc.cwnd / MSS} segments`);
  });
}
