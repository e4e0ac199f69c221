import { InvalidArgumentError } from '@berth/errors';
import { tryParseIp } from './ipv4.js';

/**
 * Published ports in Docker's words: `-p [ip:][hostPort:]containerPort[/proto]` parsed into
 * PortBindings keyed `80/tcp` (HostConfig.PortBindings), and the `ps` PORTS column.
 */

export type PortProto = 'tcp' | 'udp' | 'sctp';

/** Docker's PortBinding: HostPort is `""` (any free port), `"8080"` or a range `"8000-8010"`. */
export interface PortBinding {
  HostIp: string;
  HostPort: string;
}

/** Docker's PortMap: `"80/tcp"` → bindings (HostConfig.PortBindings, NetworkSettings.Ports). */
export type PortMap = Record<string, PortBinding[]>;

/** One entry of Docker's ContainerSummary.Ports. */
export interface SummaryPort {
  IP?: string;
  PrivatePort: number;
  PublicPort?: number;
  Type: string;
}

/** The range Docker picks free host ports from (`-p 80`, `-P`). */
export const ephemeralPortRange = { first: 49153, last: 65535 } as const;

function parseRange(text: string, what: 'containerPort' | 'hostPort'): [number, number] {
  const m = /^(\d+)(?:-(\d+))?$/.exec(text);
  const first = m ? Number(m[1]) : NaN;
  const last = m?.[2] !== undefined ? Number(m[2]) : first;
  if (!m || first < 1 || last > 65535 || last < first) throw new InvalidArgumentError(`Invalid ${what}: ${text}`);
  return [first, last];
}

/**
 * One `-p` value → `[port key, binding]` pairs, as Docker's nat.ParsePortSpec does: a container
 * range maps onto a host range of the same length; a single container port with a host range means
 * "any free port of that range". Errors: InvalidArgumentError `Invalid containerPort: x`,
 * `Invalid hostPort: x`, `Invalid ip address: x`, `Invalid proto: x`, `Invalid ranges specified
 * for container and host Ports: a and b`.
 */
export function parsePublish(spec: string): Array<[string, PortBinding]> {
  let rest = spec;
  let proto = 'tcp';
  const slash = rest.lastIndexOf('/');
  if (slash >= 0) {
    proto = rest.slice(slash + 1).toLowerCase();
    rest = rest.slice(0, slash);
  }
  if (!['tcp', 'udp', 'sctp'].includes(proto)) throw new InvalidArgumentError(`Invalid proto: ${proto}`);
  let hostIp = '';
  if (rest.startsWith('[')) {
    throw new InvalidArgumentError(`Invalid ip address: ${rest.slice(0, rest.indexOf(']') + 1)}: IPv6 is not supported yet`);
  }
  const parts = rest.split(':');
  let hostPart = '';
  let containerPart: string;
  if (parts.length === 1) containerPart = parts[0]!;
  else if (parts.length === 2) [hostPart, containerPart] = parts as [string, string];
  else if (parts.length === 3) [hostIp, hostPart, containerPart] = parts as [string, string, string];
  else throw new InvalidArgumentError(`Invalid port specification: "${spec}"`);
  if (hostIp !== '' && tryParseIp(hostIp) === undefined) throw new InvalidArgumentError(`Invalid ip address: ${hostIp}`);
  if (containerPart === '') throw new InvalidArgumentError(`No port specified: ${spec}<empty>`);
  const [cFirst, cLast] = parseRange(containerPart, 'containerPort');
  const host = hostPart === '' ? undefined : parseRange(hostPart, 'hostPort');
  const cCount = cLast - cFirst;
  if (host && cCount !== 0 && host[1] - host[0] !== cCount) {
    throw new InvalidArgumentError(`Invalid ranges specified for container and host Ports: ${containerPart} and ${hostPart}`);
  }
  const result: Array<[string, PortBinding]> = [];
  for (let i = 0; i <= cCount; i++) {
    let hostPort = '';
    if (host) hostPort = cCount === 0 ? (host[0] === host[1] ? String(host[0]) : `${host[0]}-${host[1]}`) : String(host[0] + i);
    result.push([`${cFirst + i}/${proto}`, { HostIp: hostIp, HostPort: hostPort }]);
  }
  return result;
}

/** Every `-p` value merged into one PortMap (a port published twice keeps both bindings). */
export function parsePublishList(specs: readonly string[]): PortMap {
  const map: PortMap = {};
  for (const spec of specs) {
    for (const [key, binding] of parsePublish(spec)) (map[key] ??= []).push(binding);
  }
  return map;
}

/** `--expose 80`, `--expose 8000-8010/udp` → port keys. InvalidArgumentError as parsePublish. */
export function parseExpose(spec: string): string[] {
  const [range, proto = 'tcp'] = spec.split('/') as [string, string | undefined];
  if (!['tcp', 'udp', 'sctp'].includes(proto)) throw new InvalidArgumentError(`Invalid proto: ${proto}`);
  const [first, last] = parseRange(range, 'containerPort');
  return Array.from({ length: last - first + 1 }, (_, i) => `${first + i}/${proto}`);
}

/** `80/tcp` → [80, 'tcp'] (a bare `80` is tcp). */
export function splitPortKey(key: string): [number, PortProto] {
  const [port, proto = 'tcp'] = key.split('/');
  return [Number(port), proto as PortProto];
}

/**
 * The `ps` PORTS column (Docker's DisplayablePorts): `0.0.0.0:8080->80/tcp`, `80/tcp` for exposed
 * ports, consecutive ports folded into ranges (`0.0.0.0:8000-8002->8000-8002/tcp`), sorted.
 */
export function displayPorts(ports: readonly SummaryPort[]): string {
  const sorted = [...ports].sort(
    (a, b) => a.Type.localeCompare(b.Type) || a.PrivatePort - b.PrivatePort || (a.IP ?? '').localeCompare(b.IP ?? '') || (a.PublicPort ?? 0) - (b.PublicPort ?? 0),
  );
  const groups: Array<{ ip?: string; type: string; priv: [number, number]; pub?: [number, number] }> = [];
  for (const p of sorted) {
    const last = groups[groups.length - 1];
    const follows =
      last !== undefined &&
      last.type === p.Type &&
      last.ip === p.IP &&
      last.priv[1] + 1 === p.PrivatePort &&
      (p.PublicPort === undefined ? last.pub === undefined : last.pub !== undefined && last.pub[1] + 1 === p.PublicPort);
    if (follows) {
      last.priv[1] = p.PrivatePort;
      if (last.pub && p.PublicPort !== undefined) last.pub[1] = p.PublicPort;
    } else {
      groups.push({
        ip: p.IP,
        type: p.Type,
        priv: [p.PrivatePort, p.PrivatePort],
        ...(p.PublicPort !== undefined ? { pub: [p.PublicPort, p.PublicPort] as [number, number] } : {}),
      });
    }
  }
  const range = ([a, b]: [number, number]) => (a === b ? String(a) : `${a}-${b}`);
  return groups
    .map((g) => (g.pub ? `${g.ip ?? '0.0.0.0'}:${range(g.pub)}->${range(g.priv)}/${g.type}` : `${range(g.priv)}/${g.type}`))
    .join(', ');
}
