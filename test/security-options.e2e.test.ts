/**
 * The security options of `run` / `create` on real containers: `--cap-add/--cap-drop`,
 * `--read-only`, `--privileged` and `--security-opt`, through the CLI, the gateway, the agent and
 * runc, checked from inside the container (and in `inspect`). One platform for the file.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { platformForFile, removeAllContainers, tempDirForFile } from '@berth/testing';

const p = platformForFile();
const files = tempDirForFile('berth-secopt-');

afterEach(() => removeAllContainers(p)); // a failed test must not leave containers the next one counts

const run = (args: string[]) => p.berth(['run', '--rm', ...args]);

/** `berth run OPTIONS busybox true` fails as Docker's CLI does (status 125) and says `message`. */
async function expectRefused(options: string[], message: string): Promise<void> {
  const r = await p.berth(['run', ...options, 'busybox', 'true']);
  expect(r.code, r.stderr).toBe(125);
  expect(r.stderr).toContain(message);
}
const procStatus = async (args: string[], field: string) => {
  const r = await run([...args, 'busybox', 'grep', `^${field}:`, '/proc/self/status']);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout.trim().split(/\s+/)[1];
};

describe('--cap-add / --cap-drop', () => {
  it('--cap-drop NET_RAW (any case, with or without CAP_) makes ping fail with permission denied', async () => {
    const ok = await run(['busybox', 'ping', '-c', '1', '-W', '2', '127.0.0.1']);
    expect(ok.code, ok.stderr).toBe(0);
    for (const cap of ['NET_RAW', 'net_raw', 'CAP_NET_RAW', 'cap_Net_Raw']) {
      const r = await run(['--cap-drop', cap, 'busybox', 'ping', '-c', '1', '-W', '2', '127.0.0.1']);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('ping: permission denied (are you root?)');
    }
  });

  it('--cap-add gives a capability, --cap-drop ALL keeps only the added ones', async () => {
    const denied = await run(['busybox', 'ip', 'link', 'add', 'br0', 'type', 'bridge']);
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toContain('Operation not permitted');
    expect((await run(['--cap-add', 'net_admin', 'busybox', 'ip', 'link', 'add', 'br0', 'type', 'bridge'])).code).toBe(0);
    // CAP_KILL is bit 5: only it is left.
    expect(await procStatus(['--cap-drop', 'ALL', '--cap-add', 'KILL'], 'CapEff')).toBe('0000000000000020');
  });

  it("refuses an unknown capability with Docker's message and creates nothing", async () => {
    await expectRefused(['--cap-add', 'NOPE'], 'unknown capability: "CAP_NOPE"');
    expect((await p.berth(['ps', '-aq'])).stdout).toBe('');
  });
});

describe('--read-only', () => {
  it('makes the root filesystem read-only; /etc/hosts, volumes and tmpfs stay writable', async () => {
    const touch = await run(['--read-only', 'busybox', 'touch', '/x']);
    expect(touch.code).toBe(1);
    expect(touch.stderr).toContain("touch: /x: Read-only file system");
    const writable = await run([
      '--read-only', '-v', '/data', '--tmpfs', '/tmp', 'busybox', 'sh', '-c',
      'echo 10.0.0.9 extra >> /etc/hosts && touch /data/f /tmp/f /dev/shm/f && echo written',
    ]);
    expect(writable.code, writable.stderr).toBe(0);
    expect(writable.stdout).toBe('written\n');
  });
});

describe('--privileged', () => {
  it('gives every capability, no seccomp, the host devices, and can create network links', async () => {
    expect((await run(['--privileged', 'busybox', 'ip', 'link', 'add', 'br0', 'type', 'bridge'])).code).toBe(0);
    // Every capability the platform holds itself (its bounding set: all of them on a normal host).
    const hostBounding = /^CapBnd:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))![1];
    expect(await procStatus(['--privileged'], 'CapEff')).toBe(hostBounding);
    expect(await procStatus(['--privileged'], 'Seccomp')).toBe('0');
    const devices = await run(['--privileged', 'busybox', 'ls', '/dev']);
    expect(devices.stdout.split('\n')).toEqual(expect.arrayContaining(['loop-control', 'kmsg']));
    expect((await run(['busybox', 'ls', '/dev'])).stdout).not.toContain('kmsg');
    // No masked paths: /proc/interrupts is the real one, not /dev/null.
    expect((await run(['--privileged', 'busybox', 'head', '-1', '/proc/interrupts'])).stdout).toContain('CPU0');
    expect((await run(['busybox', 'head', '-1', '/proc/interrupts'])).stdout).toBe('');
  });
});

