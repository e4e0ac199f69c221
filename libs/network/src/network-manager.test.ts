/**
 * The network manager against the real kernel (root): bridges, veths, netns, iptables and the DNS
 * server. Every object carries a random tag of this test run and lives on 10.213.x subnets, and
 * afterEach removes whatever a failed test left (links by alias, namespaces by name, our chains).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { dnsAsk, NetworkTestBed } from './test-support.js';
import { execTool } from './host-exec.js';
import { listLinks, listNetns } from './host-links.js';
import { rulesMentioning, chainNames } from './nat-rules.js';
import type { NetworkManager } from './network-manager.js';
import { readTcp } from './testdata/read-tcp.js';

let bed: NetworkTestBed;
const processes: ChildProcess[] = [];
const servers: Server[] = [];

function open(): Promise<NetworkManager> {
  return bed.open({ defaultBridgeSubnets: ['10.213.250.0/24', '10.213.251.0/24'], subnetPool: ['10.213.100.0/24', '10.213.101.0/24'] });
}

const container = (name: string) => bed.container(name);

/** Serves `reply` on TCP port 80 inside a netns, once per connection (busybox nc in a loop). */
function serveInNetns(netns: string, reply: string): void {
  const child = spawn('ip', ['netns', 'exec', netns, 'busybox', 'sh', '-c', `while true; do echo ${reply} | busybox nc -l -p 80; done`], {
    stdio: 'ignore',
    detached: true,
  });
  processes.push(child);
}

beforeEach(() => {
  bed = new NetworkTestBed('berth-net-');
});

afterEach(async () => {
  for (const child of processes.splice(0)) {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // gone
    }
  }
  for (const s of servers.splice(0)) s.close();
  await bed.cleanUp();
});

