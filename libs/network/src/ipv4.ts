import { InvalidArgumentError } from '@berth/errors';

/**
 * IPv4 addresses as unsigned 32-bit numbers, and CIDR prefixes. Only IPv4: Berth's networks do
 * not have IPv6 yet.
 */

export interface Cidr {
  /** The network address (host bits cleared). */
  base: number;
  prefix: number;
}

/** `10.0.0.1` → number; undefined when it is not a dotted-quad IPv4 address. */
export function tryParseIp(text: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return undefined;
  return ((parts[0]! << 24) >>> 0) + (parts[1]! << 16) + (parts[2]! << 8) + parts[3]!;
}

/** InvalidArgumentError `invalid IPv4 address: "x"`. */
export function parseIp(text: string): number {
  const ip = tryParseIp(text);
  if (ip === undefined) throw new InvalidArgumentError(`invalid IPv4 address: "${text}"`);
  return ip;
}

export function formatIp(ip: number): string {
  return [ip >>> 24, (ip >>> 16) & 255, (ip >>> 8) & 255, ip & 255].join('.');
}

export function mask(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/**
 * `172.18.0.0/16` → Cidr. With `strict` (subnets), host bits must be zero, as Docker requires
 * (`invalid subnet 172.18.0.1/16: it should be 172.18.0.0/16`).
 */
export function parseCidr(text: string, options: { strict?: boolean } = {}): Cidr {
  const m = /^([^/]+)\/(\d{1,2})$/.exec(text);
  const ip = m ? tryParseIp(m[1]!) : undefined;
  const prefix = m ? Number(m[2]) : NaN;
  if (ip === undefined || !(prefix >= 0 && prefix <= 32)) {
    throw new InvalidArgumentError(`invalid CIDR address: "${text}": expected an IPv4 prefix such as "172.18.0.0/16"`);
  }
  const base = (ip & mask(prefix)) >>> 0;
  if (options.strict && base !== ip) {
    throw new InvalidArgumentError(`invalid subnet "${text}": it should be "${formatCidr({ base, prefix })}"`);
  }
  return { base, prefix };
}

export function formatCidr(cidr: Cidr): string {
  return `${formatIp(cidr.base)}/${cidr.prefix}`;
}

export function contains(cidr: Cidr, ip: number): boolean {
  return ((ip & mask(cidr.prefix)) >>> 0) === cidr.base;
}

/** The last address of the prefix (its broadcast address). */
export function lastAddress(cidr: Cidr): number {
  return (cidr.base | (~mask(cidr.prefix) >>> 0)) >>> 0;
}

export function overlaps(a: Cidr, b: Cidr): boolean {
  return contains(a, b.base) || contains(b, a.base);
}

/** `contains` for a whole prefix: `inner` lies entirely in `outer`. */
export function containsCidr(outer: Cidr, inner: Cidr): boolean {
  return inner.prefix >= outer.prefix && contains(outer, inner.base);
}