describe('--security-opt', () => {
  it('seccomp=unconfined turns the filter off (Seccomp 0; 2 by default)', async () => {
    expect(await procStatus([], 'Seccomp')).toBe('2');
    expect(await procStatus(['--security-opt', 'seccomp=unconfined'], 'Seccomp')).toBe('0');
  });

  it('seccomp=PROFILE.json applies a profile file read by the CLI', async () => {
    const file = join(files.path, 'no-mkdir.json');
    writeFileSync(
      file,
      JSON.stringify({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO' }] }, null, 2),
    );
    const r = await run(['--security-opt', `seccomp=${file}`, 'busybox', 'mkdir', '/tmp/d']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("mkdir: can't create directory '/tmp/d': Operation not permitted");
    expect((await run(['--security-opt', `seccomp=${file}`, 'busybox', 'touch', '/tmp/f'])).code).toBe(0);
  });

  it('no-new-privileges is on by default and can be turned off', async () => {
    expect(await procStatus([], 'NoNewPrivs')).toBe('1');
    expect(await procStatus(['--security-opt', 'no-new-privileges'], 'NoNewPrivs')).toBe('1');
    expect(await procStatus(['--security-opt', 'no-new-privileges=false'], 'NoNewPrivs')).toBe('0');
  });

  it('accepts apparmor and label options with a warning', async () => {
    const r = await run(['--security-opt', 'apparmor=unconfined', '--security-opt', 'label=disable', 'busybox', 'echo', 'ran']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('ran\n');
    expect(r.stderr).toContain('WARNING: Security option "apparmor=unconfined" ignored: Berth does not apply AppArmor profiles');
    expect(r.stderr).toContain('WARNING: Security option "label=disable" ignored: Berth does not apply SELinux labels');
  });

  it("refuses unknown options with Docker's messages and creates nothing", async () => {
    await expectRefused(['--security-opt', 'foo'], 'Invalid --security-opt: "foo"');
    await expectRefused(['--security-opt', 'foo=bar'], 'invalid --security-opt 2: "foo=bar"');
    await expectRefused(['--security-opt', 'seccomp=/nonexistent.json'], 'opening seccomp profile (/nonexistent.json) failed: open /nonexistent.json: no such file or directory');
    expect((await p.berth(['ps', '-aq'])).stdout).toBe('');
  });
});

describe('inspect', () => {
  it("shows CapAdd, CapDrop, Privileged, ReadonlyRootfs and SecurityOpt as Docker's HostConfig", async () => {
    const hostConfig = async (name: string) =>
      JSON.parse((await p.berth(['inspect', '--format', '{{json .HostConfig}}', name])).stdout) as Record<string, unknown>;
    expect(
      (await p.berth(['create', '--name', 'sec', '--cap-add', 'net_admin', '--cap-add', 'sys_time', '--cap-drop', 'NET_RAW', '--read-only', '--security-opt', 'no-new-privileges', 'busybox'])).code,
    ).toBe(0);
    expect(await hostConfig('sec')).toMatchObject({
      CapAdd: ['CAP_NET_ADMIN', 'CAP_SYS_TIME'],
      CapDrop: ['CAP_NET_RAW'],
      Privileged: false,
      ReadonlyRootfs: true,
      SecurityOpt: ['no-new-privileges'],
    });
    expect((await p.berth(['create', '--name', 'plain', 'busybox'])).code).toBe(0);
    expect(await hostConfig('plain')).toMatchObject({ CapAdd: null, CapDrop: null, Privileged: false, ReadonlyRootfs: false, SecurityOpt: null });
    expect((await p.berth(['create', '--name', 'priv', '--privileged', 'busybox'])).code).toBe(0);
    expect(await hostConfig('priv')).toMatchObject({ Privileged: true });
  });
});
