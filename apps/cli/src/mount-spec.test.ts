import { describe, expect, it } from 'vitest';
import { absoluteBind, mountSpecFields, parseMountFlag, parseTmpfsFlags } from './mount-spec.js';

describe('--mount', () => {
  it('parses docker\'s key=value fields', () => {
    expect(parseMountFlag('type=bind,source=/srv,target=/data,readonly,bind-propagation=rshared')).toEqual({
      type: 'bind',
      source: '/srv',
      target: '/data',
      readOnly: true,
      bindPropagation: 'rshared',
      volumeNoCopy: false,
      volumeLabels: {},
      tmpfsSizeBytes: 0,
      tmpfsMode: 0,
    });
    expect(parseMountFlag('type=volume,src=data,dst=/d,ro=false,volume-nocopy,volume-label=a=b')).toMatchObject({
      type: 'volume',
      source: 'data',
      target: '/d',
      readOnly: false,
      volumeNoCopy: true,
      volumeLabels: { a: 'b' },
    });
    expect(parseMountFlag('type=tmpfs,destination=/t,tmpfs-size=64m,tmpfs-mode=1770')).toMatchObject({
      type: 'tmpfs',
      target: '/t',
      tmpfsSizeBytes: 64 * 1024 * 1024,
      tmpfsMode: 0o1770,
    });
  });

  it('refuses malformed values with docker\'s messages', () => {
    expect(() => parseMountFlag('source=/x,target=/y')).toThrow('type is required');
    expect(() => parseMountFlag('type=bind,source=/x')).toThrow('target is required');
    expect(() => parseMountFlag('type=bind,foo=1,target=/y')).toThrow("unexpected key 'foo' in 'foo=1'");
    expect(() => parseMountFlag('type=bind,target')).toThrow("invalid field 'target' must be a key=value pair");
    expect(() => parseMountFlag('type=bind,target=/y,volume-nocopy')).toThrow("cannot mix 'volume-*' options with mount type 'bind'");
    expect(() => parseMountFlag('type=tmpfs,target=/y,tmpfs-mode=9')).toThrow('invalid value for tmpfs-mode: 9');
  });

  it('builds the spec fields and reports a bad --mount as a flag error', () => {
    expect(
      mountSpecFields({ volume: ['data:/data'], mount: [], tmpfs: ['/run', '/tmp:size=1m,exec'], 'volumes-from': ['web:ro'] }, (m) => new Error(m)),
    ).toEqual({ binds: ['data:/data'], mounts: [], tmpfs: { '/run': '', '/tmp': 'size=1m,exec' }, volumesFrom: ['web:ro'] });
    expect(() => mountSpecFields({ mount: ['type=bind'] }, (m) => new Error(m))).toThrow('invalid argument "type=bind" for "--mount" flag: target is required');
    expect(parseTmpfsFlags([])).toEqual({});
  });

  it('makes -v sources starting with . absolute, as docker 23+ does', () => {
    expect(absoluteBind('./data:/data:ro', '/home/me')).toBe('/home/me/data:/data:ro');
    expect(absoluteBind('..:/up', '/home/me')).toBe('/home:/up');
    expect(absoluteBind('data:/data', '/home/me')).toBe('data:/data');
    expect(absoluteBind('/abs:/x', '/home/me')).toBe('/abs:/x');
    expect(absoluteBind('.hidden', '/home/me')).toBe('.hidden');
  });
});
