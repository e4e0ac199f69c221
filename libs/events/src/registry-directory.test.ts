import type { NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNatsFixture, type NatsFixture } from '@berth/testing';
import { RegistryDirectory, registryKey } from './index.js';

describe('RegistryDirectory on a real nats-server', () => {
  let fixture: NatsFixture;
  let nc: NatsConnection;

  beforeAll(async () => {
    fixture = await startNatsFixture();
    nc = fixture.nc;
  });
  afterAll(() => fixture?.stop());

  it('keeps announcements, picks the newest with an admin address, and forgets withdrawn ones', async () => {
    const directory = new RegistryDirectory(nc);
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
