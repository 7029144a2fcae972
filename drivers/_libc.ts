/**
 * The libc calls usernet makes through Deno FFI (needs `--allow-ffi`): the TAP driver, and the
 * gateway's ICMP echo proxy (Linux ping sockets).
 */

const symbols = {
  open: { parameters: ["buffer", "i32", "i32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  ioctl: { parameters: ["i32", "u64", "buffer"], result: "i32" },
  ioctlValue: { name: "ioctl", parameters: ["i32", "u64", "u64"], result: "i32" },
  read: { parameters: ["i32", "buffer", "u64"], result: "i64" },
  write: { parameters: ["i32", "buffer", "u64"], result: "i64" },
  writev: { parameters: ["i32", "buffer", "i32"], result: "i64" },
  // Waiting happens on a worker thread so Deno's event loop stays free.
  poll: { parameters: ["buffer", "u64", "i32"], result: "i32", nonblocking: true },
  setns: { parameters: ["i32", "i32"], result: "i32" },
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  sendto: { parameters: ["i32", "buffer", "u64", "i32", "buffer", "u32"], result: "i64" },
  recvfrom: { parameters: ["i32", "buffer", "u64", "i32", "buffer", "buffer"], result: "i64" },
  eventfd: { parameters: ["u32", "i32"], result: "i32" },
  getegid: { parameters: [], result: "u32" },
  __errno_location: { parameters: [], result: "pointer" },
  strerror: { parameters: ["i32"], result: "pointer" },
} as const;

/** The loaded libc functions. */
export type Libc = Deno.DynamicLibrary<typeof symbols>["symbols"];

let libc: Libc | undefined;

/**
 * Whether FFI is already permitted (never prompts): features that are optional, like the
 * gateway's ping forwarding, use libc only then.
 */
export function ffiPermitted(): boolean {
  try {
    return typeof Deno.dlopen === "function" &&
      Deno.permissions.querySync({ name: "ffi" }).state === "granted";
  } catch {
    return false;
  }
}

/** Loads libc once. */
export function loadLibc(): Libc {
  if (!libc) {
    const paths = [
      "libc.so.6",
      "/lib/x86_64-linux-gnu/libc.so.6",
      "/lib/aarch64-linux-gnu/libc.so.6",
    ];
    let lastError: unknown;
    for (const path of paths) {
      try {
        libc = Deno.dlopen(path, symbols).symbols;
        break;
      } catch (error) {
        lastError = error;
      }
    }
    if (!libc) throw lastError;
  }
  return libc;
}

/** errno of the last synchronous libc call on this thread. */
export function errno(): number {
  const pointer = loadLibc().__errno_location();
  return pointer ? new Deno.UnsafePointerView(pointer).getInt32() : 0;
}

/** A message for an errno value, like strerror(3). */
export function describeErrno(code: number): string {
  const pointer = loadLibc().strerror(code);
  return pointer ? new Deno.UnsafePointerView(pointer).getCString() : `errno ${code}`;
}

/** C string for a path or name. */
export function cString(text: string): Uint8Array<ArrayBuffer> {
  const bytes = new TextEncoder().encode(text);
  const out = new Uint8Array(bytes.length + 1);
  out.set(bytes);
  return out;
}

export const O_RDONLY = 0;
export const O_RDWR = 2;
export const O_NONBLOCK = 0x800;
export const O_CLOEXEC = 0x80000;
export const EAGAIN = 11;
export const EINTR = 4;
export const POLLIN = 1;
export const CLONE_NEWNET = 0x40000000;
