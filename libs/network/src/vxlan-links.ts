import { FailedPreconditionError, InternalError } from '@berth/errors';
import { execTool, mustExec } from './host-exec.js';

/**
 * The kernel objects of an overlay network on one host, through iproute2 (as Docker's libnetwork
 * overlay driver makes them with netlink): a VXLAN device per network, its static forwarding
 * entries (FDB) and neighbour (ARP) entries, and the underlay it sends through. Every function
 * takes `netns` to act inside a named network namespace (tests run a "host" per netns); without
 * it, the caller's own namespace.
 *
 *   vxlan  `ip link add vx-<id12> type vxlan id VNI local UNDERLAY dev DEV dstport PORT nolearning proxy`
 *          nolearning: no entry comes from traffic, every one is written from the cluster's index
 *          proxy: ARP requests are answered from the neighbour table and never flooded to other
 *          hosts (so each host's bridge may carry the same gateway address)
 *   fdb    `00:00:00:00:00:00 dst H` for every remote host H (broadcast, unknown unicast, multicast),
 *          `<container MAC> dst H self permanent` for every remote container
 *   neigh  `<container IP> lladdr <container MAC> nud permanent` for every remote container
 */

/** Bytes VXLAN adds to a frame on an IPv4 underlay: outer IPv4 (20) + UDP (8) + VXLAN (8) + inner Ethernet (14). */
export const vxlanOverhead = 50;

export { defaultVxlanPort } from '@berth/events';

/** The host's side of the tunnel: the device and address VXLAN packets leave from. */
export interface Underlay {
  device: string;
  address: string;
  mtu: number;
}

/** A container on another host: where its frames go. */
export interface RemotePeer {
  ip: string;
  mac: string;
  /** The underlay address of its host. */
  host: string;
}

function ip(netns: string | undefined, args: string[]): string[] {
  return netns ? ['-n', netns, ...args] : args;
}

interface AddrInfo {
  ifname: string;
  mtu: number;
  addr_info?: Array<{ family: string; local: string; scope: string }>;
}

/**
 * The underlay of this host: the device holding `address` when given (a node's advertised address),
 * else the device of the default route, else the first device with a global IPv4 address.
 * FailedPreconditionError when there is none (a host without an address cannot reach the others).
 */
export async function findUnderlay(o: { address?: string; netns?: string } = {}): Promise<Underlay> {
  const links = JSON.parse((await mustExec('ip', ip(o.netns, ['-j', '-4', 'addr', 'show']))) || '[]') as AddrInfo[];
  const global = links.flatMap((l) => (l.addr_info ?? []).filter((a) => a.family === 'inet' && a.scope === 'global').map((a) => ({ link: l, address: a.local })));
  let pick = o.address ? global.find((g) => g.address === o.address) : undefined;
  if (o.address && !pick) throw new FailedPreconditionError(`Cannot set up the overlay network: no device of this host has the address "${o.address}"`);
  if (!pick) {
    const route = await execTool('ip', ip(o.netns, ['-j', '-4', 'route', 'show', 'default']));
    const dev = route.code === 0 ? (JSON.parse(route.stdout || '[]') as Array<{ dev?: string }>)[0]?.dev : undefined;
    pick = global.find((g) => g.link.ifname === dev) ?? global[0];
  }
  if (!pick) throw new FailedPreconditionError('Cannot set up the overlay network: this host has no global IPv4 address to reach the others from');
  return { device: pick.link.ifname, address: pick.address, mtu: pick.link.mtu };
}

export interface VxlanOptions {
  /** `vx-<network id 12>`. */
  name: string;
  alias: string;
  vni: number;
  port: number;
  underlay: Underlay;
  /** The bridge it is a port of. */
  bridge: string;
  mtu: number;
  netns?: string;
}

/**
 * Makes sure the VXLAN device exists with this VNI, port and underlay, is a port of `bridge`, has
 * `mtu` and is up. A device of the same name made for another VNI or underlay is replaced.
 */
