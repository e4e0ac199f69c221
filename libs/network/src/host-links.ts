import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { InternalError } from '@berth/errors';
import { execTool, mustExec } from './host-exec.js';
import { silentLogger, warnOnFailure, type Logger } from '@berth/log';

/**
 * The kernel objects of the bridge driver, through iproute2: bridges, veth pairs and named network
 * namespaces (`/run/netns/<name>`). Every link Berth makes carries an interface alias
 * (`ip link set … alias`) that starts with its owner's tag, so reconciliation can tell its own
 * leftovers from anything else on the host (another Berth agent, Docker, the admin's links).
 */

export interface HostLink {
  name: string;
  /** The interface alias (`ifalias`), '' when none. */
  alias: string;
  /** `bridge`, `veth`, ... ('' for plain devices). */
  kind: string;
}

export const netnsDir = '/run/netns';

export async function listLinks(): Promise<HostLink[]> {
  const out = await mustExec('ip', ['-j', '-d', 'link', 'show']);
  const links = JSON.parse(out || '[]') as Array<{ ifname: string; ifalias?: string; linkinfo?: { info_kind?: string } }>;
  return links.map((l) => ({ name: l.ifname, alias: l.ifalias ?? '', kind: l.linkinfo?.info_kind ?? '' }));
}

export async function linkExists(name: string): Promise<boolean> {
  return (await execTool('ip', ['link', 'show', 'dev', name])).code === 0;
}

/**
 * Makes sure bridge `name` exists, carries `alias`, has `address` (`172.31.0.1/16`), a MAC of its
 * own (pinBridgeMac), `mtu` when given (an overlay's bridge) and is up; inside `netns` when given. Idempotent: an existing bridge is completed, not recreated. Its
 * route_localnet (for ports published on 127.0.0.1) is loopback-guard.ts's business.
 */
export async function ensureBridge(name: string, address: string, alias: string, o: { mtu?: number; netns?: string } = {}): Promise<void> {
  const ip = (args: string[]) => (o.netns ? ['-n', o.netns, ...args] : args);
  if ((await execTool('ip', ip(['link', 'show', 'dev', name]))).code !== 0) await mustExec('ip', ip(['link', 'add', 'name', name, 'address', randomMac(), 'type', 'bridge']));
  else if (!o.netns) await pinBridgeMac(name);
  await mustExec('ip', ip(['link', 'set', 'dev', name, 'alias', alias, ...(o.mtu ? ['mtu', String(o.mtu)] : [])]));
  await mustExec('ip', ip(['addr', 'replace', address, 'dev', name]));
  await mustExec('ip', ip(['link', 'set', 'dev', name, 'up']));
}

/** The kernel's addr_assign_type of a MAC set by the user (NET_ADDR_SET). */
const macSetByUser = '3';

/**
 * Gives a bridge a MAC that no port changes. A bridge whose MAC was never set takes its lowest
 * port's MAC, so a container's veth coming or going can change the gateway's MAC; every container
 * that cached the old one then loses all its packets to the gateway (the embedded DNS server above
 * all) until its ARP entry expires, up to ~45 s. Like Docker (a random MAC at creation), the MAC is
 * set once; a bridge made before this keeps the MAC it has now, so its containers notice nothing.
 */
async function pinBridgeMac(name: string): Promise<void> {
  const sys = `/sys/class/net/${name}`;
  if (readFileSync(`${sys}/addr_assign_type`, 'utf8').trim() === macSetByUser) return;
  const current = readFileSync(`${sys}/address`, 'utf8').trim();
  await mustExec('ip', ['link', 'set', 'dev', name, 'address', current === '00:00:00:00:00:00' ? randomMac() : current]);
}