describe('NetworkManager', () => {
  it('makes the predefined networks and a default bridge carrying its tag', async () => {
    const m = await open();
    expect(m.listNetworks().map((n) => `${n.Name}:${n.Driver}`).sort()).toEqual(['bridge:bridge', 'host:host', 'none:null']);
    const bridge = m.inspectNetwork('bridge');
    expect(bridge.IPAM.Config).toEqual([{ Subnet: '10.213.250.0/24', Gateway: '10.213.250.1' }]);
    const name = bridge.Options['com.docker.network.bridge.name']!;
    expect(name).toMatch(/^berth\d+$/);
    expect(await bed.links()).toEqual([name]);
    await expect(m.removeNetwork('bridge')).rejects.toThrow('bridge is a pre-defined network and cannot be removed');
    await expect(m.removeNetwork('nosuch')).rejects.toThrow('network nosuch not found');
  });

  it('gives two agents starting together bridges of their own: other names, other subnets', async () => {
    const other = new NetworkTestBed('berth-net-');
    try {
      const options = { defaultBridgeSubnets: ['10.213.250.0/24', '10.213.251.0/24'], subnetPool: ['10.213.100.0/24'] };
      const [a, b] = await Promise.all([bed.open(options), other.open(options)]);
      const [ba, bb] = [a.inspectNetwork('bridge'), b.inspectNetwork('bridge')];
      expect(ba.Options['com.docker.network.bridge.name']).not.toBe(bb.Options['com.docker.network.bridge.name']);
      expect([ba.IPAM.Config[0]!.Subnet, bb.IPAM.Config[0]!.Subnet].sort()).toEqual(['10.213.250.0/24', '10.213.251.0/24']);
      expect(await bed.links()).toEqual([ba.Options['com.docker.network.bridge.name']]);
      expect(await other.links()).toEqual([bb.Options['com.docker.network.bridge.name']]);
    } finally {
      await other.cleanUp();
    }
  });

  it('connects containers of a user network, resolves their names, publishes ports and cleans up', async () => {
    const m = await open();
    const net = await m.createNetwork({ name: 'appnet', subnet: '10.213.7.0/24', labels: { team: 'a' } });
    await expect(m.createNetwork({ name: 'appnet' })).rejects.toThrow('network with name appnet already exists');
    await expect(m.createNetwork({ name: 'other', subnet: '10.213.7.128/25' })).rejects.toThrow(
      'Pool overlaps with other one on this address space: "10.213.7.128/25" is in use',
    );
    const web = container('web');
    const web2 = container('web2');
    await m.create({ id: web, name: '/web', exposedPorts: ['443/tcp'] }, { mode: 'appnet', publish: ['127.0.0.1::80'], aliases: ['site'] });
    await m.create({ id: web2, name: '/web2' }, { mode: 'appnet', aliases: ['site'], ipv4Address: '10.213.7.50' });
    const sandbox = await m.start({ id: web, hostname: 'webhost' });
    await m.start({ id: web2, hostname: 'web2host' });
    expect(sandbox.namespace).toEqual({ path: `/run/netns/berth-${bed.tag}-${web.slice(0, 12)}` });
    expect(sandbox.hosts).toContain('10.213.7.2\twebhost\n');
    expect(sandbox.resolvConf).toMatch(/^nameserver 10\.213\.7\.1\n/);

    // The container side: eth0 with the address and a default route through the gateway.
    const netns = `berth-${bed.tag}-${web.slice(0, 12)}`;
    const addr = await execTool('ip', ['-n', netns, '-4', '-o', 'addr', 'show', 'dev', 'eth0']);
    expect(addr.stdout).toContain('inet 10.213.7.2/24');
    expect((await execTool('ip', ['-n', netns, 'route'])).stdout).toContain('default via 10.213.7.1 dev eth0');

    // DNS on the gateway: names, the shared alias (two records), `name.network`.
    expect(await dnsAsk('10.213.7.1', 'web')).toEqual({ rcode: 0, addresses: ['10.213.7.2'] });
    expect((await dnsAsk('10.213.7.1', 'site')).addresses.sort()).toEqual(['10.213.7.2', '10.213.7.50']);
    expect(await dnsAsk('10.213.7.1', 'web2.appnet')).toEqual({ rcode: 0, addresses: ['10.213.7.50'] });
    // A renamed container answers to its new name.
    bed.known.set(web2, 'renamed');
    expect(await dnsAsk('10.213.7.1', 'renamed')).toEqual({ rcode: 0, addresses: ['10.213.7.50'] });
    bed.known.set(web2, 'web2');

    // The published port answers on 127.0.0.1 through DNAT.
    const summary = m.summary(web)!;
    const published = summary.Ports.find((p) => p.PublicPort !== undefined)!;
    expect(published).toMatchObject({ IP: '127.0.0.1', PrivatePort: 80, Type: 'tcp' });
    expect(published.PublicPort).toBeGreaterThanOrEqual(49153);
    expect(summary.Ports).toContainEqual({ PrivatePort: 443, Type: 'tcp' });
    // A listing's views (the network tables read once, NetworkSnapshot) are each container's own.
    const listing = m.summaries();
    for (const id of [web, web2, container('never-created')]) expect(listing(id)).toEqual(m.summary(id));
    expect(Object.keys(listing(web2)!.Networks)).toEqual(['appnet']);
    serveInNetns(netns, 'hello-from-web');
    expect(await readTcp('127.0.0.1', published.PublicPort!, { attempts: 22 })).toBe('hello-from-web\n');
    const inspect = m.inspect(web)!;
    expect((inspect.NetworkSettings.Ports as Record<string, unknown>)['80/tcp']).toEqual([{ HostIp: '127.0.0.1', HostPort: String(published.PublicPort) }]);
    expect(m.inspectNetwork('appnet').Containers[web]).toMatchObject({ Name: 'web', IPv4Address: '10.213.7.2/24' });

    await expect(m.removeNetwork('appnet')).rejects.toThrow(`error while removing network: network appnet id ${net.Id} has active endpoints (web, web2)`);

    // Stop: the namespace, veth, rules and DNS name go; the address is free again.
    await m.stop(web);
    expect(listNetns()).not.toContain(netns);
    expect(await dnsAsk('10.213.7.1', 'web')).toEqual({ rcode: 3, addresses: [] });
    expect(await rulesMentioning('10.213.7.2')).toEqual([]);
    await m.remove(web);
    await m.remove(web2);
    await m.removeNetwork('appnet');
    expect(await bed.links()).toHaveLength(1); // only the default bridge
    expect(await rulesMentioning('10.213.7.')).toEqual([]);
  });

  it("keeps the gateway's MAC while containers come and go, so the others' DNS queries keep being answered", async () => {
    const m = await open();
    const net = await m.createNetwork({ name: 'churn', subnet: '10.213.10.0/24' });
    const bridgeMac = () => readFileSync(`/sys/class/net/br-${net.Id.slice(0, 12)}/address`, 'utf8').trim();
    const client = container('client');
    const replica = container('replica');
    await m.create({ id: client, name: 'client' }, { mode: 'churn' });
    await m.create({ id: replica, name: 'replica' }, { mode: 'churn' });
    await m.start({ id: client, hostname: 'client' });
    const mac = bridgeMac();
    await m.start({ id: replica, hostname: 'replica' });
    // A new container's host-side veth with the lowest MAC there is (kernel-chosen ones are random,
    // so a rolling update's new replica has the lowest now and then).
    const replicaVeth = (await listLinks()).find((l) => l.alias === `berth:${bed.tag}:${replica.slice(0, 12)}`)!.name;
    await execTool('ip', ['link', 'set', 'dev', replicaVeth, 'address', '00:00:00:00:00:01']);
    // The client asks the embedded DNS (and learns the gateway's MAC), the replica goes, it asks again.
    const ask = async () =>
      (await execTool('timeout', ['3', 'ip', 'netns', 'exec', `berth-${bed.tag}-${client.slice(0, 12)}`, 'busybox', 'nslookup', 'client', '10.213.10.1'])).stdout;
    expect(await ask()).toContain('Address: 10.213.10.2');
    await m.stop(replica);
    expect(await ask()).toContain('Address: 10.213.10.2');
    expect(bridgeMac()).toBe(mac);
  });

  it('refuses a host port that another container or a host socket holds', async () => {
    const m = await open();
    const a = container('a');
    const b = container('b');
    const c = container('c');
    const holder = createServer();
    servers.push(holder);
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const busy = (holder.address() as { port: number }).port;
    await m.create({ id: a, name: 'a' }, { publish: ['127.0.0.1::80'] });
    await m.create({ id: b, name: 'b' }, { publish: [`${busy}:80`] });
    await m.start({ id: a, hostname: 'a' });
    const taken = m.summary(a)!.Ports[0]!.PublicPort!;
    await m.create({ id: c, name: 'c' }, { publish: [`127.0.0.1:${taken}:80/tcp`] });
    await expect(m.start({ id: b, hostname: 'b' })).rejects.toThrow(`Bind for 0.0.0.0:${busy} failed: port is already allocated`);
    await expect(m.start({ id: c, hostname: 'c' })).rejects.toThrow(`Bind for 127.0.0.1:${taken} failed: port is already allocated`);
    // The failed starts left nothing behind.
    expect(listNetns().filter((n) => n.startsWith(`berth-${bed.tag}-`))).toEqual([`berth-${bed.tag}-${a.slice(0, 12)}`]);
    expect(m.summary(b)!.Ports).toEqual([]);
  });

  it('isolates networks, keeps internal ones offline, and a user network reaches another container by IP', async () => {
    const m = await open();
    await m.createNetwork({ name: 'n1', subnet: '10.213.8.0/24' });
    await m.createNetwork({ name: 'n2', subnet: '10.213.9.0/24', internal: true });
    const rules = (await rulesMentioning(chainNames(bed.tag).forward)).join('\n');
    const [b1, b2] = ['n1', 'n2'].map((n) => m.inspectNetwork(n).Id.slice(0, 12)).map((id) => `br-${id}`);
    expect(rules).toContain(`-A ${chainNames(bed.tag).forward} -i ${b1} -o ${b2} -j DROP`);
    expect(rules).toContain(`-A ${chainNames(bed.tag).forward} -i ${b2} ! -o ${b2} -j DROP`);
    const nat = (await rulesMentioning(chainNames(bed.tag).post)).join('\n');
    expect(nat).toContain('-s 10.213.8.0/24 ! -o');
    expect(nat).not.toContain('-s 10.213.9.0/24 ! -o');

    const x = container('x');
    const y = container('y');
    await m.create({ id: x, name: 'x' }, { mode: 'n1' });
    await m.create({ id: y, name: 'y' }, { mode: 'n2' });
    await m.start({ id: x, hostname: 'x' });
    await m.start({ id: y, hostname: 'y' });
    // The internal network's container has no default route.
    expect((await execTool('ip', ['-n', `berth-${bed.tag}-${y.slice(0, 12)}`, 'route'])).stdout).not.toContain('default');
    // Connecting x to n2 too gives it eth1 at once.
    await m.connect('n2', 'x', { aliases: ['xx'] });
    const eth1 = await execTool('ip', ['-n', `berth-${bed.tag}-${x.slice(0, 12)}`, '-4', '-o', 'addr', 'show', 'dev', 'eth1']);
    expect(eth1.stdout).toContain('inet 10.213.9.3/24');
    await expect(m.connect('n2', 'x')).rejects.toThrow('endpoint with name x already exists in network n2');
    await m.disconnect('n2', 'x');
    expect((await execTool('ip', ['-n', `berth-${bed.tag}-${x.slice(0, 12)}`, 'link', 'show', 'eth1'])).code).not.toBe(0);
  });

  it('rebuilds its rules without duplicates after a crash and sweeps what nothing needs', async () => {
    const first = await open();
    const a = container('a');
    await first.create({ id: a, name: 'a' }, { publish: ['127.0.0.1::80'] });
    await first.start({ id: a, hostname: 'a' });
    const port = first.summary(a)!.Ports[0]!.PublicPort!;
    bed.managers.splice(bed.managers.indexOf(first), 1); // "crash": no close

    const second = await open();
    await second.sweep();
    expect((await rulesMentioning(`--dport ${port} `)).length).toBe(1);
    for (const chain of ['PREROUTING', 'OUTPUT']) {
      const jumps = (await execTool('iptables', ['-w', '-t', 'nat', '-S', chain])).stdout.split('\n').filter((l) => l.includes(chainNames(bed.tag).dnat));
      expect(jumps).toHaveLength(1);
    }
    // The container disappeared while the agent was down: sweep forgets it and its namespace.
    bed.known.delete(a);
    await second.sweep();
    expect(listNetns().filter((n) => n.startsWith(`berth-${bed.tag}-`))).toEqual([]);
    expect(await rulesMentioning(`--dport ${port} `)).toEqual([]);
    // With nothing running, close takes everything down.
    await second.close();
    expect(await bed.links()).toEqual([]);
    expect(await rulesMentioning(chainNames(bed.tag).dnat)).toEqual([]);
  });

  it("leaves a --network none container's namespace to runc: no netns of its own, its SandboxKey the init's", async () => {
    const m = await open();
    const quiet = container('quiet');
    await m.create({ id: quiet, name: '/quiet', exposedPorts: ['80/tcp'] }, { mode: 'none', extraHosts: ['db:10.1.2.3'] });
    const sandbox = await m.start({ id: quiet, hostname: 'quiethost' });
    // A `network` namespace without a path: runc makes it, with its loopback up (test/network-none.e2e.test.ts).
    expect(sandbox.namespace).toBe('new');
    expect(sandbox.hosts).toContain('10.1.2.3\tdb\n127.0.1.1\tquiethost\n');
    expect(listNetns().filter((n) => n.startsWith(`berth-${bed.tag}-`))).toEqual([]);
    const running = m.inspect(quiet, { pid: 4242 })!.NetworkSettings;
    expect(running).toMatchObject({ SandboxID: quiet, SandboxKey: '/proc/4242/ns/net', Ports: { '80/tcp': null }, Networks: {} });
    expect(m.summary(quiet)!.Ports).toEqual([{ PrivatePort: 80, Type: 'tcp' }]);
    await m.stop(quiet);
    expect(m.inspect(quiet, { pid: 4242 })!.NetworkSettings).toMatchObject({ SandboxID: '', SandboxKey: '', Ports: {} });
    expect(m.summary(quiet)!.Ports).toEqual([]);
  });
});
