import { describe, expect, it } from 'vitest';
import { parseBind, planMount, resolveMounts, sortMounts, withSystemMounts, type MountPoint, type VolumeSource } from './mounts.js';

/** An in-memory volume source: enough for the planning rules (real volumes: container-mounts.test.ts). */
function fakeVolumes(existing: string[] = []): VolumeSource & { names: Set<string>; anonymous: Set<string> } {
  const names = new Set(existing);
  const anonymous = new Set<string>();
  let n = 0;
  const volume = (name: string) => ({ Name: name, Mountpoint: `/vols/${name}/_data`, Driver: 'local' });
  return {
    names,
    anonymous,
    async create(name, options) {
      const actual = name ?? `anon${++n}`;
      names.add(actual);
      if (options?.anonymous) anonymous.add(actual);
      return volume(actual);
    },
    get: (name) => (names.has(name) ? volume(name) : undefined),
    acquire: async (name) => volume(name).Mountpoint,
    async remove(name) {
      names.delete(name);
    },
  };
}

const noContainers = { mountsOf: (c: string): MountPoint[] => { throw new Error(`No such container: ${c}`); } };

describe('parseBind (-v)', () => {
  it('reads named volumes, binds and anonymous volumes with their modes', () => {
    expect(parseBind('data:/data')).toMatchObject({ Type: 'volume', Name: 'data', Destination: '/data', RW: true, Mode: 'z', CopyData: true, Anonymous: false });
    expect(parseBind('data:/data:ro')).toMatchObject({ Type: 'volume', Name: 'data', RW: false, Mode: 'ro' });
    expect(parseBind('data:/data:nocopy')).toMatchObject({ CopyData: false });
    expect(parseBind('/srv/x/:/x:ro,rshared')).toMatchObject({ Type: 'bind', Source: '/srv/x/', Destination: '/x', RW: false, Propagation: 'rshared', CreateSource: true });
    expect(parseBind('/host:/h')).toMatchObject({ Type: 'bind', Propagation: 'rprivate', Mode: '' });
    expect(parseBind('/cache/')).toMatchObject({ Type: 'volume', Name: undefined, Destination: '/cache', Anonymous: true });
  });

  it("refuses what Docker refuses, with Docker's text", () => {
    expect(() => parseBind('/data:ro')).toThrow("invalid volume specification: '/data:ro'");
    expect(() => parseBind('a:b:c:d')).toThrow("invalid volume specification: 'a:b:c:d'");
    expect(() => parseBind('data:/data:rx')).toThrow('invalid mode: rx');
    expect(() => parseBind('data:/data:ro,rw')).toThrow('invalid mode: ro,rw');
    expect(() => parseBind('data:rel')).toThrow(
      `invalid volume specification: 'data:rel': invalid mount config for type "volume": invalid mount path: 'rel' mount path must be absolute`,
    );
    expect(() => parseBind('/h:/')).toThrow(`invalid volume specification: '/h:/': invalid mount config for type "bind": invalid specification: destination can't be '/'`);
  });
});

describe('planMount (--mount)', () => {
  it('refuses a bind whose source does not exist, and malformed mounts', () => {
    expect(() => planMount({ Type: 'bind', Source: '/no/such/dir', Target: '/x' })).toThrow(
      'invalid mount config for type "bind": bind source path does not exist: /no/such/dir',
    );
    expect(() => planMount({ Type: 'bind', Source: '', Target: '/x' })).toThrow('invalid mount config for type "bind": field Source must not be empty');
    expect(() => planMount({ Type: 'tmpfs', Source: 'x', Target: '/x' })).toThrow('invalid mount config for type "tmpfs": field Source must not be specified');
    expect(() => planMount({ Type: 'volume', Target: '' })).toThrow('invalid mount config for type "volume": field Target must not be empty');
    expect(() => planMount({ Type: 'npipe', Target: '/x' })).toThrow('mount type unknown: "npipe"');
  });

  it('makes tmpfs mounts with Docker defaults and the size and mode asked', () => {
    expect(planMount({ Type: 'tmpfs', Target: '/t', TmpfsOptions: { SizeBytes: 1 << 20, Mode: 0o700 } })).toMatchObject({
      Type: 'tmpfs',
      Destination: '/t',
      TmpfsOptions: ['noexec', 'nosuid', 'nodev', 'size=1024k', 'mode=700'],
    });
    expect(planMount({ Type: 'bind', Source: '/tmp', Target: '/t', ReadOnly: true })).toMatchObject({ Type: 'bind', Source: '/tmp', RW: false });
  });
});

