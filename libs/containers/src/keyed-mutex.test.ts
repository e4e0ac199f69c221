import { describe, expect, it } from 'vitest';
import { KeyedMutex } from './keyed-mutex.js';

describe('KeyedMutex', () => {
  it('serializes one key and lets other keys run, even after a failure', { timeout: 5_000 }, async () => {
    const mutex = new KeyedMutex();
    const order: string[] = [];
    let finishA1!: () => void;
    const a1Holds = new Promise<void>((resolve) => (finishA1 = resolve));
    const a1 = mutex.run('a', async () => {
      order.push('a1 start');
      await a1Holds;
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
    await b; // would never settle if key "b" waited for a1, which holds "a" until told
    expect(order).toEqual(['a1 start', 'b']);
    finishA1();
    await expect(a1).rejects.toThrow('boom');
    expect(await a2).toBe(2);
    expect(order).toEqual(['a1 start', 'b', 'a1 end', 'a2']);
  });
});