/** A random locally administered unicast MAC (Docker's GenerateRandomMAC). */
function randomMac(): string {
  const bytes = randomBytes(6);
  bytes[0] = (bytes[0]! & 0xfe) | 0x02;
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

/** Deletes a link (and, for a veth, its peer); a missing link is not an error. */
export async function deleteLink(name: string): Promise<void> {
  const result = await execTool('ip', ['link', 'del', 'dev', name]);
  if (result.code !== 0 && (await linkExists(name))) {
    await mustExec('ip', ['link', 'del', 'dev', name]);
  }
}

/** Creates the named netns `name` with its loopback up; a leftover of the same name is replaced. */
export async function createNetns(name: string): Promise<string> {
  if (existsSync(netnsPath(name))) await deleteNetns(name);
  await mustExec('ip', ['netns', 'add', name]);
  await mustExec('ip', ['-n', name, 'link', 'set', 'dev', 'lo', 'up']);
  return netnsPath(name);
}

export async function deleteNetns(name: string): Promise<void> {
  if (!existsSync(netnsPath(name))) return;
  await mustExec('ip', ['netns', 'delete', name]);
}

export function netnsPath(name: string): string {
  return `${netnsDir}/${name}`;
}

export function listNetns(): string[] {
  try {
    return readdirSync(netnsDir);
  } catch {
    return [];
  }
}

export interface VethOptions {
  /** Host end (`veth1a2b3c4`), attached to `bridge`. */
  hostName: string;
  alias: string;
  bridge: string;
  netns: string;
  /** Name inside the namespace (`eth0`). */
  ifName: string;
  mac: string;
  /** `172.31.0.2/16`. */
  address: string;
  /** Adds the default route through it. */
  gateway?: string;
  /** Both ends' MTU (an overlay network's, below the underlay's); the kernel's default unless set. */
  mtu?: number;
  /** Told when the host end of a failed pair cannot be removed. */
  log?: Logger;
}

/** A veth pair from `bridge` into `netns`, addressed and up (the container end made in the netns directly). */
export async function addVeth(o: VethOptions): Promise<void> {
  // Two `ip -batch` processes (host side, then inside the netns) instead of one per step: a
  // container start spawns 4 fewer processes (bench/README.md, "The run path"). A batch stops at
  // its first failing line, which ip names on stderr (`Command failed -:N`) after the error.
  const host = [
    [
      ...['link', 'add', 'name', o.hostName, ...(o.mtu ? ['mtu', String(o.mtu)] : []), 'type', 'veth'],
      ...['peer', 'name', o.ifName, ...(o.mtu ? ['mtu', String(o.mtu)] : []), 'address', o.mac, 'netns', o.netns],
    ],
    ['link', 'set', 'dev', o.hostName, 'alias', o.alias],
    ['link', 'set', 'dev', o.hostName, 'master', o.bridge, 'up'],
  ];
  const inside = [
    ['addr', 'add', o.address, 'dev', o.ifName],
    ['link', 'set', 'dev', o.ifName, 'up'],
    ...(o.gateway ? [['route', 'replace', 'default', 'via', o.gateway, 'dev', o.ifName]] : []),
  ];
  const batch = (lines: string[][]) => `${lines.map((words) => words.join(' ')).join('\n')}\n`;
  // A batch line is split at blanks, and quotes, backslashes and `#` mean something to it.
  for (const word of [...host, ...inside].flat()) {
    if (!/^[^\s"'\\#]+$/.test(word)) throw new InternalError(`Cannot set up the network: "${word}" is not a valid ip argument`);
  }
  await mustExec('ip', ['-batch', '-'], batch(host)).catch(async (err: unknown) => {
    await deleteLink(o.hostName).catch(() => {}); // the veth may not have been made: nothing to undo then
    throw err;
  });
  try {
    await mustExec('ip', ['-n', o.netns, '-batch', '-'], batch(inside));
  } catch (err) {
    await deleteLink(o.hostName).catch(warnOnFailure(o.log ?? silentLogger, { link: o.hostName, netns: o.netns }, 'Cannot delete the veth of a failed endpoint'));
    throw err;
  }
}

/** Writes /proc/sys/<key> (e.g. `net/ipv4/ip_forward`). */
export function setSysctl(key: string, value: string): void {
  writeFileSync(`/proc/sys/${key}`, value);
}
