import { describe, expect, it } from 'vitest';
import { mountOwner } from './mount-owner.js';

const expand = (word: string) => word.replace('$MODE', '0640').replace('$UID', '1000');

describe('mountOwner', () => {
  it('reads mode (octal), uid and gid, variables expanded; absent ones take the defaults', () => {
    const cache = { type: 'cache' as const, mode: '$MODE', uid: '$UID' };
    expect(mountOwner(cache, { defaultMode: 0o755, expand })).toEqual({ mode: 0o640, uid: 1000, gid: 0 });
    expect(mountOwner({ type: 'secret' }, { defaultMode: 0o400, expand })).toEqual({ mode: 0o400, uid: 0, gid: 0 });
  });

  it('names the mount kind and quotes a bad value', () => {
    expect(() => mountOwner({ type: 'secret', mode: '999' }, { defaultMode: 0o400, expand })).toThrow(
      'Invalid secret mount mode "999": expected an octal mode like 0400',
    );
    expect(() => mountOwner({ type: 'cache', gid: 'staff' }, { defaultMode: 0o755, expand })).toThrow(
      'Invalid cache mount gid "staff": expected a number',
    );
  });
});
