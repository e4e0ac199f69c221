import { describe, expect, it } from 'vitest';
import { gate } from '@berth/testing';
import { TurnNotCome, Turns } from './turns.js';

describe('Turns', () => {
  it('runs one turn at a time, in the order asked, a failed turn ending its turn too', async () => {
    const turns = new Turns();
    const log: string[] = [];
    const first = gate();
    const a = turns.run(async () => {
      log.push('a starts');
      await first.promise;
      log.push('a ends');
      return 'a';
    });
    const b = turns.run(async () => {
      log.push('b');
      throw new Error('b failed');
    });
    const c = turns.run(async () => {
      log.push('c');
      return 'c';
    });
    await Promise.resolve();
    expect(log).toEqual(['a starts']);
    first.open();
    expect(await Promise.allSettled([a, b, c])).toEqual([
      { status: 'fulfilled', value: 'a' },
      { status: 'rejected', reason: new Error('b failed') },
      { status: 'fulfilled', value: 'c' },
    ]);
    expect(log).toEqual(['a starts', 'a ends', 'b', 'c']);
  });

  it('gives up a turn that waited too long without running it; the turns after it still wait for the one that held them', async () => {
    const turns = new Turns();
    const held = gate();
    const log: string[] = [];
    const holder = turns.run(async () => {
      await held.promise;
      log.push('holder');
    });
    const impatient = turns.run(async () => log.push('impatient'), { ms: 20, message: 'held too long' });
    const patient = turns.run(async () => log.push('patient'));
    await expect(impatient).rejects.toEqual(new TurnNotCome('held too long'));
    expect(log).toEqual([]);
    held.open();
    await Promise.all([holder, patient]);
    expect(log).toEqual(['holder', 'patient']);
  });
});
