import { ConflictError, InvalidArgumentError, UnavailableError } from '@berth/errors';
import { contains, containsCidr, formatCidr, formatIp, lastAddress, overlaps, parseCidr, parseIp, type Cidr } from './ipv4.js';

/**
 * IP address management of one network: its subnet, gateway and the range containers get their
 * addresses from (Docker's IPAMConfig). Pure functions; the addresses in use come from the caller
 * (the endpoints table), so a restart of the agent keeps them.
 */

/** Docker's IPAMConfig entry (the shape `network inspect` shows). */
export interface IpamConfig {
  Subnet: string;
  Gateway: string;
  /** Containers get addresses only from this sub-range when set. */
  IPRange?: string;
}

export interface IpamRequest {
  subnet?: string;
  gateway?: string;
  ipRange?: string;
}

/** The subnets Berth picks from when a network is created without `--subnet` (like Docker's 172.17-31/16 pool). */
export const defaultSubnetPool: readonly string[] = [
  ...Array.from({ length: 13 }, (_, i) => `172.${18 + i}.0.0/16`),
  ...Array.from({ length: 16 }, (_, i) => `192.168.${i * 16}.0/20`),
];

/**
 * The IPAM config of a new network. With a subnet, it is validated (gateway and range inside it,
 * no overlap with `inUse`); without, the first subnet of `pool` that overlaps nothing in `inUse`
 * (the other networks and the host's routes) is taken. The gateway defaults to the first address.
 * Errors: InvalidArgumentError (malformed or inconsistent values), ConflictError (overlap),
 * UnavailableError (pool exhausted).
 */
export function planIpam(request: IpamRequest, options: { inUse: Cidr[]; pool?: readonly string[] }): IpamConfig {
  if (!request.subnet) {
    if (request.gateway || request.ipRange) {
      throw new InvalidArgumentError('every ip-range or gateway must have a corresponding subnet');
    }
    for (const candidate of options.pool ?? defaultSubnetPool) {
      const cidr = parseCidr(candidate, { strict: true });
      if (options.inUse.some((used) => overlaps(used, cidr))) continue;
      return { Subnet: candidate, Gateway: formatIp(cidr.base + 1) };
    }
    throw new UnavailableError('could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network');
  }
  const subnet = parseCidr(request.subnet, { strict: true });
  if (subnet.prefix > 30) throw new InvalidArgumentError(`invalid subnet "${request.subnet}": a /30 or larger prefix is needed`);
  if (options.inUse.some((used) => overlaps(used, subnet))) {
    throw new ConflictError(`Pool overlaps with other one on this address space: "${request.subnet}" is in use`);
  }
  const gateway = request.gateway ? parseIp(request.gateway) : subnet.base + 1;
  if (!contains(subnet, gateway) || gateway === subnet.base || gateway === lastAddress(subnet)) {
    throw new InvalidArgumentError(`invalid gateway "${formatIp(gateway)}": not a host address of subnet "${request.subnet}"`);
  }
  const config: IpamConfig = { Subnet: formatCidr(subnet), Gateway: formatIp(gateway) };
  if (request.ipRange) {
    const range = parseCidr(request.ipRange, { strict: true });
    if (!containsCidr(subnet, range)) {
      throw new InvalidArgumentError(`invalid ip-range "${request.ipRange}": not inside subnet "${request.subnet}"`);
    }
    config.IPRange = formatCidr(range);
  }
  return config;
}

/**
 * An address for a container: `requested` (`--ip`, any host address of the subnet) when given, else
 * the lowest free one of the range (the subnet without network, broadcast and gateway addresses).
 * `used` holds the addresses taken on this network. ConflictError `Address already in use`,
 * InvalidArgumentError for an address outside the subnet, UnavailableError when the range is full.
 */
export function allocateAddress(config: IpamConfig, used: ReadonlySet<string>, requested?: string): string {
  const subnet = parseCidr(config.Subnet);
  const gateway = parseIp(config.Gateway);
  const reserved = (ip: number) => ip === subnet.base || ip === lastAddress(subnet) || ip === gateway;
  if (requested) {
    const ip = parseIp(requested);
    if (!contains(subnet, ip) || reserved(ip)) {
      throw new InvalidArgumentError(`Invalid address ${requested}: it does not belong to any of this network's subnets`);
    }
    if (used.has(formatIp(ip))) throw new ConflictError(`Address already in use: "${requested}"`);
    return formatIp(ip);
  }
  const range = config.IPRange ? parseCidr(config.IPRange) : subnet;
  for (let ip = range.base; ip <= lastAddress(range); ip++) {
    if (reserved(ip) || !contains(subnet, ip)) continue;
    const text = formatIp(ip);
    if (!used.has(text)) return text;
  }
  throw new UnavailableError(`No available addresses on network with subnet "${config.Subnet}"`);
}

/** The prefix length of the network's subnet (for `IPPrefixLen` and `ip addr add`). */
export function prefixLength(config: IpamConfig): number {
  return parseCidr(config.Subnet).prefix;
}
