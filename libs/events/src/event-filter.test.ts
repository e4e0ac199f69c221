import { describe, expect, it } from 'vitest';
import type { Event } from '@berth/proto';
import { EventFilter } from './event-filter.js';

const event = (type: string, action: string, id: string, attributes: Record<string, string> = {}): Event => ({
  type,
  action,
  actor: { id, attributes },
  scope: 'local',
  time: 0,
  timeNano: '0',
  host: 'h',
});

const start = event('container', 'start', 'c0ffee11', { name: 'web', image: 'busybox:latest', tier: 'front', env: 'prod' });
const connect = event('network', 'connect', 'beef22', { name: 'backend', type: 'bridge', container: 'c0ffee11' });
const pull = event('image', 'pull', 'busybox:latest', { name: 'busybox:latest' });
const exec = event('container', 'exec_start: sh -c true', 'c0ffee11', { name: 'web', image: 'busybox:latest' });
const mount = event('volume', 'mount', 'data', { container: 'c0ffee11', destination: '/data', driver: 'local' });

const pass = (filters: Array<[string, string]>, e: Event) => EventFilter.of(filters.map(([key, value]) => ({ key, value }))).includes(e);

describe('EventFilter (moby daemon/events/filter.go)', () => {
  it('type and event: exact, values of one key OR', () => {
    expect(pass([['type', 'network']], connect)).toBe(true);
    expect(pass([['type', 'network']], start)).toBe(false);
    expect(pass([['type', 'network'], ['type', 'container']], start)).toBe(true);
    expect(pass([['event', 'start']], start)).toBe(true);
    expect(pass([['event', 'star']], start)).toBe(false);
    expect(pass([['event', 'die'], ['event', 'start']], start)).toBe(true);
  });

  it('event: exec_start, exec_create and health_status also match with their detail', () => {
    expect(pass([['event', 'exec_start']], exec)).toBe(true);
    expect(pass([['event', 'exec_start: sh -c true']], exec)).toBe(true);
  });

  it('container, network, volume: the actor id by prefix or its name, for any event type', () => {
    expect(pass([['container', 'web']], start)).toBe(true);
    expect(pass([['container', 'c0f']], start)).toBe(true);
    expect(pass([['container', 'we']], start)).toBe(true);
    expect(pass([['container', 'db']], start)).toBe(false);
    // the network event of that container names the network: it is not the container's
    expect(pass([['container', 'web']], connect)).toBe(false);
    expect(pass([['network', 'backend']], connect)).toBe(true);
    expect(pass([['network', 'beef']], connect)).toBe(true);
    expect(pass([['network', 'front']], connect)).toBe(false);
    expect(pass([['volume', 'data']], mount)).toBe(true);
    expect(pass([['volume', 'other']], mount)).toBe(false);
  });

  it('image: the image event id or name, the container event image attribute, with or without tag', () => {
    expect(pass([['image', 'busybox']], start)).toBe(true);
    expect(pass([['image', 'busybox:latest']], start)).toBe(true);
    expect(pass([['image', 'busybox:1']], start)).toBe(false);
    expect(pass([['image', 'busybox']], pull)).toBe(true);
    expect(pass([['image', 'alpine']], pull)).toBe(false);
  });

  it('label: every label filter must be among the attributes (AND)', () => {
    expect(pass([['label', 'tier=front']], start)).toBe(true);
    expect(pass([['label', 'tier=front'], ['label', 'env=prod']], start)).toBe(true);
    expect(pass([['label', 'tier=front'], ['label', 'env=dev']], start)).toBe(false);
    expect(pass([['label', 'tier']], start)).toBe(true);
    expect(pass([['label', 'tier']], pull)).toBe(false);
  });

  it('scope: local', () => {
    expect(pass([['scope', 'local']], start)).toBe(true);
    expect(pass([['scope', 'swarm']], start)).toBe(false);
  });

  it('different keys AND', () => {
    expect(pass([['type', 'container'], ['event', 'start'], ['container', 'web']], start)).toBe(true);
    expect(pass([['type', 'container'], ['event', 'die'], ['container', 'web']], start)).toBe(false);
  });

  it("an unknown key is refused with Docker's message", () => {
    expect(() => EventFilter.of([{ key: 'foo', value: 'x' }])).toThrow("invalid filter 'foo'");
  });
});
