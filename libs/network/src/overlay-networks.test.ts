/**
 * Overlay networks in the network manager against the real kernel (root), with an in-memory
 * directory standing for the cluster's index (the NATS one has its own test in libs/events):
 * addresses held on another host are skipped, a container's endpoint is published and withdrawn,
 * remote containers get FDB and neighbour entries and answer in the embedded DNS. Objects carry a
 * random tag and live on 10.213.120.0/24 with a random VNI; afterEach removes what a failed test left.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { waitUntil } from '@berth/testing';
import { dnsAsk, NetworkTestBed } from './test-support.js';
import { mustExec } from './host-exec.js';
import { listLinks } from './host-links.js';
import type { OverlayDirectory, OverlayEndpoint, OverlayView } from './overlay-directory.js';
import { nextVni, overlayLinkNames, overlaySettings, vxlanIdOption } from './overlay-driver.js';

/** The cluster's index in memory: claims by key, one watcher. */
class MemoryDirectory implements OverlayDirectory {
  readonly endpoints = new Map<string, OverlayEndpoint>();
  hosts = ['192.0.2.50'];
  private onView?: (view: OverlayView) => void;

  async claim(e: OverlayEndpoint): Promise<boolean> {
    const key = `${e.networkId}/${e.ip}`;
    const holder = this.endpoints.get(key);
    if (holder && holder.containerId !== e.containerId) return false;
    this.endpoints.set(key, e);
    this.tell();
    return true;
  }

  async release(networkId: string, ip: string): Promise<void> {
    this.endpoints.delete(`${networkId}/${ip}`);
    this.tell();
  }

  async watch(self: { host: string }, onView: (view: OverlayView) => void): Promise<() => Promise<void>> {
    this.hosts.push(self.host);
    this.onView = onView;
    this.tell();
    return async () => void (this.onView = undefined);
  }

  tell(): void {
    this.onView?.({ hosts: [...this.hosts], endpoints: [...this.endpoints.values()] });
  }
}

let bed: NetworkTestBed;

beforeEach(() => {
  bed = new NetworkTestBed('berth-ovnet-');
});

afterEach(() => bed.cleanUp());

describe('overlay settings', () => {
  it('reads the VNI and port of a network, and says which option is wrong', () => {
    expect(overlaySettings({ [vxlanIdOption]: '4100' })).toEqual({ vni: 4100, port: 4789 });
    expect(() => overlaySettings({ [vxlanIdOption]: 'x' })).toThrow('invalid overlay option com.docker.network.driver.overlay.vxlanid_list="x": expected a VXLAN id from 1 to 16777215');
    expect(() => overlaySettings({ [vxlanIdOption]: '5', 'berth.overlay.vxlan_port': '70000' })).toThrow('invalid overlay option berth.overlay.vxlan_port="70000": expected a UDP port');
    expect(nextVni([4096, 4097, 4099])).toBe(4098);
  });

  it('names the links of a network after its id', () => {
    expect(overlayLinkNames('0123456789abcdef')).toEqual({ bridge: 'ov-0123456789ab', vxlan: 'vx-0123456789ab' });
  });
});

