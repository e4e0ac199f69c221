import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { InternalError, messageOf } from '@berth/errors';
import { mountHelper, NoMountHelper } from '@berth/subprocess';
import { execTool, mustExec, mustExecForked } from './host-exec.js';
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
  /** The device type sysfs names (its uevent's DEVTYPE): `bridge`, `vxlan`, … ('' for a veth or a plain device). */
  kind: string;
}

export const netnsDir = '/run/netns';

const sysNet = '/sys/class/net';

/**
 * The links of the agent's network namespace, read from sysfs (no `ip` process: 100–300 ms each
 * on the loaded machines; a service in a netns of its own has that netns's sysfs there,
 * libs/platform netns-command.ts). A link deleted while it is read is left out.
 */
export async function listLinks(): Promise<HostLink[]> {
  const links: HostLink[] = [];
  for (const name of readdirSync(sysNet)) {
    try {
      const uevent = readFileSync(`${sysNet}/${name}/uevent`, 'utf8');
      const alias = readFileSync(`${sysNet}/${name}/ifalias`, 'utf8').trim();
      links.push({ name, alias, kind: /^DEVTYPE=(.*)$/m.exec(uevent)?.[1] ?? '' });
    } catch (err) {
      // Gone between the listing and the read, or not a link (bonding_masters): not one of the links.
      if (!['ENOENT', 'ENOTDIR', 'ENODEV'].includes((err as NodeJS.ErrnoException).code ?? '')) throw err;
    }
  }
  return links;
}

export async function linkExists(name: string): Promise<boolean> {
  return (await execTool('ip', ['link', 'show', 'dev', name])).code === 0;
}

/**
 * Makes sure bridge `name` exists, carries `alias`, has `address` (`172.31.0.1/16`), a MAC of its
 * own (pinBridgeMac), `mtu` when given (an overlay's bridge) and is up; inside `netns` when given.
 * Idempotent: an existing bridge is completed, not recreated. One `ip -batch` process (and, in a
 * netns, one `ip link show`) instead of one per step. Its route_localnet (for ports published on
 * 127.0.0.1) is loopback-guard.ts's business.
 */
export async function ensureBridge(name: string, address: string, alias: string, o: { mtu?: number; netns?: string } = {}): Promise<void> {
  const exists = o.netns ? (await execTool('ip', ['-n', o.netns, 'link', 'show', 'dev', name])).code === 0 : existsSync(`/sys/class/net/${name}`);
  const pinned = exists && !o.netns ? pinnedBridgeMac(name) : undefined;
  const lines = [
    ...(exists ? [] : [['link', 'add', 'name', name, 'address', randomMac(), 'type', 'bridge']]),
    ...(pinned ? [['link', 'set', 'dev', name, 'address', pinned]] : []),
    ['link', 'set', 'dev', name, 'alias', alias, ...(o.mtu ? ['mtu', String(o.mtu)] : [])],
    ['addr', 'replace', address, 'dev', name],
    ['link', 'set', 'dev', name, 'up'],
  ];
  checkBatchWords(lines);
  await mustExec('ip', [...(o.netns ? ['-n', o.netns] : []), '-batch', '-'], batchText(lines));
}

/** The kernel's addr_assign_type of a MAC set by the user (NET_ADDR_SET). */
const macSetByUser = '3';

/**
 * The MAC to give an existing bridge so that no port changes it, undefined when it has one of its
 * own already. A bridge whose MAC was never set takes its lowest port's MAC, so a container's veth
 * coming or going can change the gateway's MAC; every container that cached the old one then loses
 * all its packets to the gateway (the embedded DNS server above all) until its ARP entry expires,
 * up to ~45 s. Like Docker (a random MAC at creation), the MAC is set once; a bridge made before
 * this keeps the MAC it has now, so its containers notice nothing.
 */
