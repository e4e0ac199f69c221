/** Helpers for this app's tests (not imported by the app). */
import type { NatsConnection } from 'nats';
import { afterAll, beforeAll } from 'vitest';
import { startNatsFixture, type NatsFixture } from '@berth/testing';

/**
 * One real nats-server with two connections to it, as two gateways of a cluster have, for the
 * enclosing describe's tests: started before them, stopped (connections closed, directory removed)
 * after them. `nc` and `other` are set once the server is up.
 */
export function useTwoGatewaysNats(): { nc: NatsConnection; other: NatsConnection } {
  const t = {} as { nc: NatsConnection; other: NatsConnection };
  let fixture: NatsFixture | undefined;
  beforeAll(async () => {
    fixture = await startNatsFixture();
    t.nc = fixture.nc;
    t.other = await fixture.connect();
  });
  afterAll(() => fixture?.stop());
  return t;
}
