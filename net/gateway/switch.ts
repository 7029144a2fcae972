/**
 * A learning Ethernet switch in process: it joins NICs (a gateway's stack, QEMU VMs on stream
 * or dgram sockets, other stacks on memory links) into one virtual LAN.
 *
 * @module
 */
import { type Frame, FRAME_NEEDS_CHECKSUM, type Nic } from "../../drivers/nic.ts";
import { completeChecksum } from "../wire/checksum.ts";

/** Options of {@linkcode EthernetSwitch}. */
export interface SwitchOptions {
  /** MAC table entries kept (default 1024); the oldest is forgotten first. */
  maxMacEntries?: number;
  /** Ports at most (default 64). */
  maxPorts?: number;
}

interface Port {
  nic: Nic;
  id: number;
}

/**
 * Forwards frames between attached NICs by learned MAC address, flooding broadcasts and unknown
 * destinations.
 *
 * @example
 * ```ts
 * import { EthernetSwitch } from "./switch.ts";
 * import { MemoryLink } from "../../drivers/memory.ts";
 * const sw = new EthernetSwitch();
 * const [a, aSwitchSide] = MemoryLink.pair();
 * const [b, bSwitchSide] = MemoryLink.pair();
 * sw.attach(aSwitchSide);
 * sw.attach(bSwitchSide);
 * a.transmit([{ data: new Uint8Array(60).fill(0xff, 0, 6) }]); // broadcast reaches b
 * console.log((await b.receive())?.length); // 1
 * sw.close();
 * a.close();
 * b.close();
 * ```
 */
export class EthernetSwitch {
  readonly #ports = new Map<number, Port>();
  /** Port by MAC address (as a 48-bit number: no string per frame). */
  readonly #macTable = new Map<number, number>();
  readonly #maxMacEntries: number;
  readonly #maxPorts: number;
  #nextId = 1;
  #closed = false;
  /** Frames dropped because the destination port could not take them, or no port was attached. */
  dropped = 0;

  /** Creates a switch with no ports. */
  constructor(options: SwitchOptions = {}) {
    this.#maxMacEntries = options.maxMacEntries ?? 1024;
    this.#maxPorts = options.maxPorts ?? 64;
  }

  /** Number of attached ports. */
  get portCount(): number {
    return this.#ports.size;
  }

  /**
   * Attaches a NIC (the switch's side of a link) and starts forwarding its frames. Resolves
   * when the NIC closes; the port is then removed.
   */
  attach(nic: Nic): Promise<void> {
    if (this.#closed) throw new Error("the switch is closed");
    if (this.#ports.size >= this.#maxPorts) {
      nic.close();
      throw new RangeError(`the switch has its maximum of ${this.#maxPorts} ports`);
    }
    const port: Port = { nic, id: this.#nextId++ };
    this.#ports.set(port.id, port);
    return this.#pump(port);
  }

  async #pump(port: Port): Promise<void> {
    try {
      for (;;) {
        const frames = await port.nic.receive();
        if (!frames) break;
        this.#forward(port, frames);
      }
    } catch { /* the NIC failed: drop the port */ }
    this.#ports.delete(port.id);
    for (const [mac, id] of this.#macTable) if (id === port.id) this.#macTable.delete(mac);
  }

  #forward(from: Port, frames: Frame[]): void {
    const batches = new Map<number, Frame[]>();
    for (const frame of frames) {
      const d = frame.data;
      if (d.length < 14) continue;
      // Learn the source (unless it is a group address).
      if ((d[6] & 1) === 0) {
        const source = macKey(d, 6);
        if (this.#macTable.get(source) !== from.id) {
          this.#macTable.delete(source);
          if (this.#macTable.size >= this.#maxMacEntries) {
            this.#macTable.delete(this.#macTable.keys().next().value!);
          }
          this.#macTable.set(source, from.id);
        }
      }
      const target = (d[0] & 1) ? undefined : this.#macTable.get(macKey(d, 0));
      if (target !== undefined) {
        if (target === from.id) continue; // already on its segment
        push(batches, target, frame);
      } else {
        let first = true;
        for (const id of this.#ports.keys()) {
          if (id === from.id) continue;
          // Each port owns what it receives: flooded frames need their own copy.
          push(batches, id, first ? frame : { data: frame.data.slice(), meta: frame.meta });
          first = false;
        }
      }
    }
    for (const [id, batch] of batches) {
      const port = this.#ports.get(id);
      if (!port) {
        this.dropped += batch.length;
        continue;
      }
      if (!port.nic.features.txChecksum) {
        // This port's far side checks checksums: finish partial ones (as a NIC would on the way out).
        for (let i = 0; i < batch.length; i++) {
          const meta = batch[i].meta;
          if (meta && (meta.flags & FRAME_NEEDS_CHECKSUM)) {
            completeChecksum(batch[i].data, meta.checksumStart, meta.checksumOffset);
            batch[i] = { data: batch[i].data };
          }
        }
      }
      port.nic.transmit(batch);
    }
  }

  /** Closes every attached NIC. */
  close(): void {
    this.#closed = true;
    for (const port of this.#ports.values()) port.nic.close();
    this.#ports.clear();
    this.#macTable.clear();
  }
}

/** Six bytes at `offset` as one number (exact: 48 bits fit a double). */
function macKey(d: Uint8Array, offset: number): number {
  return ((d[offset] << 8) | d[offset + 1]) * 0x100000000 +
    (((d[offset + 2] << 24) | (d[offset + 3] << 16) | (d[offset + 4] << 8) | d[offset + 5]) >>> 0);
}

function push(batches: Map<number, Frame[]>, id: number, frame: Frame): void {
  const batch = batches.get(id);
  if (batch) batch.push(frame);
  else batches.set(id, [frame]);
}
