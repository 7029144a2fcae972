/**
 * Content and transfer decoding through the platform's `DecompressionStream`.
 *
 * `deflate` is sniffed: RFC 9110 §8.4.1.2 means zlib-wrapped data, but some servers send raw
 * deflate, so a body whose first two bytes are not a zlib header is inflated raw (as browsers
 * do). An empty body decodes to an empty body.
 *
 * @module
 */

const FORMATS: Record<string, CompressionFormat | "deflate-auto"> = {
  gzip: "gzip",
  "x-gzip": "gzip",
  deflate: "deflate-auto",
};

function brotliSupported(): boolean {
  try {
    new DecompressionStream("brotli" as CompressionFormat);
    return true;
  } catch {
    return false;
  }
}

if (brotliSupported()) FORMATS.br = "brotli" as CompressionFormat;

/** The Accept-Encoding value listing what {@link decodeBody} can undo. */
export const ACCEPT_ENCODING: string = Object.keys(FORMATS).filter((c) => c !== "x-gzip").join(
  ", ",
);

/** Splits a Content-Encoding value into lowercase codings, ignoring `identity`. */
export function parseCodings(value: string | null): string[] {
  if (!value) return [];
  return value.split(",").map((c) => c.trim().toLowerCase()).filter((c) =>
    c !== "" && c !== "identity"
  );
}

/** Whether every coding can be decoded. */
export function canDecode(codings: string[]): boolean {
  return codings.every((c) => c in FORMATS);
}

/** Undoes `codings` (listed in the order they were applied) on `body`. */
export function decodeBody(
  body: ReadableStream<Uint8Array>,
  codings: string[],
): ReadableStream<Uint8Array> {
  for (let i = codings.length - 1; i >= 0; i--) body = decodeOne(body, FORMATS[codings[i]]);
  return body;
}

function isZlibHeader(a: number, b: number): boolean {
  return (a & 0x0f) === 8 && (a >> 4) <= 7 && ((a << 8) | b) % 31 === 0;
}

function decodeOne(
  source: ReadableStream<Uint8Array>,
  format: CompressionFormat | "deflate-auto",
): ReadableStream<Uint8Array> {
  const reader = source.getReader();
  let decoded: ReadableStreamDefaultReader<Uint8Array> | undefined;
  let empty = false;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (!decoded && !empty) {
        // Peek at the first bytes: to choose raw or zlib deflate and to pass empty bodies.
        const first: Uint8Array[] = [];
        let have = 0;
        let done = false;
        while (have < 2) {
          const r = await reader.read();
          if (r.done) {
            done = true;
            break;
          }
          if (r.value.length > 0) {
            first.push(r.value);
            have += r.value.length;
          }
        }
        if (have === 0) {
          empty = true;
        } else {
          let chosen = format;
          if (chosen === "deflate-auto") {
            const a = first[0][0];
            const b = first[0].length > 1 ? first[0][1] : first[1]?.[0] ?? 0;
            chosen = isZlibHeader(a, b) ? "deflate" : "deflate-raw";
          }
          const replay = new ReadableStream<Uint8Array>({
            start(c) {
              for (const chunk of first) c.enqueue(chunk);
              if (done) c.close();
            },
            async pull(c) {
              const r = await reader.read();
              if (r.done) c.close();
              else c.enqueue(r.value);
            },
            cancel(reason) {
              return reader.cancel(reason);
            },
          }, { highWaterMark: 0 });
          const decompressor = new DecompressionStream(chosen as CompressionFormat);
          decoded = replay.pipeThrough(
            decompressor as unknown as ReadableWritablePair<Uint8Array, Uint8Array>,
          ).getReader();
        }
      }
      if (empty) {
        controller.close();
        return;
      }
      const r = await decoded!.read();
      if (r.done) controller.close();
      else controller.enqueue(r.value);
    },
    cancel(reason) {
      return decoded ? decoded.cancel(reason) : reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
}
