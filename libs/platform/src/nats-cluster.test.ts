import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '@berth/testing';
import { freeLoopbackPort } from './loopback-ports.js';
import { natsClusterServers, natsUrls, waitJetStream, writeMemberNatsConfigs } from './nats-cluster.js';
import { prepareJoin } from './platform-join.js';
import { secretsOf } from './platform-secrets.js';
import { checkSettings, resolvePlatformSettings, savePlatformSettings } from './platform-settings.js';

describe('a NATS cluster of the platform\'s hosts', () => {
  it('gives every joined host a nats-server of its own, routed to all, letting in the same users', async () => {
    await using first = tempDir('berth-nats-first-');
    await using second = tempDir('berth-nats-second-');
    await using third = tempDir('berth-nats-third-');
    const one = await resolvePlatformSettings({ dataRoot: first.path, registryPort: 0, natsCluster: true, address: '10.99.7.2' });
    savePlatformSettings(one);
    expect(one.natsRoutePort).toBeGreaterThan(0);
    const joined = [];
    for (const [dir, address] of [[second, '10.99.7.3'], [third, '10.99.7.4']] as const) {
      const s = await resolvePlatformSettings({ dataRoot: dir.path, join: first.path, address });
      savePlatformSettings(s);
      prepareJoin(s, one);
      joined.push(s);
    }
    const [two, three] = joined as [typeof one, typeof one];
    // Each host its own client and route ports; the registry stays the first host's.
    expect(two.natsPort).not.toBe(one.natsPort);
    expect(two.natsRoutePort).toBeGreaterThan(0);
    expect(two).toMatchObject({ registryPort: one.registryPort, firstHostAddress: '10.99.7.2', apiAddress: one.apiAddress });
    // The first host's server first, then the joined hosts' (by host id).
    expect(natsClusterServers(first.path).map((s) => s.address)[0]).toBe('10.99.7.2');
    expect(natsClusterServers(first.path).map((s) => s.address).sort()).toEqual(['10.99.7.2', '10.99.7.3', '10.99.7.4']);

    const changed = writeMemberNatsConfigs(first.path);
    expect(changed).toEqual([]); // none existed before: nothing to reload
    const route = JSON.parse(readFileSync(join(secretsOf(first.path).dir, 'nats-routes.json'), 'utf8')) as { username: string; password: string };
    const routeUrl = (a: string, p: number) => `nats-route://${route.username}:${encodeURIComponent(route.password)}@${a}:${p}`;
    for (const s of [one, two, three]) {
      const config = readFileSync(secretsOf(s.dataRoot).natsConfig, 'utf8');
      expect(statSync(secretsOf(s.dataRoot).natsConfig).mode & 0o777).toBe(0o600);
      expect(config).toContain(`server_name: "${s.hostId}"`);
      expect(config).toContain(`listen: "${s.address}:${s.natsPort}"`);
      expect(config).toContain(`listen: "${s.address}:${s.natsRoutePort}"`);
      expect(config).toContain(`store_dir: "${join(s.dataRoot, 'nats')}"`);
      for (const peer of [one, two, three]) expect(config).toContain(routeUrl(peer.address!, peer.natsRoutePort!));
      // The same users everywhere: the first host's services, every joined host's agent and builder.
      expect(config).toContain(`# runtime-agent of host ${three.hostId}`);
      expect(config).toContain(`"$KV.hosts.${two.hostId}"`);
    }
    // Services connect to their own server first, then the others.
    const [own, ...others] = natsUrls(two).split(',');
    expect(own).toBe(`nats://10.99.7.3:${two.natsPort}`);
    expect(others.sort()).toEqual([`nats://10.99.7.2:${one.natsPort}`, `nats://10.99.7.4:${three.natsPort}`]);
    expect(natsUrls({ ...one, natsRoutePort: undefined })).toBe(`nats://10.99.7.2:${one.natsPort}`);
  });

  it('forms a JetStream cluster of servers that know the route credentials, and refuses a route without them', async () => {
    await using first = tempDir('berth-nats-first-');
    await using second = tempDir('berth-nats-second-');
    await using intruder = tempDir('berth-nats-intruder-');
    const one = await resolvePlatformSettings({ dataRoot: first.path, registryPort: 0, natsCluster: true });
    savePlatformSettings(one);
    const two = await resolvePlatformSettings({ dataRoot: second.path, join: first.path });
    savePlatformSettings(two);
    prepareJoin(two, one);
    writeMemberNatsConfigs(first.path);
    const servers: ChildProcess[] = [];
    const logs = new Map<string, string>();
    const start = (dataRoot: string, config = secretsOf(dataRoot).natsConfig) => {
      const child = spawn('nats-server', ['-c', config], { stdio: ['ignore', 'ignore', 'pipe'] });
      logs.set(dataRoot, '');
      child.stderr!.on('data', (d) => logs.set(dataRoot, logs.get(dataRoot)! + String(d)));
      servers.push(child);
    };
    try {
      start(first.path);
      start(second.path);
      await waitJetStream(one, 20_000); // a metadata leader: the two servers route to each other
      // A server whose routes carry another password (the intruder's own cluster config).
      const port = (await freeLoopbackPort()) as number;
      const forged = readFileSync(secretsOf(second.path).natsConfig, 'utf8')
        .replaceAll(JSON.parse(readFileSync(join(secretsOf(first.path).dir, 'nats-routes.json'), 'utf8')).password as string, 'not-the-password')
        .replace(`listen: "127.0.0.1:${two.natsPort}"`, `listen: "127.0.0.1:${port}"`)
        .replace(`listen: "127.0.0.1:${two.natsRoutePort}"`, `listen: "127.0.0.1:${await freeLoopbackPort()}"`)
        .replace(join(second.path, 'nats'), join(intruder.path, 'nats'));
      writeFileSync(join(intruder.path, 'nats.conf'), forged, { mode: 0o600 });
      start(intruder.path, join(intruder.path, 'nats.conf'));
      const deadline = Date.now() + 15_000;
      const refused = /Router connection closed: Authentication Failure/;
      while (!refused.test(logs.get(first.path)!) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(logs.get(first.path)).toMatch(refused);
    } finally {
      for (const child of servers) child.kill('SIGKILL');
    }
  }, 60_000);

  it('refuses an address that is not IPv4 and a network namespace that does not exist', async () => {
    await using dir = tempDir('berth-nats-bad-');
    const s = await resolvePlatformSettings({ dataRoot: dir.path, registryPort: 0 });
    expect(() => checkSettings({ ...s, address: 'host-a' })).toThrow('Invalid --address "host-a": expected this host\'s IPv4 address');
    expect(() => checkSettings({ ...s, netns: 'bt-none' })).toThrow('Invalid network namespace "bt-none": no /run/netns/bt-none (ip netns add bt-none)');
  });
});