describe('resolveMounts', () => {
  it('creates missing named volumes and anonymous ones for image VOLUMEs not mounted otherwise', async () => {
    const volumes = fakeVolumes(['existing']);
    const { points, created } = await resolveMounts(
      {
        binds: ['existing:/a', 'fresh:/b', '/host:/c'],
        tmpfs: { '/run/t': 'size=64k,exec' },
        imageVolumes: { '/b': {}, '/d/': {} },
      },
      { volumes, ...noContainers },
    );
    expect(points.map((p) => [p.Type, p.Destination, p.Name ?? p.Source])).toEqual([
      ['volume', '/a', 'existing'],
      ['volume', '/b', 'fresh'],
      ['bind', '/c', '/host'],
      ['tmpfs', '/run/t', ''],
      ['volume', '/d', 'anon1'],
    ]);
    expect(points[3]!.TmpfsOptions).toEqual(['exec', 'nosuid', 'nodev', 'size=64k']);
    expect(created).toEqual(['fresh', 'anon1']);
    expect([...volumes.anonymous]).toEqual(['anon1']);
    expect(points[1]!.Source).toBe('/vols/fresh/_data');
  });

  it('refuses a destination given twice, before creating any volume', async () => {
    const volumes = fakeVolumes();
    await expect(resolveMounts({ binds: ['v1:/data'], mounts: [{ Type: 'volume', Source: 'v2', Target: '/data/' }] }, { volumes, ...noContainers })).rejects.toThrow(
      'Duplicate mount point: /data',
    );
    expect(volumes.names.size).toBe(0);
  });

  it('takes the volumes and binds of --volumes-from containers, with their mode or the one asked', async () => {
    const other: MountPoint[] = [
      { Type: 'volume', Name: 'shared', Source: '/vols/shared/_data', Destination: '/s', Driver: 'local', Mode: 'z', RW: true, Propagation: '', Anonymous: true },
      { Type: 'tmpfs', Source: '', Destination: '/t', Mode: '', RW: true, Propagation: '' },
    ];
    const deps = { volumes: fakeVolumes(['shared']), mountsOf: () => other };
    const { points } = await resolveMounts({ volumesFrom: ['web:ro'] }, deps);
    expect(points).toEqual([{ ...other[0], RW: false, Mode: 'ro', CopyData: false, Anonymous: false }]);
    await expect(resolveMounts({ volumesFrom: ['web:rx'] }, deps)).rejects.toThrow('invalid mode: rx');
  });

  it('refuses volumes without a volume store', async () => {
    await expect(resolveMounts({ binds: ['x:/x'] }, noContainers)).rejects.toThrow('Cannot use volumes');
    // binds and tmpfs need none
    expect((await resolveMounts({ binds: ['/h:/h'], tmpfs: { '/t': '' } }, noContainers)).points).toHaveLength(2);
  });
});

describe('sortMounts / withSystemMounts', () => {
  it('mounts parents first and drops a system file the user mounts over', () => {
    const m = (destination: string) => ({ destination, type: 'bind', source: `/src${destination}`, options: [] });
    expect(sortMounts([m('/etc/x/y'), m('/etc'), m('/data'), m('/etc/x')]).map((x) => x.destination)).toEqual(['/etc', '/data', '/etc/x', '/etc/x/y']);
    expect(withSystemMounts([m('/etc'), m('/etc/hosts')], [m('/etc/hostname'), m('/etc/hosts')]).map((x) => x.source)).toEqual([
      '/src/etc',
      '/src/etc/hosts',
      '/src/etc/hostname',
    ]);
  });
});
