import { writeFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '@berth/testing';
import { parseArgs } from './flags.js';
import { effectiveCaps, securityFlags, securitySpecFields } from './security-flags.js';

const fields = (argv: string[]) => securitySpecFields(parseArgs(securityFlags, [...argv, 'img']).values, (m) => new Error(m));
const dir = tempDir('berth-secflags-');
afterAll(() => dir.remove());

describe('securitySpecFields (docker run security flags)', () => {
  it('sends nothing without flags', () => {
    expect(fields([])).toEqual({ security: undefined });
  });

  it('sends privileged, read-only and normalised capabilities', () => {
    expect(fields(['--privileged', '--read-only', '--cap-add', 'net_admin', '--cap-drop', 'NET_RAW', '--cap-drop', 'cap_chown'])).toEqual({
      security: { privileged: true, readOnly: true, capAdd: ['CAP_NET_ADMIN'], capDrop: ['CAP_CHOWN', 'CAP_NET_RAW'], securityOpt: [] },
    });
  });

  it('keeps security options and sends a seccomp profile file as compact JSON', () => {
    const file = `${dir.path}/profile.json`;
    writeFileSync(file, '{\n  "defaultAction": "SCMP_ACT_ALLOW",\n  "syscalls": []\n}\n');
    expect(fields(['--security-opt', 'no-new-privileges', '--security-opt', `seccomp=${file}`, '--security-opt', 'seccomp=unconfined']).security!.securityOpt).toEqual([
      'no-new-privileges',
      'seccomp={"defaultAction":"SCMP_ACT_ALLOW","syscalls":[]}',
      'seccomp=unconfined',
    ]);
  });

  it("refuses what the docker CLI refuses, with its messages", () => {
    expect(() => fields(['--security-opt', 'foo'])).toThrow('Invalid --security-opt: "foo"');
    expect(() => fields(['--security-opt', 'apparmor='])).toThrow('Invalid --security-opt: "apparmor="');
    expect(() => fields(['--security-opt', `seccomp=${dir.path}/missing.json`])).toThrow(
      `opening seccomp profile (${dir.path}/missing.json) failed: open ${dir.path}/missing.json: no such file or directory`,
    );
    writeFileSync(`${dir.path}/bad.json`, '{ nope');
    expect(() => fields(['--security-opt', `seccomp=${dir.path}/bad.json`])).toThrow(/^compacting json for seccomp profile \(.*bad.json\) failed: /);
  });
});

describe('effectiveCaps (docker opts.EffectiveCapAddCapDrop)', () => {
  it('upper-cases, prefixes CAP_, sorts, lets ALL stand alone and an added cap win over a dropped one', () => {
    expect(effectiveCaps(['sys_time', 'CAP_KILL'], ['kill', 'Net_Raw'])).toEqual({ capAdd: ['CAP_KILL', 'CAP_SYS_TIME'], capDrop: ['CAP_NET_RAW'] });
    expect(effectiveCaps(['all', 'net_admin'], ['ALL'])).toEqual({ capAdd: ['ALL'], capDrop: [] });
    expect(effectiveCaps(['net_admin'], ['all'])).toEqual({ capAdd: ['CAP_NET_ADMIN'], capDrop: ['ALL'] });
  });
});
