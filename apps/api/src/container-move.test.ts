import { describe, expect, it } from 'vitest';
import type { PlacementRecord } from '@berth/events';
import { CreateContainerRequest } from '@berth/proto';
import { isMovable, moveContainer, type MoveOps } from './container-move.js';

const record = (o: Partial<PlacementRecord> & { labels?: Record<string, string> } = {}): PlacementRecord => ({
  id: 'c1',
  name: 'web',
  hostId: 'h2',
  request: Buffer.from(CreateContainerRequest.encode(CreateContainerRequest.fromPartial({ spec: { name: 'web', image: 'busybox', labels: o.labels ?? {} } })).finish()).toString('base64'),
  restart: false,
  createdAt: 1,
  ...o,
});

/** MoveOps that record each step, failing the ones named in `fail`. */
function recordingOps(fail: string[] = []): MoveOps & { steps: string[] } {
  const steps: string[] = [];
  const step = (name: string) => async () => {
    steps.push(name);
    if (fail.includes(name)) throw new Error(`${name} failed`);
  };
  return {
    steps,
    place: async (_p, o) => (await step(o.replacing ? 'place-replacing' : 'place')(), { id: 'r1', hostId: 'h1', hostname: 'node-1' }),
    start: step('start'),
    ready: step('ready'),
    retire: step('retire'),
    discard: step('discard'),
    forget: step('forget'),
  };
}

describe('moveContainer', () => {
  it('stops and removes a running original only once its replacement is ready', async () => {
    const ops = recordingOps();
    const r = await moveContainer(record(), ops, 'running');
    expect(r.hostname).toBe('node-1');
    expect(ops.steps).toEqual(['place-replacing', 'start', 'ready', 'retire', 'forget']);
  });

  it('leaves the original as it was and removes the replacement when it does not get ready', async () => {
    const ops = recordingOps(['ready']);
    await expect(moveContainer(record(), ops, 'running')).rejects.toThrow('ready failed');
    expect(ops.steps).toEqual(['place-replacing', 'start', 'ready', 'discard']);
  });

  it('changes nothing when no node fits', async () => {
    const ops = recordingOps(['place-replacing']);
    await expect(moveContainer(record(), ops, 'running')).rejects.toThrow('place-replacing failed');
    expect(ops.steps).toEqual(['place-replacing']);
  });

  it('creates a stopped original\'s replacement without starting it', async () => {
    const ops = recordingOps();
    await moveContainer(record(), ops, 'stopped');
    expect(ops.steps).toEqual(['place-replacing', 'retire', 'forget']);
  });

  it('starts a lost host\'s container elsewhere without waiting or stopping anything', async () => {
    const ops = recordingOps();
    await moveContainer(record(), ops, 'lost');
    expect(ops.steps).toEqual(['place', 'start', 'forget']);
  });

  it('goes on from a replacement a cut-short move made: started (a no-op when it runs), waited for, then the original retired', async () => {
    const ops = recordingOps();
    const r = await moveContainer(record(), ops, 'running', { replacement: { id: 'r0', hostId: 'h3', hostname: 'node-3' } });
    expect(r).toEqual({ id: 'r0', hostId: 'h3', hostname: 'node-3' });
    expect(ops.steps).toEqual(['start', 'ready', 'retire', 'forget']);
  });
});

describe('isMovable', () => {
  it('is a restart policy or a Compose project label', () => {
    expect(isMovable(record({ restart: true }))).toBe(true);
    expect(isMovable(record({ labels: { 'com.docker.compose.project': 'app' } }))).toBe(true);
    expect(isMovable(record())).toBe(false);
    expect(isMovable(record({ request: '!!' }))).toBe(false);
  });

});
