import { describe, expect, it } from 'vitest';
import { KeyedMutex } from './keyed-mutex.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('KeyedMutex', () => {
  it('serializes one key and lets other keys run, even after a failure', async () => {
    const mutex = new KeyedMutex();
    const order: string[] = [];
    const a1 = mutex.run('a', async () => {
      order.push('a1 start');
      await sleep(30);
      order.push('a1 end');
      throw new Error('boom');
    });
    const a2 = mutex.run('a', async () => {
      order.push('a2');
      return 2;
    });
    const b = mutex.run('b', async () => {
      order.push('b');
    });
    await expect(a1).rejects.toThrow('boom');
    expect(await a2).toBe(2);
    await b;
    expect(order).toEqual(['a1 start', 'b', 'a1 end', 'a2']);
  });
});
