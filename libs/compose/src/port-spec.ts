/**
 * The short syntax of `ports` (`[HOST_IP:][HOST[-HOST]:]CONTAINER[-CONTAINER][/PROTOCOL]`), expanded
 * as Docker does (go-connections `nat.ParsePortSpec`): a container range gives one entry per port,
 * a host range with a single container port stays a range to allocate from, IPv6 addresses may be
 * bracketed. Entries come out in the order Compose prints them (sorted by `port/protocol` text).
 */

export interface PortEntry {
  mode: string;
  host_ip?: string;
  target: number;
  published?: string;
  protocol: string;
}

const protocols = new Set(['tcp', 'udp', 'sctp']);

function portRange(text: string): [number, number] | undefined {
  const m = /^(\d+)(?:-(\d+))?$/.exec(text);
  if (!m) return undefined;
  const start = Number(m[1]);
  const end = m[2] === undefined ? start : Number(m[2]);
  if (start > 65535 || end > 65535 || end < start) return undefined;
  return [start, end];
}

/** A valid IPv4 or IPv6 address (what Go's net.ParseIP accepts, near enough for host_ip). */
export function isIpAddress(text: string): boolean {
  if (/^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/.test(text)) return true;
  if (!/^[0-9a-fA-F:.]+$/.test(text) || !text.includes(':')) return false;
  const parts = text.split('::');
  if (parts.length > 2) return false;
  const groups = parts.flatMap((p) => (p === '' ? [] : p.split(':')));
  const last = groups[groups.length - 1];
  let count = groups.length;
  if (last !== undefined && last.includes('.')) {
    if (!isIpAddress(last)) return false;
    count += 1;
    groups.pop();
  }
  if (!groups.every((g) => /^[0-9a-fA-F]{1,4}$/.test(g))) return false;
  return parts.length === 2 ? count < 8 : count === 8;
}

/** Parses one short-syntax port; throws an Error whose message says what is wrong. */
export function parsePortSpec(spec: string): PortEntry[] {
  const parts = spec.split(':');
  const n = parts.length;
  let ip = '';
  let host = '';
  let container = parts[n - 1]!;
  if (n === 2) host = parts[0]!;
  else if (n >= 3) {
    ip = parts.slice(0, n - 2).join(':');
    host = parts[n - 2]!;
  }
  let protocol = 'tcp';
  const slash = container.indexOf('/');
  if (slash >= 0) {
    const proto = container.slice(slash + 1);
    container = container.slice(0, slash);
    if (proto !== '') protocol = proto.toLowerCase();
  }
  if (ip.startsWith('[')) {
    if (!ip.endsWith(']')) throw new Error(`invalid IP address ${JSON.stringify(ip)}`);
    ip = ip.slice(1, -1);
  }
  if (ip !== '' && !isIpAddress(ip)) throw new Error(`invalid IP address ${JSON.stringify(ip)}`);
  if (container === '') throw new Error('no container port specified');
  const containerRange = portRange(container);
  if (!containerRange) throw new Error(`invalid container port ${JSON.stringify(container)}`);
  let hostRange: [number, number] | undefined;
  if (host !== '') {
    hostRange = portRange(host);
    if (!hostRange) throw new Error(`invalid host port ${JSON.stringify(host)}`);
    if (containerRange[1] - containerRange[0] !== hostRange[1] - hostRange[0] && containerRange[0] !== containerRange[1]) {
      throw new Error(`host port range ${JSON.stringify(host)} and container port range ${JSON.stringify(container)} differ in size`);
    }
  }
  if (!protocols.has(protocol)) throw new Error(`invalid protocol ${JSON.stringify(protocol)}: use tcp, udp or sctp`);
  const entries: Array<[string, PortEntry]> = [];
  for (let i = 0; i <= containerRange[1] - containerRange[0]; i++) {
    const target = containerRange[0] + i;
    let published: string | undefined;
    if (hostRange) {
      published = String(hostRange[0] + i);
      if (containerRange[0] === containerRange[1] && hostRange[0] !== hostRange[1]) published = `${hostRange[0]}-${hostRange[1]}`;
    }
    const entry: PortEntry = { mode: 'ingress', ...(ip ? { host_ip: ip } : {}), target, ...(published !== undefined ? { published } : {}), protocol };
    entries.push([`${target}/${protocol}`, entry]);
  }
  // nat.ParsePortSpecs returns a map; Compose sorts its keys as text.
  entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return entries.map(([, e]) => e);
}
