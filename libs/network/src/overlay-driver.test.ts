import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execTool, mustExec } from './host-exec.js';
import { createNetns, deleteNetns } from './host-links.js';
import { bringUpOverlay, overlayLinkNames, syncOverlayPeers, type OverlaySettings } from './overlay-driver.js';
import { findUnderlay, type RemotePeer, type Underlay } from './vxlan-links.js';

/**
 * Two "hosts", each a network namespace, joined by a veth pair (the underlay, 192.0.2.0/24, MTU
 * 1500); on each the overlay driver makes its bridge and vxlan device, and a "container" (another
 * namespace with a veth on that bridge) gets an address of the shared subnet 10.77.0.0/24. The
 * containers reach each other only through VXLAN: the underlay knows nothing of 10.77.0.0/24.
 */
const suffix = randomBytes(3).toString('hex');
const hostA = `ovt-ha-${suffix}`;
const hostB = `ovt-hb-${suffix}`;
const ctrA = `ovt-ca-${suffix}`;
const ctrB = `ovt-cb-${suffix}`;
const networkId = `${randomBytes(6).toString('hex')}${'0'.repeat(52)}`;
const settings: OverlaySettings = { vni: 4242, port: 4789 };
const containers = {
  a: { ip: '10.77.0.2', mac: '02:42:0a:4d:00:02' },
  b: { ip: '10.77.0.3', mac: '02:42:0a:4d:00:03' },
};

async function inNetns(netns: string, file: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return execTool('ip', ['netns', 'exec', netns, file, ...args]);
}

/** A container-like namespace with eth0 on the host's overlay bridge. */
async function plugContainer(host: string, ctr: string, c: { ip: string; mac: string }, mtu: number): Promise<void> {
  await createNetns(ctr);
  const hostEnd = `v${ctr.slice(-9)}`;
  await mustExec('ip', ['-n', host, 'link', 'add', 'name', hostEnd, 'mtu', String(mtu), 'type', 'veth', 'peer', 'name', 'eth0', 'mtu', String(mtu), 'address', c.mac, 'netns', ctr]);
  await mustExec('ip', ['-n', host, 'link', 'set', 'dev', hostEnd, 'master', overlayLinkNames(networkId).bridge, 'up']);
  await mustExec('ip', ['-n', ctr, 'addr', 'add', `${c.ip}/24`, 'dev', 'eth0']);
  await mustExec('ip', ['-n', ctr, 'link', 'set', 'dev', 'eth0', 'up']);
  await mustExec('ip', ['-n', ctr, 'route', 'add', 'default', 'via', '10.77.0.1']);
}

const peersOf = (underlays: { a: Underlay; b: Underlay }): RemotePeer[] => [
  { ...containers.a, host: underlays.a.address },
  { ...containers.b, host: underlays.b.address },
];

