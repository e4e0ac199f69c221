import { describe, expect, it } from 'vitest';
import { checkSecurityOptions, parseSecurityOpts, securitySpecOptions } from './security-options.js';
import type { HostConfig } from './types.js';

describe('parseSecurityOpts (Docker --security-opt)', () => {
  it('reads no-new-privileges, seccomp and ignores apparmor and label with a warning', () => {
    expect(parseSecurityOpts([])).toEqual({ warnings: [] });
    expect(parseSecurityOpts(['no-new-privileges'])).toEqual({ noNewPrivileges: true, warnings: [] });
    expect(parseSecurityOpts(['no-new-privileges=false'])).toEqual({ noNewPrivileges: false, warnings: [] });
    expect(parseSecurityOpts(['no-new-privileges:true'])).toEqual({ noNewPrivileges: true, warnings: [] });
    expect(parseSecurityOpts(['seccomp=unconfined']).seccomp).toBe('unconfined');
    expect(parseSecurityOpts(['seccomp=builtin']).seccomp).toBe('default');
    expect(parseSecurityOpts(['seccomp={"defaultAction":"SCMP_ACT_ALLOW"}']).seccomp).toEqual({ defaultAction: 'SCMP_ACT_ALLOW' });
    expect(parseSecurityOpts(['apparmor=unconfined', 'label=disable', 'label:type:svirt_apache_t']).warnings).toEqual([
      'Security option "apparmor=unconfined" ignored: Berth does not apply AppArmor profiles',
      'Security option "label=disable" ignored: Berth does not apply SELinux labels',
      'Security option "label:type:svirt_apache_t" ignored: Berth does not apply SELinux labels',
    ]);
  });

  it("refuses unknown options with Docker's messages", () => {
    expect(() => parseSecurityOpts(['foo'])).toThrow('invalid --security-opt 1: "foo"');
    expect(() => parseSecurityOpts(['foo=bar'])).toThrow('invalid --security-opt 2: "foo=bar"');
    expect(() => parseSecurityOpts(['no-new-privileges=maybe'])).toThrow('invalid --security-opt 2: "no-new-privileges=maybe"');
    expect(() => parseSecurityOpts(['seccomp={nope'])).toThrow(/^Decoding seccomp profile failed: /);
    expect(() => parseSecurityOpts(['seccomp=[]'])).toThrow('Decoding seccomp profile failed: "defaultAction" must be a string such as "SCMP_ACT_ERRNO"');
  });
});

describe('checkSecurityOptions', () => {
  it('checks capability names as Docker does and returns the warnings', () => {
    expect(checkSecurityOptions({ capAdd: ['net_admin'], capDrop: ['ALL'], securityOpt: ['apparmor=x'] })).toHaveLength(1);
    expect(() => checkSecurityOptions({ capDrop: ['NET_RAWW'] })).toThrow('unknown capability: "CAP_NET_RAWW"');
  });
});

describe('securitySpecOptions', () => {
  it('maps the recorded HostConfig to the runtime spec options', () => {
    const host = { Privileged: false, CapAdd: ['NET_ADMIN'], CapDrop: null, ReadonlyRootfs: true, SecurityOpt: ['seccomp=unconfined', 'no-new-privileges=false'] };
    expect(securitySpecOptions(host as HostConfig)).toEqual({
      privileged: false,
      capAdd: ['NET_ADMIN'],
      capDrop: [],
      readonlyRootfs: true,
      noNewPrivileges: false,
      seccomp: 'unconfined',
    });
    // Records made before security options existed: Docker's defaults.
    expect(securitySpecOptions({} as HostConfig)).toEqual({ privileged: false, capAdd: [], capDrop: [], readonlyRootfs: false });
  });
});
