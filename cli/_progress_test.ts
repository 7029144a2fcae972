import { equal, ok } from "node:assert/strict";
import { formatBytes, formatDuration, formatProgress, ProgressBar } from "./_progress.ts";

Deno.test("progress: byte and time formats", () => {
  equal(formatBytes(0), "0B");
  equal(formatBytes(999), "999B");
  equal(formatBytes(1000), "1.0KB");
  equal(formatBytes(12_345_678), "11.8MB");
  equal(formatBytes(200 * 1024 * 1024), "200MB");
  equal(formatDuration(3), "00:03");
  equal(formatDuration(3725), "1:02:05");
  equal(formatDuration(undefined), "--:--");
  equal(formatDuration(Infinity), "--:--");
});

Deno.test("progress: a line has the percentage, size, rate and ETA, and fits the width", () => {
  const line = formatProgress({
    label: "file.bin",
    done: 50 << 20,
    total: 100 << 20,
    rate: 10 << 20,
    elapsed: 5,
  }, 70);
  equal(line.length, 70);
  ok(line.startsWith("file.bin"), line);
  ok(/ 50%\s+50\.0MB\s+10\.0MB\/s\s+00:05 ETA$/.test(line), line);
  const long = formatProgress(
    { label: "x".repeat(200), done: 1, total: 2, rate: 1, elapsed: 1 },
    60,
  );
  equal(long.length, 60);
  ok(long.startsWith("…"));
  const unknown = formatProgress({ label: "s", done: 10, rate: 0, elapsed: 1 }, 60);
  ok(unknown.includes("--:-- ETA"), unknown);
});

Deno.test("progress: the bar smooths the rate, throttles redraws, ends with the average", () => {
  let out = "";
  let t = 0;
  const bar = new ProgressBar("f", 10_000_000, {
    write: (s) => (out += s),
    now: () => t,
    columns: 60,
  });
  for (let i = 1; i <= 10; i++) {
    t = i * 500;
    bar.update(i * 500_000); // 1 MB/s
  }
  ok(Math.abs(bar.rate - 1_000_000) < 1, String(bar.rate));
  equal(out.split("\r").length - 1, 10); // one draw per update at 500 ms spacing
  bar.update(5_000_001); // same instant: no redraw
  equal(out.split("\r").length - 1, 10);
  t = 10_000;
  bar.finish(10_000_000);
  ok(out.endsWith("\n"));
  const last = out.trimEnd().split("\r").pop()!;
  ok(/100%\s+9\.5MB\s+977KB\/s\s+00:10\s*$/.test(last), last);
});
