import { describe, expect, it } from 'vitest';
import { hostDevices } from './host-devices.js';

describe('hostDevices', () => {
  it("lists the host's device nodes as a privileged container gets them", () => {
    const devices = hostDevices();
    expect(devices).toContainEqual(expect.objectContaining({ path: '/dev/null', type: 'c', major: 1, minor: 3, uid: 0, gid: 0 }));
    expect(devices.find((d) => d.path === '/dev/null')!.fileMode).toBe(0o666);
    expect(devices.some((d) => d.path.startsWith('/dev/pts/') || d.path.startsWith('/dev/shm/'))).toBe(false);
    expect(devices.some((d) => d.path === '/dev/console')).toBe(false);
  });

  it('gives nothing for a directory that does not exist', () => {
    expect(hostDevices('/nonexistent-dev')).toEqual([]);
  });
});