describe('overlay driver between two hosts (network namespaces)', () => {
  const underlays = {} as { a: Underlay; b: Underlay };
  const mtus = { a: 0, b: 0 };

  beforeAll(async () => {
    await createNetns(hostA);
    await createNetns(hostB);
    await mustExec('ip', ['-n', hostA, 'link', 'add', 'under0', 'type', 'veth', 'peer', 'name', 'under0', 'netns', hostB]);
    for (const [ns, address] of [
      [hostA, '192.0.2.1/24'],
      [hostB, '192.0.2.2/24'],
    ] as const) {
      await mustExec('ip', ['-n', ns, 'addr', 'add', address, 'dev', 'under0']);
      await mustExec('ip', ['-n', ns, 'link', 'set', 'dev', 'under0', 'up']);
    }
    underlays.a = await findUnderlay({ netns: hostA });
    underlays.b = await findUnderlay({ address: '192.0.2.2', netns: hostB });
    for (const [key, ns] of [
      ['a', hostA],
      ['b', hostB],
    ] as const) {
      mtus[key] = await bringUpOverlay({ networkId, settings, gateway: '10.77.0.1/24', aliasPrefix: 'berth:0000test', underlay: underlays[key], netns: ns });
    }
    await plugContainer(hostA, ctrA, containers.a, mtus.a);
    await plugContainer(hostB, ctrB, containers.b, mtus.b);
  });

  afterAll(async () => {
    // Deleting a namespace deletes its links (the veths, bridges, vxlan devices) with it.
    for (const ns of [ctrA, ctrB, hostA, hostB]) await deleteNetns(ns);
  });

  it('finds each host’s underlay and sets the MTU 50 below it on the bridge and vxlan device', async () => {
    expect(underlays.a).toEqual({ device: 'under0', address: '192.0.2.1', mtu: 1500 });
    expect(underlays.b).toEqual({ device: 'under0', address: '192.0.2.2', mtu: 1500 });
    expect(mtus).toEqual({ a: 1450, b: 1450 });
    const names = overlayLinkNames(networkId);
    const vxlan = JSON.parse(await mustExec('ip', ['-n', hostA, '-j', '-d', 'link', 'show', 'dev', names.vxlan])) as Array<{
      mtu: number;
      master: string;
      linkinfo: { info_data: { id: number; port: number; local: string; learning: boolean; proxy: boolean } };
    }>;
    expect(vxlan[0]).toMatchObject({ mtu: 1450, master: names.bridge, linkinfo: { info_data: { id: 4242, port: 4789, local: '192.0.2.1', learning: false, proxy: true } } });
  });

  it('containers on the two hosts do not reach each other before the FDB entries exist', async () => {
    const ping = await inNetns(ctrA, 'busybox', ['ping', '-c', '1', '-W', '1', containers.b.ip]);
    expect(ping.code).not.toBe(0);
  });

  it('reaches a container on the other host by ping and TCP through VXLAN once the peers are written', async () => {
    const peers = peersOf(underlays);
    expect(await syncOverlayPeers(networkId, { self: underlays.a.address, hosts: [underlays.a.address, underlays.b.address], peers }, { netns: hostA })).toBe(3);
    expect(await syncOverlayPeers(networkId, { self: underlays.b.address, hosts: [underlays.a.address, underlays.b.address], peers }, { netns: hostB })).toBe(3);
    // Unchanged peers write nothing.
    expect(await syncOverlayPeers(networkId, { self: underlays.a.address, hosts: [underlays.b.address], peers }, { netns: hostA })).toBe(0);

    const ping = await inNetns(ctrA, 'busybox', ['ping', '-c', '2', '-W', '2', containers.b.ip]);
    expect(ping.stderr).toBe('');
    expect(ping.code).toBe(0);
    // A full-size frame at the overlay MTU passes: 1450 − 20 (IP) − 8 (ICMP).
    const big = await inNetns(ctrA, 'busybox', ['ping', '-c', '1', '-W', '2', '-s', '1422', containers.b.ip]);
    expect(big.code).toBe(0);

    // Serves one connection, then exits (at the latest after 20 s, should the client never come).
    const server = `const srv = require('net').createServer((s) => { s.end('hello from ' + process.argv[1]); srv.close() }).listen(7070, '${containers.b.ip}'); setTimeout(() => process.exit(1), 20000).unref()`;
    const sink = execTool('ip', ['netns', 'exec', ctrB, process.execPath, '-e', server, 'b']);
    const client = `const s = require('net').connect(7070, '${containers.b.ip}'); let d = ''; s.on('data', (c) => d += c); s.on('end', () => { console.log(d); process.exit(0) }); s.on('error', () => process.exit(2))`;
    let reply = '';
    for (const deadline = Date.now() + 6000; Date.now() < deadline && !reply.includes('hello'); ) {
      reply = (await inNetns(ctrA, process.execPath, ['-e', client])).stdout;
    }
    expect(reply.trim()).toBe('hello from b');
    expect((await sink).code).toBe(0);

    // The frames went through the vxlan device (its counters moved).
    const stats = JSON.parse(await mustExec('ip', ['-n', hostA, '-j', '-s', 'link', 'show', 'dev', overlayLinkNames(networkId).vxlan])) as Array<{ stats64: { tx: { packets: number } } }>;
    expect(stats[0]!.stats64.tx.packets).toBeGreaterThan(3);
  }, 30_000);

  it('a container whose entries are removed is unreachable again', async () => {
    expect(await syncOverlayPeers(networkId, { self: underlays.a.address, hosts: [], peers: [] }, { netns: hostA })).toBe(3);
    const fdb = await mustExec('bridge', ['-n', hostA, 'fdb', 'show', 'dev', overlayLinkNames(networkId).vxlan]);
    expect(fdb).not.toContain('dst');
    const ping = await inNetns(ctrA, 'busybox', ['ping', '-c', '1', '-W', '1', containers.b.ip]);
    expect(ping.code).not.toBe(0);
  });
});
