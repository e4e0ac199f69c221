/** Helpers for this library's tests (not exported from index.ts). */
import type { NatsConnection } from 'nats';
import { afterAll, beforeAll } from 'vitest';
import { startNatsFixture, type NatsFixture } from '@berth/testing';

/**
 * A real nats-server and a connection to it for the enclosing describe's tests: started before
 * them, stopped (its directory removed) after them. `nc` is set once the server is up.
 */
export function useNatsFixture(): { nc: NatsConnection } {
  const t = {} as { nc: NatsConnection };
  let fixture: NatsFixture | undefined;
  beforeAll(async () => {
    fixture = await startNatsFixture();
    t.nc = fixture.nc;
  });
  afterAll(() => fixture?.stop());
  return t;
}
