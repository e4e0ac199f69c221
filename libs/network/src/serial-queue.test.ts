import { describe, expect, it } from 'vitest';
import { gate } from '@berth/testing';
import { SerialQueue } from './serial-queue.js';

describe('SerialQueue', () => {
  it('runs operations one at a time, in the order asked, past a failure', async () => {
    const q = new SerialQueue();
    const log: string[] = [];
    const first = gate();
    const a = q.run(async () => {
      log.push('a start');
      await first.promise;
      log.push('a end');
    });
    const b = q.run(async () => {
      log.push('b');
      throw new Error('b failed');
    });
    const c = q.run(async () => log.push('c'));
    await Promise.resolve();
    expect(log).toEqual(['a start']);
    first.open();
    await a;
    await expect(b).rejects.toThrow('b failed');
    await c;
    expect(log).toEqual(['a start', 'a end', 'b', 'c']);
  });

  it('gathers the items that arrive while their batch waits, and answers each with its own failure', async () => {
    const q = new SerialQueue();
    const busy = gate();
    const running = q.run(() => busy.promise);
    const batches: string[][] = [];
    const runBatch = async (items: string[]) => {
      batches.push([...items]);
      return new Map<string, unknown>(items.filter((i) => i === 'bad').map((i) => [i, new Error(`${i} failed`)]));
    };
    const results = ['x', 'bad', 'y'].map((i) => q.batch(i, runBatch));
    busy.open();
    await running;
    await results[0];
    await expect(results[1]).rejects.toThrow('bad failed');
    await results[2];
    expect(batches).toEqual([['x', 'bad', 'y']]);
  });

  it('never lets a batch overtake what was queued after it, nor grow once it runs', async () => {
    const q = new SerialQueue();
    const log: string[] = [];
    const hold = gate();
    const runBatch = async (items: string[]) => {
      log.push(`batch ${items.join(',')}`);
      await hold.promise;
      return new Map<string, unknown>();
    };
    const busy = gate();
    const first = q.run(() => busy.promise);
    const s1 = q.batch('s1', runBatch);
    const other = q.run(async () => log.push('other'));
    const s2 = q.batch('s2', runBatch); // a new batch: `other` is queued between them
    busy.open();
    await first;
    await new Promise((resolve) => setImmediate(resolve));
    const s3 = q.batch('s3', runBatch); // s1's batch runs already: s3 joins s2's
    hold.open();
    await Promise.all([s1, other, s2, s3]);
    expect(log).toEqual(['batch s1', 'other', 'batch s2,s3']);
  });

  it('rejects every item of a batch that failed as a whole', async () => {
    const q = new SerialQueue();
    const runBatch = async (): Promise<Map<string, unknown>> => {
      throw new Error('ip is missing');
    };
    const [a, b] = [q.batch('a', runBatch), q.batch('b', runBatch)];
    await expect(a).rejects.toThrow('ip is missing');
    await expect(b).rejects.toThrow('ip is missing');
    await q.run(async () => undefined); // the queue goes on
  });
});
