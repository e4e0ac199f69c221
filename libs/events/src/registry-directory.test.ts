import { describe, expect, it } from 'vitest';
import { RegistryDirectory, registryKey } from './index.js';
import { useNatsFixture } from './test-support.js';

describe('RegistryDirectory on a real nats-server', () => {
  const fixture = useNatsFixture();

  it('keeps announcements, picks the newest with an admin address, and forgets withdrawn ones', async () => {
    const directory = new RegistryDirectory(fixture.nc);
    await expect(directory.first(0)).rejects.toThrow('No registry is running: start the platform with `berth platform up` (it runs one)');
    const base = { url: 'http://127.0.0.1:5000', version: '0.1.0', proxy: false };
    await directory.announce({ ...base, id: registryKey('host-a:5000'), grpcAddress: 'unix:/run/a.sock', startedAt: 1 });
    const withdrawB = await directory.keepAnnounced({ ...base, id: 'b', grpcAddress: 'unix:/run/b.sock', startedAt: 2 });
    await directory.announce({ ...base, id: 'c', grpcAddress: '', startedAt: 3 }); // no admin API
    expect((await directory.list()).map((r) => r.id).sort()).toEqual(['b', 'c', 'host-a_5000']);
    expect((await directory.first()).id).toBe('b');
    await withdrawB();
    expect((await directory.first()).id).toBe('host-a_5000');
  });
});