describe('an overlay network in the network manager', () => {
  it('claims addresses in the index, points the vxlan device at remote containers and resolves them', async () => {
    const directory = new MemoryDirectory();
    const vni = 200_000 + (randomBytes(2).readUInt16BE() % 50_000);
    const m = await bed.open({ defaultBridgeSubnets: ['10.213.252.0/24'], overlay: { directory, hostId: 'self' } });
    const n = await m.createNetwork({ name: 'ov', driver: 'overlay', subnet: '10.213.120.0/24', options: { [vxlanIdOption]: String(vni) } });
    expect(n).toMatchObject({ Driver: 'overlay', Scope: 'swarm', BridgeName: overlayLinkNames(n.Id).bridge });
    await expect(m.createNetwork({ name: 'ov2', driver: 'overlay', subnet: '10.213.121.0/24', options: { [vxlanIdOption]: String(vni) } })).rejects.toThrow(
      `VXLAN id ${vni} is already used by network ov`,
    );
    await expect(m.createNetwork({ name: 'ov3', driver: 'macvlan' })).rejects.toThrow('plugin "macvlan" not found: only the bridge and overlay drivers are supported');

    // Another host runs `api` at .2: this host's first container gets .3.
    const remote: OverlayEndpoint = { networkId: n.Id, ip: '10.213.120.2', mac: '02:42:0a:d5:78:02', containerId: 'f'.repeat(64), containerName: 'api', aliases: ['backend'], host: '192.0.2.50', hostId: 'other' };
    await directory.claim(remote);
    const id = randomBytes(32).toString('hex');
    bed.known.set(id, 'web');
    await m.create({ id, name: '/web' }, { mode: 'ov' });
    await m.start({ id, hostname: 'web' });
    const mine = directory.endpoints.get(`${n.Id}/10.213.120.3`);
    expect(mine).toMatchObject({ containerId: id, containerName: 'web', mac: '02:42:0a:d5:78:03', hostId: 'self' });

    const vxlan = overlayLinkNames(n.Id).vxlan;
    // The entries follow the index in the background (FDB, then neighbours): wait for the last one.
    const neighbour = '10.213.120.2 lladdr 02:42:0a:d5:78:02 PERMANENT';
    await waitUntil('the remote container in the vxlan device\'s neighbour table', async () => (await mustExec('ip', ['neigh', 'show', 'dev', vxlan])).includes(neighbour));
    const fdb = await mustExec('bridge', ['fdb', 'show', 'dev', vxlan]);
    expect(fdb).toContain('00:00:00:00:00:00 dst 192.0.2.50 self permanent');
    expect(fdb).toContain('02:42:0a:d5:78:02 dst 192.0.2.50 self permanent');
    expect(fdb).not.toContain(mine!.host); // nothing points at this host itself
    expect(await mustExec('ip', ['neigh', 'show', 'dev', vxlan])).toContain(neighbour);
    // The veth has the overlay MTU.
    const mtu = JSON.parse(await mustExec('ip', ['-j', 'link', 'show', 'dev', vxlan])) as Array<{ mtu: number }>;
    const eth0 = JSON.parse(await mustExec('ip', ['-n', `berth-${bed.tag}-${id.slice(0, 12)}`, '-j', 'link', 'show', 'dev', 'eth0'])) as Array<{ mtu: number }>;
    expect(eth0[0]!.mtu).toBe(mtu[0]!.mtu);

    expect((await dnsAsk('10.213.120.1', 'api')).addresses).toEqual(['10.213.120.2']);
    expect((await dnsAsk('10.213.120.1', 'backend.ov')).addresses).toEqual(['10.213.120.2']);
    expect((await dnsAsk('10.213.120.1', 'web')).addresses).toEqual(['10.213.120.3']);

    // `--ip` held on another host is refused; the remote container leaves: its entries go.
    const other = randomBytes(32).toString('hex');
    bed.known.set(other, 'pinned');
    await m.create({ id: other, name: '/pinned' }, { mode: 'ov', ipv4Address: '10.213.120.2' });
    await expect(m.start({ id: other, hostname: 'pinned' })).rejects.toThrow('Address already in use: "10.213.120.2"');
    await directory.release(n.Id, '10.213.120.2');
    await expect.poll(async () => mustExec('bridge', ['fdb', 'show', 'dev', vxlan])).not.toContain('02:42:0a:d5:78:02');
    // Its neighbour entry goes after the FDB entry (in the background too): wait for it as well.
    await expect.poll(async () => mustExec('ip', ['neigh', 'show', 'dev', vxlan])).toBe('');
    expect(await dnsAsk('10.213.120.1', 'api')).toEqual({ rcode: 3, addresses: [] }); // NXDOMAIN

    await m.stop(id);
    expect(directory.endpoints.has(`${n.Id}/10.213.120.3`)).toBe(false);
    await m.remove(id);
    await m.remove(other);
    await m.removeNetwork('ov');
    expect((await listLinks()).some((l) => l.name === vxlan)).toBe(false);
  });
});
