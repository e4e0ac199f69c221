import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConflictError } from '@berth/errors';
import { useNatsClusterFixture } from '@berth/testing';
import { ComposeProjectStore } from './compose-projects.js';
import { useNatsFixture } from './test-support.js';

const declaration = (name: string, updatedBy: string) => ({ name, modelJson: '{}', state: 'running', updatedBy, revision: 0, updatedAt: '' });

describe('ComposeProjectStore on a real nats-server', () => {
  const fixture = useNatsFixture();

  it('writes over an expected revision only (0: only when there is none, a deleted project included)', async () => {
    const store = new ComposeProjectStore(fixture.nc);
    const first = await store.put(declaration('web', 'a'), 0);
    await expect(store.put(declaration('web', 'b'), 0)).rejects.toThrow(new ConflictError(`project "web" was changed meanwhile (expected revision 0, found ${first.revision})`));
    const second = await store.put(declaration('web', 'c'), first.revision);
    expect(second.revision).toBeGreaterThan(first.revision);
    await expect(store.put(declaration('web', 'd'), first.revision)).rejects.toBeInstanceOf(ConflictError);
    expect(await store.get('web')).toMatchObject({ updatedBy: 'c', revision: second.revision });
    // Without an expected revision: written whatever is there.
    expect((await store.put(declaration('web', 'e'))).revision).toBeGreaterThan(second.revision);
    await store.delete('web');
    expect(await store.put(declaration('web', 'f'), 0)).toMatchObject({ updatedBy: 'f' });
  });
});

/**
 * Two gateways' `compose up -d` of one project at the same moment, each naming the revision both
 * read, on a NATS cluster of three with each gateway on its own server: nats-server 2.9.10 let
 * both `kv.update`s through (nats-io/nats-server#4320), one declaration lost without a conflict.
 */
describe('ComposeProjectStore on a NATS cluster of three', () => {
  // The bucket made first (as a gateway's start does), and a write through each server.
  const cluster = useNatsClusterFixture((nc) => new ComposeProjectStore(nc).put(declaration('warm-up', 'test')));

  it('lets one of two writes naming one revision through, round after round', async () => {
    const a = new ComposeProjectStore(cluster.nc);
    const b = new ComposeProjectStore(cluster.other);
    const name = `app-${randomBytes(4).toString('hex')}`;
    let revision = 0;
    for (let round = 1; round <= 40; round++) {
      const writes = await Promise.allSettled([a.put(declaration(name, `a${round}`), revision), b.put(declaration(name, `b${round}`), revision)]);
      const written = writes.filter((w) => w.status === 'fulfilled');
      expect(written.length, `round ${round} of 40`).toBe(1);
      expect(writes.find((w) => w.status === 'rejected')?.reason).toBeInstanceOf(ConflictError);
      const stored = await a.get(name);
      expect(stored.updatedBy).toBe(written[0]!.value.updatedBy);
      revision = stored.revision;
    }
  }, 120_000);
});
