import { readFileSync } from 'node:fs';
import { InvalidArgumentError } from '@berth/errors';
import { tryParseIp } from './ipv4.js';

/** The /etc/hosts and /etc/resolv.conf a container gets from its network settings (Docker's rules). */

const hostsDefaults = [
  '127.0.0.1\tlocalhost',
  '::1\tlocalhost ip6-localhost ip6-loopback',
  'fe00::\tip6-localnet',
  'ff00::\tip6-mcastprefix',
  'ff02::1\tip6-allnodes',
  'ff02::2\tip6-allrouters',
];

/**
 * `--add-host host:ip` (or `host=ip`) → [host, ip]; `host-gateway` stands for `gateway`.
 * InvalidArgumentError `invalid argument "x" for "--add-host" flag: …`.
 */
export function parseExtraHost(entry: string, gateway?: string): [string, string] {
  const sep = entry.search(/[:=]/);
  const host = sep < 0 ? '' : entry.slice(0, sep);
  let ip = sep < 0 ? '' : entry.slice(sep + 1);
  if (host === '' || ip === '') throw new InvalidArgumentError(`invalid argument "${entry}" for "--add-host" flag: bad format for add-host: "${entry}"`);
  if (ip === 'host-gateway') {
    if (!gateway) throw new InvalidArgumentError(`invalid argument "${entry}" for "--add-host" flag: no gateway to use for host-gateway`);
    ip = gateway;
  }
  if (tryParseIp(ip) === undefined && !/^[0-9a-f:]+$/i.test(ip)) {
    throw new InvalidArgumentError(`invalid argument "${entry}" for "--add-host" flag: invalid IP address in add-host: "${ip}"`);
  }
  return [host, ip];
}

/**
 * A container's /etc/hosts: loopback names, the `--add-host` entries, then its own address (or
 * 127.0.1.1 without one) with its hostname and, on user networks, its name and aliases.
 */
export function hostsFile(options: {
  hostname: string;
  domainname?: string;
  ip?: string;
  extraHosts?: Array<[string, string]>;
  names?: string[];
}): string {
  const fqdn = options.domainname ? `${options.hostname}.${options.domainname}` : '';
  const own = [...new Set([fqdn, options.hostname, ...(options.names ?? [])].filter(Boolean))];
  const lines = [...hostsDefaults];
  for (const [host, ip] of options.extraHosts ?? []) lines.push(`${ip}\t${host}`);
  lines.push(`${options.ip ?? '127.0.1.1'}\t${own.join(' ')}`);
  return `${lines.join('\n')}\n`;
}

/** A `--network host` container's /etc/hosts: the host's own, then the `--add-host` entries. */
export function hostModeHostsFile(hostHosts: string, extraHosts: Array<[string, string]>): string {
  const base = hostHosts.endsWith('\n') || hostHosts === '' ? hostHosts : `${hostHosts}\n`;
  return base + extraHosts.map(([host, ip]) => `${ip}\t${host}\n`).join('');
}

/** A host file the container's files derive from (/etc/hosts, /etc/resolv.conf); '' when unreadable. */
export function readHostFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return ''; // a host without the file: containers get the defaults
  }
}

interface ResolvParts {
  nameservers: string[];
  search: string[];
  options: string[];
  other: string[];
}

function parseResolvConf(text: string): ResolvParts {
  const parts: ResolvParts = { nameservers: [], search: [], options: [], other: [] };
  for (const line of text.split('\n')) {
    const words = line.trim().split(/\s+/);
    if (words[0] === 'nameserver' && words[1]) parts.nameservers.push(words[1]);
    else if ((words[0] === 'search' || words[0] === 'domain') && words.length > 1) parts.search = words.slice(1);
    else if (words[0] === 'options') parts.options.push(...words.slice(1));
  }
  return parts;
}

/** The host's nameservers (including loopback ones: the agent, on the host, can reach them). */
export function hostNameservers(hostResolvConf: string): string[] {
  return parseResolvConf(hostResolvConf).nameservers;
}

/**
 * A container's resolv.conf. With `embeddedDns` (user-defined networks) the only nameserver is
 * the network's DNS server with `ndots:0`, like Docker's 127.0.0.11; otherwise `--dns` or the
 * host's nameservers without loopback ones (unreachable from the container; Google's when none is
 * left). `--dns-search` and `--dns-option` replace the host's search and options.
 */
export function resolvConf(
  hostResolvConf: string,
  options: { embeddedDns?: string; dns?: string[]; dnsSearch?: string[]; dnsOptions?: string[] },
): string {
  const host = parseResolvConf(hostResolvConf);
  let nameservers: string[];
  let opts = options.dnsOptions && options.dnsOptions.length > 0 ? options.dnsOptions : host.options;
  if (options.embeddedDns) {
    nameservers = [options.embeddedDns];
    opts = [...new Set([...opts.filter((o) => !o.startsWith('ndots:')), 'ndots:0'])];
  } else if (options.dns && options.dns.length > 0) {
    nameservers = options.dns;
  } else {
    nameservers = host.nameservers.filter((ns) => !ns.startsWith('127.') && ns !== '::1');
    if (nameservers.length === 0) nameservers = ['8.8.8.8', '8.8.4.4'];
  }
  const search = options.dnsSearch && options.dnsSearch.length > 0 ? options.dnsSearch.filter((s) => s !== '.') : host.search;
  const lines = nameservers.map((ns) => `nameserver ${ns}`);
  if (search.length > 0) lines.push(`search ${search.join(' ')}`);
  if (opts.length > 0) lines.push(`options ${opts.join(' ')}`);
  return `${lines.join('\n')}\n`;
}
