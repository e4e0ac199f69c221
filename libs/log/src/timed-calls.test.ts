import { describe, expect, it } from 'vitest';
import { timedCalls } from './timed-calls.js';

class Counter {
  count = 0;
  add(n: number): number {
    this.count += n;
    return this.count;
  }
  async later(n: number): Promise<number> {
    await new Promise<void>((resolve) => setImmediate(resolve));
    return this.add(n);
  }
}

describe('timedCalls', () => {
  it('records each call once it returns, a promise once it settles; calls inside the target are not counted', async () => {
    const calls: string[] = [];
    const counter = timedCalls(new Counter(), (method, ms) => {
      expect(ms).toBeGreaterThanOrEqual(0);
      calls.push(method);
    });
    expect(counter.add(2)).toBe(2);
    const pending = counter.later(3);
    expect(calls).toEqual(['add']);
    expect(await pending).toBe(5);
    expect(calls).toEqual(['add', 'later']);
    expect(counter.count).toBe(5);
  });

  it('records a rejected promise too, and leaves the rejection to the caller', async () => {
    const calls: string[] = [];
    const target = { fail: () => Promise.reject(new Error('no')) };
    await expect(timedCalls(target, (method) => calls.push(method)).fail()).rejects.toThrow('no');
    expect(calls).toEqual(['fail']);
  });

  it('with promisesOnly, passes the calls that return no promise untimed', async () => {
    const calls: string[] = [];
    const counter = timedCalls(new Counter(), (method) => calls.push(method), { promisesOnly: true });
    counter.add(1);
    await counter.later(1);
    expect(calls).toEqual(['later']);
  });
});
