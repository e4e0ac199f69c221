import { describe, expect, it } from 'vitest';
import type { ClusterStore, NodeRecord } from '@berth/events';
import { silentLogger } from '@berth/log';
import type { ClusterRouter } from './cluster-router.js';
import { NodeKeeper } from './node-keeper.js';
import { waitUntil } from '@berth/testing';
import type { AgentAnnouncement } from '@berth/proto';

/** A keeper over an in-memory record store (no ticks: only update and setDrain are exercised). */
function keeper() {
  const saved: NodeRecord[] = [];
  const drains: string[] = [];
  const store = {
    changeNode: async (_id: string, change: (r?: NodeRecord) => NodeRecord | undefined) => {
      const next = change(saved.at(-1));
      if (next) saved.push(next);
      return next;
    },
  } as unknown as ClusterStore;
  const router = {} as ClusterRouter;
  const k = new NodeKeeper(router, store, { onDown: async () => {}, onUp: async () => {}, onDrain: (id) => void drains.push(id) }, silentLogger);
  return { k, saved, drains };
}

const node = (o: Partial<NodeRecord> = {}): NodeRecord => ({ hostId: 'h2', hostname: 'node-2', availability: 'active', labelOverrides: {}, lastSeen: 1, status: 'ready', ...o });

describe('NodeKeeper drains', () => {
  it('starts a drain when a node becomes drain, once, and keeps its progress until it leaves drain', async () => {
    const { k, saved, drains } = keeper();
    saved.push(node());
    await k.update('h2', (r) => ({ ...r, availability: 'drain' }));
    expect(drains).toEqual(['h2']);
    expect(saved.at(-1)?.drain).toMatchObject({ state: 'draining', moved: 0, staying: [] });
    await k.setDrain('h2', { state: 'incomplete', moved: 1, staying: [{ id: 'c', name: 'db', reason: 'no node fits' }], updatedAt: 2 });
    // A label change while draining keeps the drain and does not start another.
    await k.update('h2', (r) => ({ ...r, labelOverrides: { a: 'b' } }));
    expect(drains).toEqual(['h2']);
    expect(k.nodes()[0]!.record.drain?.state).toBe('incomplete');
    await k.update('h2', (r) => ({ ...r, availability: 'active' }));
    expect(k.nodes()[0]!.record.drain).toBeUndefined();
    // A drain still running when the node left drain does not write its progress back.
    await k.setDrain('h2', { state: 'drained', moved: 2, staying: [], updatedAt: 3 });
    expect(k.nodes()[0]!.record.drain).toBeUndefined();
    expect(saved.at(-1)?.availability).toBe('active');
  });
});

describe('NodeKeeper without the lease', () => {
  it('writes a node change but leaves starting the drain to the lease holder', async () => {
    const saved: NodeRecord[] = [node()];
    const drains: string[] = [];
    const store = { changeNode: async (_id: string, change: (r?: NodeRecord) => NodeRecord | undefined) => change(saved.at(-1)) } as unknown as ClusterStore;
    const k = new NodeKeeper({} as ClusterRouter, store, { onDown: async () => {}, onUp: async () => {}, onDrain: (id) => void drains.push(id) }, silentLogger, { held: () => false });
    const written = await k.update('h2', (r) => ({ ...r, availability: 'drain' }));
    expect(written.drain?.state).toBe('draining');
    expect(drains).toEqual([]);
    await expect(new NodeKeeper({} as ClusterRouter, { changeNode: async () => undefined } as unknown as ClusterStore, { onDown: async () => {}, onUp: async () => {}, onDrain: () => {} }, silentLogger).update('nope', (r) => r)).rejects.toThrow('No such node: nope');
  });
});

describe('NodeKeeper.refresh', () => {
  const events = { onDown: async () => {}, onUp: async () => {}, onDrain: () => {} };

  it("reads a node's record now, so a placement sees another gateway's change made a moment ago", async () => {
    let stored = node({ availability: 'drain' });
    const store = { node: async () => stored, changeNode: async (_id: string, change: (r?: NodeRecord) => NodeRecord | undefined) => (stored = change(stored)!) } as unknown as ClusterStore;
    const k = new NodeKeeper({} as ClusterRouter, store, events, silentLogger);
    await k.update('h2', (r) => r); // cached: drain
    expect(k.availability('h2')).toBe('drain');
    stored = node({ availability: 'active' }); // another gateway's `node update`
    expect(k.availability('h2')).toBe('drain');
    await k.refresh(['h2']);
    expect(k.availability('h2')).toBe('active');
  });

  it('does not hold a placement up when NATS does not answer', async () => {
    const store = { node: () => new Promise(() => {}), changeNode: async () => node() } as unknown as ClusterStore;
    const k = new NodeKeeper({} as ClusterRouter, store, events, silentLogger);
    await k.update('h2', (r) => r);
    const started = Date.now();
    await k.refresh(['h2']);
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(k.availability('h2')).toBe('active');
  });
});

