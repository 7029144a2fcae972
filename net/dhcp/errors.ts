/**
 * Typed DHCP errors.
 *
 * @module
 */

/**
 * A DHCP message is malformed: too short, wrong magic cookie, an option that runs past its
 * field, or an option whose length is wrong for its code.
 *
 * @example
 * ```ts
 * import { DhcpFormatError } from "./errors.ts";
 * const e = new DhcpFormatError("option 51 (lease time) must be 4 bytes", 51);
 * console.assert(e.option === 51);
 * ```
 */
export class DhcpFormatError extends Error {
  /** Always "DhcpFormatError". */
  override name = "DhcpFormatError";
  /** The option code at fault, when there is one. */
  readonly option: number | undefined;
  /** Creates the error; the message says what went wrong and where. */
  constructor(message: string, option?: number) {
    super(message);
    this.option = option;
  }
}

/**
 * A DHCP client or server was configured with impossible settings (a pool outside the subnet,
 * a MAC address of the wrong length, a pool too large to bound).
 *
 * @example
 * ```ts
 * import { DhcpConfigError } from "./errors.ts";
 * console.log(new DhcpConfigError("pool 10.0.0.9-10.0.0.2 is empty").message);
 * ```
 */
export class DhcpConfigError extends Error {
  /** Always "DhcpConfigError". */
  override name = "DhcpConfigError";
}
