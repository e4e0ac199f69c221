import { describe, expect, it } from 'vitest';
import { parseDevice, parseUlimit, validateSysctl } from './resource-flags.js';

describe("docker's parsers for --ulimit, --device, --sysctl", () => {
  it('--ulimit: name=soft[:hard], go-units messages', () => {
    expect(parseUlimit('nofile=100:200')).toEqual({ name: 'nofile', soft: 100, hard: 200 });
    expect(parseUlimit('nproc=5')).toEqual({ name: 'nproc', soft: 5, hard: 5 });
    expect(parseUlimit('core=-1:-1')).toEqual({ name: 'core', soft: -1, hard: -1 });
    expect(parseUlimit('nofile')).toBe('invalid ulimit argument: nofile');
    expect(parseUlimit('bogus=1')).toBe('invalid ulimit type: bogus');
    expect(parseUlimit('nofile=1:2:3')).toBe('too many limit value arguments - 1:2:3, can only have up to two, `soft[:hard]`');
    expect(parseUlimit('nofile=x')).toBe('strconv.ParseInt: parsing "x": invalid syntax');
    expect(parseUlimit('nofile=3:2')).toBe('ulimit soft limit must be less than or equal to hard limit: 3 > 2');
  });

  it('--device: HOST[:CONTAINER][:MODE]', () => {
    expect(parseDevice('/dev/fuse')).toEqual({ pathOnHost: '/dev/fuse', pathInContainer: '/dev/fuse', cgroupPermissions: 'rwm' });
    expect(parseDevice('/dev/fuse:r')).toEqual({ pathOnHost: '/dev/fuse', pathInContainer: '/dev/fuse', cgroupPermissions: 'r' });
    expect(parseDevice('/dev/sda:/dev/xvdc:rw')).toEqual({ pathOnHost: '/dev/sda', pathInContainer: '/dev/xvdc', cgroupPermissions: 'rw' });
    expect(parseDevice('/dev/sda:/dev/xvdc:rx')).toBe('bad mode specified: rx');
    expect(parseDevice('/dev/sda:xvdc')).toBe('xvdc is not an absolute path');
    expect(parseDevice(':/dev/x')).toBe('bad format for path: :/dev/x');
    expect(parseDevice('/a:/b:r:w')).toBe('bad format for path: /a:/b:r:w');
  });

  it('--sysctl: only namespaced parameters', () => {
    expect(validateSysctl('net.ipv4.ip_forward=1')).toBeUndefined();
    expect(validateSysctl('kernel.shmmax=1')).toBeUndefined();
    expect(validateSysctl('fs.mqueue.msg_max=10')).toBeUndefined();
    expect(validateSysctl('kernel.hostname=x')).toBe("sysctl 'kernel.hostname=x' is not allowed");
    expect(validateSysctl('net.core')).toBe("sysctl 'net.core' is not allowed");
  });
});