export async function ensureVxlan(o: VxlanOptions): Promise<void> {
  const shown = await execTool('ip', ip(o.netns, ['-j', '-d', 'link', 'show', 'dev', o.name]));
  let exists = shown.code === 0;
  if (exists) {
    const [link] = JSON.parse(shown.stdout) as Array<{ linkinfo?: { info_kind?: string; info_data?: { id?: number; local?: string; port?: number } } }>;
    const data = link?.linkinfo?.info_data;
    const same = link?.linkinfo?.info_kind === 'vxlan' && data?.id === o.vni && data.local === o.underlay.address && data.port === o.port;
    if (!same) {
      await mustExec('ip', ip(o.netns, ['link', 'del', 'dev', o.name]));
      exists = false;
    }
  }
  if (!exists) {
    const made = await execTool(
      'ip',
      ip(o.netns, ['link', 'add', o.name, 'type', 'vxlan', 'id', String(o.vni), 'local', o.underlay.address, 'dev', o.underlay.device, 'dstport', String(o.port), 'nolearning', 'proxy']),
    );
    if (made.code !== 0) {
      throw new InternalError(`Cannot create the VXLAN device "${o.name}" (VNI ${o.vni}, UDP port ${o.port}, underlay "${o.underlay.device}" ${o.underlay.address}): ${made.stderr.trim()}`);
    }
  }
  await mustExec('ip', ip(o.netns, ['link', 'set', 'dev', o.name, 'alias', o.alias]));
  await mustExec('ip', ip(o.netns, ['link', 'set', 'dev', o.name, 'mtu', String(o.mtu), 'master', o.bridge, 'up']));
}

interface FdbEntry {
  mac: string;
  dst?: string;
  flags?: string[];
}

interface NeighEntry {
  dst: string;
  lladdr?: string;
  state?: string[];
}

/**
 * Makes the VXLAN device's FDB and neighbour entries exactly those of `peers` (and a flood entry
 * per remote host in `hosts`, whether or not it runs a container of the network yet): missing
 * entries are added, changed ones replaced, stale ones deleted. Entries the bridge itself keeps
 * (`master`) are left alone. @returns how many entries changed.
 */
export async function syncVxlanPeers(name: string, want: { hosts: Iterable<string>; peers: Iterable<RemotePeer> }, o: { netns?: string } = {}): Promise<number> {
  const hosts = new Set(want.hosts);
  const peers = [...want.peers];
  for (const p of peers) hosts.add(p.host);
  const fdb = JSON.parse((await mustExec('bridge', ip(o.netns, ['-j', 'fdb', 'show', 'dev', name]))) || '[]') as FdbEntry[];
  const neigh = JSON.parse((await mustExec('ip', ip(o.netns, ['-j', '-4', 'neigh', 'show', 'dev', name]))) || '[]') as NeighEntry[];
  const zero = '00:00:00:00:00:00';
  const wantFdb = new Set([...[...hosts].map((h) => `${zero} ${h}`), ...peers.map((p) => `${p.mac.toLowerCase()} ${p.host}`)]);
  const haveFdb = new Set(fdb.filter((e) => e.dst && e.flags?.includes('self')).map((e) => `${e.mac} ${e.dst}`));
  const fdbLines: string[] = [];
  for (const entry of haveFdb) {
    if (wantFdb.has(entry)) continue;
    const [mac, dst] = entry.split(' ');
    fdbLines.push(`fdb del ${mac} dev ${name} dst ${dst} self`);
  }
  for (const entry of wantFdb) {
    if (haveFdb.has(entry)) continue;
    const [mac, dst] = entry.split(' ');
    // The flood entry may list several hosts (append); a container's MAC has one (replace).
    fdbLines.push(mac === zero ? `fdb append ${mac} dev ${name} dst ${dst} self permanent` : `fdb replace ${mac} dev ${name} dst ${dst} self permanent`);
  }
  const wantNeigh = new Map(peers.map((p) => [p.ip, p.mac.toLowerCase()]));
  const neighLines: string[] = [];
  for (const e of neigh) {
    if (wantNeigh.get(e.dst) !== e.lladdr || !e.state?.includes('PERMANENT')) neighLines.push(`neigh del ${e.dst} dev ${name}`);
  }
  for (const [addr, mac] of wantNeigh) {
    if (!neigh.some((e) => e.dst === addr && e.lladdr === mac && e.state?.includes('PERMANENT'))) neighLines.push(`neigh replace ${addr} lladdr ${mac} dev ${name} nud permanent`);
  }
  for (const word of [...fdbLines, ...neighLines].flatMap((l) => l.split(' '))) {
    if (!/^[0-9a-zA-Z.:_-]+$/.test(word)) throw new InternalError(`Cannot update the overlay network: "${word}" is not a valid ip argument`);
  }
  if (fdbLines.length > 0) await mustExec('bridge', ip(o.netns, ['-batch', '-']), `${fdbLines.join('\n')}\n`);
  if (neighLines.length > 0) await mustExec('ip', ip(o.netns, ['-batch', '-']), `${neighLines.join('\n')}\n`);
  return fdbLines.length + neighLines.length;
}