function pinnedBridgeMac(name: string): string | undefined {
  const sys = `/sys/class/net/${name}`;
  if (readFileSync(`${sys}/addr_assign_type`, 'utf8').trim() === macSetByUser) return undefined;
  const current = readFileSync(`${sys}/address`, 'utf8').trim();
  return current === '00:00:00:00:00:00' ? randomMac() : current;
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

/**
 * Deletes links (bridges, vxlan devices, veths) in one `ip -force -batch` process; missing ones
 * are fine. Those still there after it are deleted one by one (deleteLink), so that an error names
 * its link. @returns the links that could not be deleted, with why.
 */
export async function deleteLinks(names: readonly string[]): Promise<Map<string, unknown>> {
  const exists = (link: string) => existsSync(`/sys/class/net/${link}`);
  const present = names.filter(exists);
  const failed = new Map<string, unknown>();
  if (present.length === 0) return failed;
  if (present.length > 1) {
    const lines = present.map((l) => ['link', 'del', 'dev', l]);
    checkBatchWords(lines);
    await execTool('ip', ['-force', '-batch', '-'], batchText(lines)); // failures: the links left are retried below
  }
  for (const l of present.filter(exists)) await deleteLink(l).catch((err: unknown) => failed.set(l, err));
  return failed;
}

/** Creates the named netns `name` with its loopback up; a leftover of the same name is replaced. */
export async function createNetns(name: string): Promise<string> {
  if (existsSync(netnsPath(name))) await deleteNetns(name);
  await mustExec('ip', ['netns', 'add', name]);
  await mustExec('ip', ['-n', name, 'link', 'set', 'dev', 'lo', 'up']);
  return netnsPath(name);
}

/**
 * Deletes the named netns as `ip netns delete` does (iproute2 netns_delete: a lazy unmount of its
 * file, whose failure is ignored, then its removal), through the resident mount helper
 * (libs/subprocess): no process, so an exit's teardown forks none that would stall the agent
 * while its answers go out (bench/README.md). `ip` when there is no helper.
 */
export async function deleteNetns(name: string): Promise<void> {
  const path = netnsPath(name);
  if (!existsSync(path)) return;
  try {
    await mountHelper.umount(path, MNT_DETACH); // not mounted (any more): the file is removed all the same
    await rm(path, { force: true });
    return;
  } catch (err) {
    if (!(err instanceof NoMountHelper)) throw new InternalError(`Cannot delete the netns "${name}": ${messageOf(err)}`, { cause: err });
  }
  await mustExec('ip', ['netns', 'delete', name]);
}

/** umount2(2)'s lazy unmount. */
const MNT_DETACH = 2;

/**
 * Deletes the named netns of containers that stopped (together: a `compose down`) and their veths'
 * host ends, and waits until those are gone. The netns go through the mount helper (deleteNetns:
 * no process), or without one in one `ip -force -batch` process; their
 * veths are not deleted one by one (`ip link del` waits on the kernel, ~25 ms a veth on this 2-core
 * machine: 30 took 850 ms) but left to the kernel, which dismantles the namespaces and their
 * devices in one batch (30 in ~65 ms, bench/README.md "compose down"). A veth still there after
 * `linkGraceMs` (its netns kept alive by a process that joined it) is deleted explicitly. What the
 * batch left is deleted one by one, so that an error names its object; missing objects are fine.
 * @returns the netns that could not be deleted, with why.
 */
export async function deleteHostObjects(o: { links: string[]; netns: string[]; linkGraceMs?: number }): Promise<Map<string, unknown>> {
  const exists = (link: string) => existsSync(`/sys/class/net/${link}`);
  const netns = o.netns.filter((n) => existsSync(netnsPath(n)));
  // One by one through the mount helper when there is one (no process at all), else in a batch.
  if (netns.length > 1 && !mountHelper.available) {
    const lines = netns.map((n) => ['netns', 'delete', n]);
    checkBatchWords(lines);
    await execTool('ip', ['-force', '-batch', '-'], batchText(lines)); // failures: the netns left are retried below
  }
  const failed = new Map<string, unknown>();
  for (const n of netns) await deleteNetns(n).catch((err: unknown) => failed.set(n, err));
  const deadline = Date.now() + (o.linkGraceMs ?? 500);
  let links = o.links.filter(exists);
  while (links.length > 0 && netns.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 5));
    links = links.filter(exists);
  }
  // The veth dies with its netns anyway: one that cannot be deleted only delays that.
  for (const l of links) await deleteLink(l).catch(() => {});
  return failed;
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

/**
 * A veth pair from `bridge` into `netns`, addressed and up (the container end made in the netns
 * directly). With `createNetns` the netns is made first, with its loopback up, by the same two
 * processes (the caller deletes it when this fails).
 */
export async function addVeth(o: VethOptions & { createNetns?: boolean }): Promise<void> {
  // Two `ip -batch` processes (host side, then inside the netns) instead of one per step: a
  // container start spawns 6 fewer processes (bench/README.md, "The run path"), forked by the
  // resident tool forker, not by the agent (host-exec.ts mustExecForked). A batch stops at
  // its first failing line, which ip names on stderr (`Command failed -:N`) after the error.
  // `netns add` in a batch leaves ip in the host's netns for the lines after it (iproute2 6.1).
  if (o.createNetns && existsSync(netnsPath(o.netns))) await deleteNetns(o.netns);
  const host = [
    ...(o.createNetns ? [['netns', 'add', o.netns]] : []),
    [
      ...['link', 'add', 'name', o.hostName, ...(o.mtu ? ['mtu', String(o.mtu)] : []), 'type', 'veth'],
      ...['peer', 'name', o.ifName, ...(o.mtu ? ['mtu', String(o.mtu)] : []), 'address', o.mac, 'netns', o.netns],
    ],
    ['link', 'set', 'dev', o.hostName, 'alias', o.alias],
    ['link', 'set', 'dev', o.hostName, 'master', o.bridge, 'up'],
  ];
  const inside = [
    ...(o.createNetns ? [['link', 'set', 'dev', 'lo', 'up']] : []),
    ['addr', 'add', o.address, 'dev', o.ifName],
    ['link', 'set', 'dev', o.ifName, 'up'],
    ...(o.gateway ? [['route', 'replace', 'default', 'via', o.gateway, 'dev', o.ifName]] : []),
  ];
  checkBatchWords([...host, ...inside]);
  await mustExecForked('ip', ['-batch', '-'], batchText(host)).catch(async (err: unknown) => {
    await deleteLink(o.hostName).catch(() => {}); // the veth may not have been made: nothing to undo then
    throw err;
  });
  try {
    await mustExecForked('ip', ['-n', o.netns, '-batch', '-'], batchText(inside));
  } catch (err) {
    await deleteLink(o.hostName).catch(warnOnFailure(o.log ?? silentLogger, { link: o.hostName, netns: o.netns }, 'Cannot delete the veth of a failed endpoint'));
    throw err;
  }
}

/** `ip -batch` input: one command a line. */
function batchText(lines: string[][]): string {
  return `${lines.map((words) => words.join(' ')).join('\n')}\n`;
}

/** A batch line is split at blanks, and quotes, backslashes and `#` mean something to it. */
function checkBatchWords(lines: string[][]): void {
  for (const word of lines.flat()) {
    if (!/^[^\s"'\\#]+$/.test(word)) throw new InternalError(`Cannot set up the network: "${word}" is not a valid ip argument`);
  }
}

/** Writes /proc/sys/<key> (e.g. `net/ipv4/ip_forward`). */
export function setSysctl(key: string, value: string): void {
  writeFileSync(`/proc/sys/${key}`, value);
}
