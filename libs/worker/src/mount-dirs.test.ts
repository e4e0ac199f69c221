import { describe, expect, it } from 'vitest';
import { snapshotDirs } from './mount-dirs.js';

describe('snapshotDirs', () => {
  it('reads the upper and lower dirs of an overlay, relative ones against its cwd', () => {
    expect(snapshotDirs([{ type: 'overlay', source: 'overlay', options: ['lowerdir=/s/2/fs:/s/1/fs', 'upperdir=/s/3/fs', 'workdir=/s/3/work'] }])).toEqual({
      upper: '/s/3/fs',
      lowers: ['/s/2/fs', '/s/1/fs'],
    });
    expect(snapshotDirs([{ type: 'overlay', source: 'overlay', options: ['lowerdir=2/fs:1/fs', 'upperdir=/s/3/fs', 'workdir=/s/3/work'], cwd: '/s' }])).toEqual({
      upper: '/s/3/fs',
      lowers: ['/s/2/fs', '/s/1/fs'],
    });
  });

  it('takes a writable bind as a snapshot without parents and refuses views', () => {
    expect(snapshotDirs([{ type: 'bind', source: '/s/1/fs', options: ['rbind', 'rw'] }])).toEqual({ upper: '/s/1/fs', lowers: [] });
    expect(() => snapshotDirs([{ type: 'bind', source: '/s/1/fs', options: ['rbind', 'ro'] }])).toThrow(
      'Expected the mount of an active snapshot, got a read-only bind of "/s/1/fs"',
    );
    expect(() => snapshotDirs([{ type: 'overlay', source: 'overlay', options: ['lowerdir=/a:/b', 'ro'] }])).toThrow(
      'Expected the mount of an active snapshot, got an overlay without upperdir',
    );
  });
});
