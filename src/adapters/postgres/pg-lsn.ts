/** PostgreSQL WAL positions (LSNs): `X/Y` text, 64-bit values. */

/** Parses `16/B374D848` into a 64-bit value. */
export function parseLsn(text: string): bigint {
  const match = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(text);
  if (match === null) throw new Error(`not a PostgreSQL LSN: "${text}"`);
  return (BigInt(`0x${match[1]}`) << 32n) | BigInt(`0x${match[2]}`);
}

/** Formats a 64-bit value as `X/Y`, the way PostgreSQL prints LSNs. */
export function formatLsn(lsn: bigint): string {
  return `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffff_ffffn).toString(16).toUpperCase()}`;
}

/**
 * A change's source position: the commit LSN of its transaction (16 hex digits) and its index in
 * the transaction (8 hex digits). Fixed width, so string order is commit order.
 */
export function sourceOf(commitLsn: bigint, index: number): string {
  return commitLsn.toString(16).padStart(16, '0') + index.toString(16).padStart(8, '0');
}
