import { describe, expect, it } from 'vitest';
import { FailedPreconditionError, InvalidArgumentError } from '@berth/errors';
import { computeCapabilities, defaultCapabilities, generateSpec, type SpecOptions } from './generate-spec.js';
import { hostRlimits } from './host-limits.js';

const hostLimits = { RLIMIT_NOFILE: { soft: 20000, hard: 20000 }, RLIMIT_NPROC: { soft: 100, hard: 200 } };
const base: SpecOptions = { id: 'abc123def4567890', rootfs: '/r', args: ['sh'], hostLimits };

describe('generateSpec', () => {
  it("gives Docker's default process: capabilities, no inheritable/ambient, nofile within the host's hard limit", () => {
    const spec = generateSpec(base);
    const caps = spec.process.capabilities!;
    expect(caps.bounding).toEqual([...defaultCapabilities]);
    expect(caps.effective).toEqual([...defaultCapabilities]);
    expect(caps.permitted).toEqual([...defaultCapabilities]);
    expect(caps.inheritable).toBeUndefined();
    expect(caps.ambient).toBeUndefined();
    expect(spec.process.noNewPrivileges).toBe(true);
    expect(spec.process.rlimits).toEqual([{ type: 'RLIMIT_NOFILE', soft: 20000, hard: 20000 }]);
    expect(generateSpec({ ...base, hostLimits: { RLIMIT_NOFILE: { soft: 1024, hard: Infinity } } }).process.rlimits).toEqual([
      { type: 'RLIMIT_NOFILE', soft: 1048576, hard: 1048576 },
    ]);
    expect(spec.process.user).toEqual({ uid: 0, gid: 0, additionalGids: [0] });
    expect(spec.process.cwd).toBe('/');
    expect(spec.hostname).toBe('abc123def456');
    expect(spec.process.env).toEqual([
      'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      'HOSTNAME=abc123def456',
      'HOME=/',
    ]);
  });

  it("has Docker's mounts, masked and read-only paths, namespaces and device rules", () => {
    const spec = generateSpec(base);
    expect(spec.mounts.map((m) => `${m.destination}:${m.type}`)).toEqual([
      '/proc:proc',
      '/dev:tmpfs',
      '/dev/pts:devpts',
      '/sys:sysfs',
      '/sys/fs/cgroup:cgroup',
      '/dev/mqueue:mqueue',
      '/dev/shm:tmpfs',
    ]);
    expect(spec.mounts.find((m) => m.destination === '/dev/shm')!.options).toContain('size=65536k');
    expect(spec.mounts.find((m) => m.destination === '/sys')!.options).toContain('ro');
    expect(spec.linux.maskedPaths).toContain('/proc/kcore');
    expect(spec.linux.maskedPaths).toContain('/sys/devices/system/cpu/cpu0/thermal_throttle');
    expect(spec.linux.readonlyPaths).toEqual(['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger']);
    expect(spec.linux.namespaces.map((n) => n.type).sort()).toEqual(['ipc', 'mount', 'network', 'pid', 'uts']);
    expect(spec.linux.cgroupsPath).toBe('/berth/abc123def4567890');
    expect(spec.linux.resources!.devices![0]).toEqual({ allow: false, access: 'rwm' });
    expect(spec.linux.resources!.devices).toContainEqual({ allow: true, type: 'c', major: 136, access: 'rwm' });
    expect(spec.linux.seccomp!.defaultAction).toBe('SCMP_ACT_ERRNO');
  });

  it('translates limits: memory without swap, --cpus as quota over a 100ms period, pids', () => {
    const spec = generateSpec({ ...base, memory: 16 * 1024 * 1024, cpus: 1.5, pidsLimit: 20 });
    expect(spec.linux.resources!.memory).toEqual({ limit: 16777216, swap: 16777216 });
    expect(spec.linux.resources!.cpu).toEqual({ period: 100000, quota: 150000 });
    expect(spec.linux.resources!.pids).toEqual({ limit: 20 });
    expect(() => generateSpec({ ...base, memory: 1024 })).toThrow('Minimum memory limit allowed is 6MB');
    expect(() => generateSpec({ ...base, cpus: 99 })).toThrow(InvalidArgumentError);
  });

  it('joins a network namespace by path, or shares the host one', () => {
    const joined = generateSpec({ ...base, network: { path: '/run/netns/n1' } });
    expect(joined.linux.namespaces).toContainEqual({ type: 'network', path: '/run/netns/n1' });
    const host = generateSpec({ ...base, network: 'host' });
    expect(host.linux.namespaces.some((n) => n.type === 'network')).toBe(false);
  });

  it('adds caller mounts, replacing a default at the same destination', () => {
    const spec = generateSpec({
      ...base,
      mounts: [
        { destination: '/etc/hosts', type: 'bind', source: '/x/hosts', options: ['rbind', 'ro'] },
        { destination: '/dev/shm', type: 'bind', source: '/x/shm', options: ['rbind'] },
      ],
    });
    expect(spec.mounts.filter((m) => m.destination === '/dev/shm')).toEqual([{ destination: '/dev/shm', type: 'bind', source: '/x/shm', options: ['rbind'] }]);
    expect(spec.mounts.at(-2)!.destination).toBe('/etc/hosts');
  });

  it('sets user, env, tty and oom score', () => {
    const spec = generateSpec({
      ...base,
      user: { uid: 1000, gid: 1000, additionalGids: [1001], home: '/home/app' },
      groupAdd: [5],
      env: ['PATH=/bin', 'A=1'],
      terminal: true,
      cwd: '/tmp',
      oomScoreAdj: 500,
      hostname: 'web',
    });
    expect(spec.process.user).toEqual({ uid: 1000, gid: 1000, additionalGids: [1000, 1001, 5] });
    expect(spec.process.env).toEqual(['PATH=/bin', 'HOSTNAME=web', 'TERM=xterm', 'A=1', 'HOME=/home/app']);
    expect(spec.process.terminal).toBe(true);
    expect(spec.process.consoleSize).toBeUndefined();
    expect(spec.process.oomScoreAdj).toBe(500);
    expect(spec.process.cwd).toBe('/tmp');
  });

  it("starts a terminal's console at the size asked for (Docker's HostConfig.ConsoleSize), none without a terminal", () => {
    expect(generateSpec({ ...base, terminal: true, consoleSize: { height: 30, width: 100 } }).process.consoleSize).toEqual({ height: 30, width: 100 });
    expect(generateSpec({ ...base, terminal: true, consoleSize: { height: 0, width: 0 } }).process.consoleSize).toBeUndefined();
    expect(generateSpec({ ...base, terminal: false, consoleSize: { height: 30, width: 100 } }).process.consoleSize).toBeUndefined();
  });

  it('refuses ulimits above the host hard limit', () => {
    expect(generateSpec({ ...base, ulimits: [{ name: 'nproc', soft: 50, hard: 100 }] }).process.rlimits).toContainEqual({ type: 'RLIMIT_NPROC', soft: 50, hard: 100 });
    expect(() => generateSpec({ ...base, ulimits: [{ name: 'nofile', soft: 100, hard: 30000 }] })).toThrow(
      `Invalid ulimit "nofile": hard limit 30000 exceeds the host's hard limit 20000`,
    );
    expect(() => generateSpec({ ...base, ulimits: [{ name: 'bogus', soft: 1, hard: 1 }] })).toThrow('Invalid ulimit "bogus"');
  });

  it('applies cap-add/cap-drop like Docker, and privileged drops the confinement', () => {
    expect(computeCapabilities(['NET_ADMIN'], ['CHOWN'])).toEqual([...defaultCapabilities.filter((c) => c !== 'CAP_CHOWN'), 'CAP_NET_ADMIN']);
    expect(computeCapabilities(['kill'], ['ALL'])).toEqual(['CAP_KILL']);
    expect(computeCapabilities(['ALL'], ['SYS_ADMIN'])).not.toContain('CAP_SYS_ADMIN');
    expect(() => computeCapabilities(['NOPE'], [])).toThrow('unknown capability: "CAP_NOPE"');
    expect(computeCapabilities(['cap_net_admin', 'Sys_Time'], ['net_raw'])).toEqual([
      ...defaultCapabilities.filter((c) => c !== 'CAP_NET_RAW'),
      'CAP_NET_ADMIN',
      'CAP_SYS_TIME',
    ]);
    const some = ['CAP_CHOWN', 'CAP_KILL', 'CAP_NET_RAW', 'CAP_NET_ADMIN'];
    expect(computeCapabilities(['ALL'], ['kill'], { available: some })).toEqual(['CAP_CHOWN', 'CAP_NET_RAW', 'CAP_NET_ADMIN']);
    expect(() => computeCapabilities(['SYS_RESOURCE'], [], { available: some })).toThrow(
      'capability not supported by your kernel or not available in the current environment: "CAP_SYS_RESOURCE"',
    );
    expect(generateSpec({ ...base, privileged: true, availableCapabilities: some, hostDevices: [] }).process.capabilities!.bounding).toEqual(some);
    const null_ = { path: '/dev/null', type: 'c', major: 1, minor: 3, fileMode: 0o666, uid: 0, gid: 0 };
    const priv = generateSpec({ ...base, privileged: true, hostDevices: [null_] });
    expect(priv.linux.devices).toEqual([null_]);
    expect(generateSpec(base).linux.devices).toBeUndefined();
    expect(priv.process.capabilities!.bounding).toContain('CAP_SYS_ADMIN');
    expect(priv.linux.seccomp).toBeUndefined();
    expect(priv.linux.maskedPaths).toBeUndefined();
    expect(priv.linux.resources!.devices).toEqual([{ allow: true, access: 'rwm' }]);
    expect(generateSpec({ ...base, seccomp: 'unconfined' }).linux.seccomp).toBeUndefined();
  });

  it('prefixes the init and mounts it at /sbin/docker-init', () => {
    const spec = generateSpec({ ...base, init: '/bin/busybox' });
    expect(spec.process.args).toEqual(['/sbin/docker-init', '--', 'sh']);
    expect(spec.mounts).toContainEqual({ destination: '/sbin/docker-init', type: 'bind', source: '/bin/busybox', options: ['bind', 'ro'] });
    expect(() => generateSpec({ ...base, init: '/nonexistent/tini' })).toThrow(FailedPreconditionError);
    expect(() => generateSpec({ ...base, init: '/nonexistent/tini' })).toThrow(
      `Cannot use --init: "/nonexistent/tini" not found (install Debian's tini package)`,
    );
  });
});

describe('hostRlimits', () => {
  it('parses /proc/self/limits', () => {
    const text = [
      'Limit                     Soft Limit           Hard Limit           Units     ',
      'Max processes             96365                96365                processes ',
      'Max open files            1024                 20000                files     ',
      'Max core file size        0                    unlimited            bytes     ',
    ].join('\n');
    expect(hostRlimits(text)).toEqual({
      RLIMIT_NPROC: { soft: 96365, hard: 96365 },
      RLIMIT_NOFILE: { soft: 1024, hard: 20000 },
      RLIMIT_CORE: { soft: 0, hard: Infinity },
    });
    expect(hostRlimits().RLIMIT_NOFILE!.hard).toBeGreaterThan(0);
  });
});
