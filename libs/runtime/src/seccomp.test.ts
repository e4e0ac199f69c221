import { describe, expect, it } from 'vitest';
import { defaultCapabilities } from './generate-spec.js';
import { compareKernel, convertSeccompProfile, dockerDefaultSeccompProfile } from './seccomp.js';

const has = (seccomp: ReturnType<typeof convertSeccompProfile>, name: string) =>
  seccomp.syscalls!.filter((s) => s.names.includes(name));

describe('convertSeccompProfile', () => {
  const profile = dockerDefaultSeccompProfile();
  const seccomp = convertSeccompProfile(profile, { goArch: 'amd64', capabilities: [...defaultCapabilities], kernel: '6.1.0' });

  it('keeps the default action and the x86_64 architectures', () => {
    expect(seccomp.defaultAction).toBe('SCMP_ACT_ERRNO');
    expect(seccomp.defaultErrnoRet).toBe(1);
    expect(seccomp.architectures).toEqual(['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']);
    expect(seccomp.syscalls!.every((s) => !('includes' in s) && !('excludes' in s) && !('comment' in s))).toBe(true);
  });

  it('includes entries by architecture and kernel version', () => {
    expect(has(seccomp, 'arch_prctl')).toHaveLength(1);
    expect(has(seccomp, 'modify_ldt')).toHaveLength(1);
    expect(has(seccomp, 's390_runtime_instr')).toHaveLength(0);
    expect(has(seccomp, 'ptrace')).toHaveLength(1);
    const old = convertSeccompProfile(profile, { goArch: 'amd64', capabilities: [...defaultCapabilities], kernel: '4.4.0' });
    expect(has(old, 'ptrace')).toHaveLength(0);
  });

  it('applies capability conditions: clone is restricted and clone3 returns ENOSYS without CAP_SYS_ADMIN', () => {
    expect(has(seccomp, 'mount')).toHaveLength(0);
    expect(has(seccomp, 'chroot')).toHaveLength(1); // CAP_SYS_CHROOT is a default capability
    const clone = has(seccomp, 'clone');
    expect(clone).toEqual([{ names: ['clone'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 2114060288, op: 'SCMP_CMP_MASKED_EQ' }] }]);
    expect(has(seccomp, 'clone3')).toEqual([{ names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 }]);

    const admin = convertSeccompProfile(profile, { goArch: 'amd64', capabilities: [...defaultCapabilities, 'CAP_SYS_ADMIN'], kernel: '6.1.0' });
    expect(has(admin, 'mount')).toHaveLength(1);
    expect(has(admin, 'clone').every((s) => s.args === undefined)).toBe(true);
    expect(has(admin, 'clone3').every((s) => s.action === 'SCMP_ACT_ALLOW')).toBe(true);
  });

  it('compares kernel versions numerically', () => {
    expect(compareKernel('6.18.44-fc', '4.8')).toBeGreaterThan(0);
    expect(compareKernel('4.8.0', '4.8')).toBe(0);
    expect(compareKernel('4.10', '4.8')).toBeGreaterThan(0);
  });
});