describe('NodeKeeper with a host back that cannot be recorded', () => {
  it('routes to a down host whose agent answers again while NATS refuses its record, and settles it once the record is written', async () => {
    const host = { hostId: 'h2', hostname: 'node-2', address: 'unix:/agent.sock', startedAt: 2 } as AgentAnnouncement;
    let stored = node({ status: 'down' });
    let refuse = true;
    const ups: string[] = [];
    const store = {
      nodes: async () => [stored],
      node: async () => stored,
      changeNode: async (_id: string, change: (r?: NodeRecord) => NodeRecord | undefined) => {
        if (refuse) throw new Error('write …/KV_cluster/msgs/1.blk: no space left on device');
        return (stored = change(stored)!);
      },
    } as unknown as ClusterStore;
    const answering = { makeUnaryRequest: (...args: unknown[]) => (args.at(-1) as (err: null) => void)(null) };
    const router = { announced: async () => [host], client: () => answering } as unknown as ClusterRouter;
    const k = new NodeKeeper(router, store, { onDown: async () => {}, onUp: async (h) => void ups.push(h.hostId), onDrain: () => {} }, silentLogger);
    expect(router.isDown('h2')).toBe(false); // nothing read yet
    k.start();
    try {
      await waitUntil('the down record read', () => k.nodes().some((n) => n.record.status === 'down'));
      await waitUntil('the host answering routed to', () => !router.isDown('h2'));
      expect(stored.status).toBe('down');
      expect(ups).toEqual([]);
      refuse = false;
      await waitUntil('the ready record written', () => stored.status === 'ready');
      await waitUntil('the host settled as back', () => ups.length > 0);
      expect(ups).toEqual(['h2']);
      expect(router.isDown('h2')).toBe(false);
    } finally {
      k.close();
    }
  });
});

describe('NodeKeeper with a host that announces itself again during a tick', () => {
  it('does not record down a host that announced itself again while the tick read the records (its agent restarted, calls reach it)', async () => {
    const host = { hostId: 'h2', hostname: 'node-2', address: 'unix:/agent.sock', startedAt: 2 } as AgentAnnouncement;
    let stored = node();
    const written: string[] = [];
    const downs: string[] = [];
    // Withdrawn when its agent stopped; announced again by the new agent while the tick's read of
    // the records (slow: NATS just restarted) is under way.
    let announced = false;
    let reads = 0;
    const store = {
      nodes: async () => [stored],
      node: async () => {
        reads++;
        announced = true;
        await new Promise((r) => setTimeout(r, 50));
        return stored;
      },
      changeNode: async (_id: string, change: (r?: NodeRecord) => NodeRecord | undefined) => {
        const next = change(stored);
        if (next) written.push((stored = next).status);
        return next;
      },
    } as unknown as ClusterStore;
    const answering = { makeUnaryRequest: (...args: unknown[]) => (args.at(-1) as (err: null) => void)(null) };
    const router = { announced: async () => (announced ? [host] : []), client: () => answering } as unknown as ClusterRouter;
    const k = new NodeKeeper(router, store, { onDown: async (id) => void downs.push(id), onUp: async () => {}, onDrain: () => {} }, silentLogger);
    k.start();
    try {
      await waitUntil('two ticks', () => reads >= 2);
      expect(written).not.toContain('down');
      expect(downs).toEqual([]);
      expect(router.isDown('h2')).toBe(false);
    } finally {
      k.close();
    }
  });
});

describe('NodeKeeper with a host recorded down that is still announced', () => {
  it('keeps it down while its agent does not answer, and records it ready once a probe succeeds', async () => {
    const host = { hostId: 'h2', hostname: 'node-2', address: 'unix:/agent.sock', startedAt: 2 } as AgentAnnouncement;
    let stored = node({ status: 'down' });
    const written: string[] = [];
    const ups: string[] = [];
    let probes = 0;
    let answers = false;
    const store = {
      nodes: async () => [stored],
      node: async () => stored,
      changeNode: async (_id: string, change: (r?: NodeRecord) => NodeRecord | undefined) => {
        const next = change(stored);
        if (next) written.push((stored = next).status);
        return next;
      },
    } as unknown as ClusterStore;
    // Its agent is dead (every probe fails) while its announcement is still served.
    const agent = {
      makeUnaryRequest: (...args: unknown[]) => {
        probes++;
        (args.at(-1) as (err: Error | null) => void)(answers ? null : Object.assign(new Error('14 UNAVAILABLE: No connection established'), { code: 14 }));
      },
    };
    const router = { announced: async () => [host], client: () => agent } as unknown as ClusterRouter;
    const k = new NodeKeeper(router, store, { onDown: async () => {}, onUp: async (h) => void ups.push(h.hostId), onDrain: () => {} }, silentLogger);
    k.start();
    try {
      // The first tick (the lease just gained, no failure counted) and the next ones.
      await waitUntil('three probes', () => probes >= 3);
      expect(written).toEqual([]);
      expect(ups).toEqual([]);
      expect(router.isDown('h2')).toBe(true);
      answers = true;
      await waitUntil('the ready record written', () => stored.status === 'ready');
      await waitUntil('the host settled as back', () => ups.length > 0);
      expect(written).toEqual(['ready']);
    } finally {
      k.close();
    }
  });
});
