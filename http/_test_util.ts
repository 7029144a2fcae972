/**
 * Test helpers: an in-memory {@link Conn} pair and a scripted HTTP server on top of it.
 *
 * @module
 */

import type { Conn } from "../net/conn.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** One end of an in-memory byte stream. */
export class MemoryConn implements Conn {
  peer!: MemoryConn;
  #inbox: Uint8Array[] = [];
  #eof = false;
  #closed = false;
  #wake: (() => void) | null = null;
  /** Bytes written by this end. */
  written = 0;

  get closed(): boolean {
    return this.#closed;
  }

  async read(p: Uint8Array): Promise<number | null> {
    for (;;) {
      if (this.#closed) throw new Deno.errors.BadResource("connection closed");
      const head = this.#inbox[0];
      if (head) {
        const n = Math.min(p.length, head.length);
        p.set(head.subarray(0, n));
        if (n === head.length) this.#inbox.shift();
        else this.#inbox[0] = head.subarray(n);
        return n;
      }
      if (this.#eof) return null;
      await new Promise<void>((resolve) => this.#wake = resolve);
    }
  }

  write(p: Uint8Array): Promise<number> {
    if (this.#closed) return Promise.reject(new Deno.errors.BadResource("connection closed"));
    if (this.peer.#closed || this.#writeShut) {
      return Promise.reject(new Deno.errors.BrokenPipe("peer closed"));
    }
    this.written += p.length;
    this.peer.#deliver(p.slice());
    return Promise.resolve(p.length);
  }

  #writeShut = false;

  closeWrite(): Promise<void> {
    this.#writeShut = true;
    this.peer.#deliverEof();
    return Promise.resolve();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#wakeUp();
    this.peer.#deliverEof();
  }

  #deliver(bytes: Uint8Array): void {
    if (this.#closed) return;
    this.#inbox.push(bytes);
    this.#wakeUp();
  }

  #deliverEof(): void {
    this.#eof = true;
    this.#wakeUp();
  }

  #wakeUp(): void {
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }
}

/** Two connected in-memory Conns. */
export function memoryConnPair(): [MemoryConn, MemoryConn] {
  const a = new MemoryConn();
  const b = new MemoryConn();
  a.peer = b;
  b.peer = a;
  return [a, b];
}

/** A request as the fake server saw it. */
export interface SeenRequest {
  method: string;
  target: string;
  /** Raw head text. */
  head: string;
  /** Lowercased names. */
  headers: Map<string, string>;
  body: Uint8Array;
  /** Whether the body came chunked. */
  chunked: boolean;
}

/** The server side of one in-memory connection. */
export class ServerConn {
  readonly conn: MemoryConn;
  readonly id: number;
  #buffer = new Uint8Array(0);

  constructor(conn: MemoryConn, id: number) {
    this.conn = conn;
    this.id = id;
  }

  async #fill(): Promise<boolean> {
    const chunk = new Uint8Array(65536);
    let n: number | null;
    try {
      n = await this.conn.read(chunk);
    } catch {
      return false;
    }
    if (n === null) return false;
    const merged = new Uint8Array(this.#buffer.length + n);
    merged.set(this.#buffer);
    merged.set(chunk.subarray(0, n), this.#buffer.length);
    this.#buffer = merged;
    return true;
  }

  async #readUntil(pattern: string): Promise<Uint8Array | null> {
    const needle = encoder.encode(pattern);
    for (;;) {
      const at = indexOf(this.#buffer, needle);
      if (at >= 0) {
        const out = this.#buffer.slice(0, at + needle.length);
        this.#buffer = this.#buffer.slice(at + needle.length);
        return out;
      }
      if (!(await this.#fill())) return null;
    }
  }

  async #readExactly(n: number): Promise<Uint8Array | null> {
    while (this.#buffer.length < n) if (!(await this.#fill())) return null;
    const out = this.#buffer.slice(0, n);
    this.#buffer = this.#buffer.slice(n);
    return out;
  }

  /** Reads one request (head and body), or null when the client closed. */
  async readRequest(): Promise<SeenRequest | null> {
    const headBytes = await this.#readUntil("\r\n\r\n");
    if (!headBytes) return null;
    const head = decoder.decode(headBytes);
    const [requestLine, ...lines] = head.slice(0, -4).split("\r\n");
    const [method, target] = requestLine.split(" ");
    const headers = new Map<string, string>();
    for (const line of lines) {
      const colon = line.indexOf(":");
      headers.set(line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim());
    }
    let body: Uint8Array = new Uint8Array(0);
    const chunked = headers.get("transfer-encoding") === "chunked";
    if (chunked) {
      const parts: Uint8Array[] = [];
      for (;;) {
        const sizeLine = await this.#readUntil("\r\n");
        if (!sizeLine) return null;
        const size = parseInt(decoder.decode(sizeLine), 16);
        if (size === 0) {
          await this.#readUntil("\r\n");
          break;
        }
        const data = await this.#readExactly(size + 2);
        if (!data) return null;
        parts.push(data.subarray(0, size));
      }
      body = concat(parts);
    } else if (headers.has("content-length")) {
      const data = await this.#readExactly(Number(headers.get("content-length")));
      if (!data) return null;
      body = data;
    }
    return { method, target, head, headers, body, chunked };
  }

  /** Writes text (as latin1) or bytes. */
  async write(data: string | Uint8Array): Promise<void> {
    await this.conn.write(typeof data === "string" ? latin1Bytes(data) : data);
  }

  close(): void {
    this.conn.close();
  }
}

/** What a handler returns: raw response bytes, or instructions. */
export type Reply =
  | string
  | Uint8Array
  | { raw: string | Uint8Array; close?: boolean }
  | { close: true };

/**
 * A scripted HTTP server reached through {@link FakeServer.connect}. With a handler it answers
 * each request on each connection; without one, tests drive connections via `accept()`.
 */
export class FakeServer {
  readonly requests: Array<SeenRequest & { connection: number }> = [];
  readonly connections: ServerConn[] = [];
  /** Hosts and ports the client connected to. */
  readonly dials: string[] = [];
  #pending: ServerConn[] = [];
  #waiters: Array<(c: ServerConn) => void> = [];

  constructor(
    readonly handler?: (request: SeenRequest, conn: ServerConn) => Reply | Promise<Reply>,
  ) {}

  /** Use as `createFetch({ connect: server.connect })`. */
  connect = (host: string, port: number): Promise<Conn> => {
    this.dials.push(`${host}:${port}`);
    const [client, server] = memoryConnPair();
    const sc = new ServerConn(server, this.connections.length + 1);
    this.connections.push(sc);
    if (this.handler) {
      this.#serve(sc);
    } else {
      const waiter = this.#waiters.shift();
      if (waiter) waiter(sc);
      else this.#pending.push(sc);
    }
    return Promise.resolve(client);
  };

  /** The next connection the client opens. */
  accept(): Promise<ServerConn> {
    const next = this.#pending.shift();
    if (next) return Promise.resolve(next);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  async #serve(sc: ServerConn): Promise<void> {
    for (;;) {
      const request = await sc.readRequest();
      if (!request) {
        sc.close();
        return;
      }
      this.requests.push({ ...request, connection: sc.id });
      const reply = await this.handler!(request, sc);
      if (typeof reply === "string" || reply instanceof Uint8Array) {
        await sc.write(reply).catch(() => {});
        continue;
      }
      if ("raw" in reply) await sc.write(reply.raw).catch(() => {});
      if (reply.close) {
        sc.close();
        return;
      }
    }
  }
}

/** Encodes each char code as one byte. */
export function latin1Bytes(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
}

/** Concatenates arrays. */
export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function indexOf(haystack: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

/** A simple response with a Content-Length body. */
export function ok(body = "", extra = ""): string {
  return `HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n${extra}\r\n${body}`;
}
