import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '@berth/testing';
import { prepareJoin } from './platform-join.js';
import { resolvePlatformSettings, savePlatformSettings } from './platform-settings.js';

describe('joining a cluster', () => {
  it('shares the first host\'s ports and gateway, and lets its keys into the first host\'s nats-server config', async () => {
    await using first = tempDir('berth-join-first-');
    await using second = tempDir('berth-join-second-');
    const cluster = await resolvePlatformSettings({ dataRoot: first.path, registryPort: 0 });
    savePlatformSettings(cluster);
    const joined = await resolvePlatformSettings({ dataRoot: second.path, join: first.path, nodeName: 'node-2', labels: { zone: 'b' } });
    expect(joined).toMatchObject({ natsPort: cluster.natsPort, registryPort: cluster.registryPort, apiAddress: cluster.apiAddress, cluster: first.path, nodeName: 'node-2' });
    expect(joined.hostId).not.toBe(cluster.hostId);
    prepareJoin(joined, cluster);
    const config = readFileSync(join(first.path, 'secrets', 'nats-server.conf'), 'utf8');
    expect(config).toContain(`# runtime-agent of host ${joined.hostId}`);
    expect(config).toContain(`$KV.hosts.${joined.hostId}`);
    expect(existsSync(join(second.path, 'secrets', 'registry-auth.json'))).toBe(true);
    expect(existsSync(join(second.path, 'secrets', 'nats', 'api.nk'))).toBe(false); // no gateway key on a joined host
  });

  it('refuses a cluster without a platform, its own data root, and a host that joined another', async () => {
    await using first = tempDir('berth-join-first-');
    await using second = tempDir('berth-join-second-');
    await expect(resolvePlatformSettings({ dataRoot: join(second.path, 'x'), join: join(first.path, 'none') })).rejects.toThrow(
      `Cannot join the cluster of "${join(first.path, 'none')}": no platform there`,
    );
    expect(existsSync(join(second.path, 'x'))).toBe(false);
    await expect(resolvePlatformSettings({ dataRoot: first.path, join: first.path })).rejects.toThrow('it is this host\'s own data root');
    writeFileSync(join(first.path, 'platform.json'), JSON.stringify({ cluster: '/elsewhere' }));
    await expect(resolvePlatformSettings({ dataRoot: second.path, join: first.path })).rejects.toThrow('that host joined "/elsewhere" itself: join that one');
  });
});
