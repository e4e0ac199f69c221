/**
 * The resource, namespace and kernel flags of `run` / `create` on real containers (`--ulimit`,
 * `--device`, `--shm-size`, `--sysctl`, `--ipc`, `--pid`, `--uts`, `--cgroupns`, `--group-add`,
 * `--memory-swap`, `--memory-reservation`, `--cpu-shares`, `--cpuset-cpus`, `--oom-kill-disable`),
 * checked from inside the container, in its cgroup and in `inspect`, with docker's messages and
 * exit codes for bad values. One platform for the file.
 */
import { readlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { removeAllContainers, startBusyboxPlatform, type TestPlatform } from '@berth/testing';

let p: TestPlatform;

beforeAll(async () => (p = await startBusyboxPlatform()), 180_000);

afterAll(() => p?.stop());

afterEach(() => removeAllContainers(p)); // a failed test must not leave containers the next one counts

const run = (args: string[], script: string) => p.berth(['run', '--rm', ...args, 'busybox', 'sh', '-c', script]);
const ok = async (args: string[], script: string) => {
  const r = await run(args, script);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout;
};
const inspect = async (name: string, format: string) => (await p.berth(['inspect', '-f', format, name])).stdout.trim();
const usage = (message: string) => `${message}\n\nUsage:  berth run [OPTIONS] IMAGE [COMMAND] [ARG...]\n\nRun 'berth run --help' for more information\n`;

describe('resources', () => {
  it('--ulimit sets soft and hard limits; a bad one is refused as docker does', async () => {
    expect(await ok(['--ulimit', 'nofile=100:200', '--ulimit', 'nproc=50'], 'ulimit -n; ulimit -Hn; ulimit -u')).toBe('100\n200\n50\n');
    const bad = await p.berth(['run', '--ulimit', 'nofile', 'busybox', 'true']);
    expect(bad.code).toBe(125);
    expect(bad.stderr).toBe(usage('invalid argument "nofile" for "--ulimit" flag: invalid ulimit argument: nofile'));
    const order = await p.berth(['run', '--ulimit', 'nofile=20:10', 'busybox', 'true']);
    expect(order.stderr).toContain('ulimit soft limit must be less than or equal to hard limit: 20 > 10');
  });

  it('memory, swap, reservation, cpu shares, cpuset and the OOM killer reach the cgroup and inspect', async () => {
    const out = await ok(
      ['--name', 'limits', '-m', '64m', '--memory-reservation', '32m', '--memory-swap', '96m', '--cpu-shares', '512', '--cpuset-cpus', '0', '--oom-kill-disable'],
      'cd /sys/fs/cgroup; cat memory/memory.limit_in_bytes memory/memory.memsw.limit_in_bytes memory/memory.soft_limit_in_bytes cpu/cpu.shares cpuset/cpuset.cpus; head -1 memory/memory.oom_control',
    );
    expect(out).toBe(`${64 * 2 ** 20}\n${96 * 2 ** 20}\n${32 * 2 ** 20}\n512\n0\noom_kill_disable 1\n`);
    // docker's default: as much swap as memory (MemorySwap twice Memory)
    const created = await p.berth(['create', '--name', 'twice', '-m', '64m', '--cpu-shares', '100', 'busybox']);
    expect(created.code, created.stderr).toBe(0);
    expect(await inspect('twice', '{{.HostConfig.Memory}} {{.HostConfig.MemorySwap}} {{.HostConfig.CpuShares}} {{.HostConfig.OomKillDisable}}')).toBe(
      `${64 * 2 ** 20} ${128 * 2 ** 20} 100 false`,
    );
  });

  it("refuses a swap below memory and warns about an OOM killer without a memory limit, as docker's daemon does", async () => {
    const r = await p.berth(['run', '-m', '64m', '--memory-swap', '32m', 'busybox', 'true']);
    expect(r.code).toBe(125);
    expect(r.stderr).toContain('Minimum memoryswap limit should be larger than memory limit, see usage');
    const warned = await p.berth(['run', '--rm', '--oom-kill-disable', 'busybox', 'true']);
    expect(warned.code, warned.stderr).toBe(0);
    expect(warned.stderr).toContain(
      'WARNING: OOM killer is disabled for the container, but no memory limit is set, this can result in the system running out of resources.',
    );
  });
});

describe('devices, /dev/shm, sysctls, groups', () => {
  it('--device maps a host device (renamed); a missing one fails with 125 and docker\'s message', async () => {
    expect(await ok(['--device', '/dev/zero:/dev/myzero'], 'head -c 5 /dev/myzero | wc -c')).toBe('5\n');
    const missing = await p.berth(['run', '--device', '/dev/nope', 'busybox', 'true']);
    expect(missing.code).toBe(125);
    expect(missing.stderr).toContain('error gathering device information while adding custom device "/dev/nope": no such file or directory');
    expect((await p.berth(['ps', '-aq'])).stdout).toBe('');
  });

  it('--shm-size sizes /dev/shm', async () => {
    expect((await ok(['--shm-size', '16m'], 'df -k /dev/shm | tail -1')).split(/\s+/)[1]).toBe('16384');
  });

  it('--sysctl sets namespaced parameters and refuses the others', async () => {
    expect(await ok(['--sysctl', 'net.ipv4.ip_forward=1', '--sysctl', 'kernel.shmmni=1234'], 'cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmni')).toBe('1\n1234\n');
    const bad = await p.berth(['run', '--sysctl', 'kernel.hostname=x', 'busybox', 'true']);
    expect(bad.code).toBe(125);
    expect(bad.stderr).toBe(usage(`invalid argument "kernel.hostname=x" for "--sysctl" flag: sysctl 'kernel.hostname=x' is not allowed`));
  });

  it('--group-add adds gids and groups named in the container', async () => {
    const out = await ok(['--group-add', '1234', '--group-add', 'app'], 'id -G');
    expect(out.trim().split(' ')).toEqual(expect.arrayContaining(['1234', '1000']));
    const bad = await p.berth(['run', '--rm', '--group-add', 'nosuchgroup', 'busybox', 'true']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('Unable to find group nosuchgroup: no matching entries in group file');
  });
});

describe('namespaces', () => {
  it('--ipc shareable is joined by --ipc container:X, which shares /dev/shm; a private donor is refused', async () => {
    expect((await p.berth(['run', '-d', '--name', 'donor', '--ipc', 'shareable', 'busybox', 'sleep', '300'])).code).toBe(0);
    const joined = await ok(['--ipc', 'container:donor'], 'echo shared > /dev/shm/mark; readlink /proc/self/ns/ipc');
    const donorNs = await p.berth(['exec', 'donor', 'sh', '-c', 'cat /dev/shm/mark; readlink /proc/self/ns/ipc']);
    expect(donorNs.stdout).toBe(`shared\n${joined}`);
    expect(await inspect('donor', '{{.HostConfig.IpcMode}}')).toBe('shareable');
    expect((await p.berth(['run', '-d', '--name', 'private', 'busybox', 'sleep', '300'])).code).toBe(0);
    expect(await inspect('private', '{{.HostConfig.IpcMode}}')).toBe('private');
    const refused = await p.berth(['run', '--rm', '--ipc', 'container:private', 'busybox', 'true']);
    expect(refused.code).toBe(125);
    expect(refused.stderr).toMatch(/failed to join IPC namespace: container [0-9a-f]{64}: non-shareable IPC \(hint: use IpcMode:shareable for the donor container\)/);
    const unknown = await p.berth(['run', '--rm', '--ipc', 'bogus', 'busybox', 'true']);
    expect(unknown.stderr).toContain('Error response from daemon: invalid IPC mode: bogus');
  });

  it('--ipc host and none, --pid host and container:X, --uts host, --cgroupns private', async () => {
    expect(await ok(['--ipc', 'host'], 'readlink /proc/self/ns/ipc')).toBe(`${readlinkSync('/proc/self/ns/ipc')}\n`);
    expect((await run(['--ipc', 'none'], 'ls /dev/shm')).stderr).toContain('No such file or directory');
    expect(await ok(['--pid', 'host'], 'readlink /proc/self/ns/pid')).toBe(`${readlinkSync('/proc/self/ns/pid')}\n`);
    expect((await p.berth(['run', '-d', '--name', 'target', 'busybox', 'sleep', '300'])).code).toBe(0);
    expect(await ok(['--pid', 'container:target'], 'ps -o comm | grep -c sleep')).toBe('1\n');
    expect(await ok(['--uts', 'host'], 'hostname')).toBe(`${hostname()}\n`);
    const cgroup = await ok(['--cgroupns', 'private'], 'readlink /proc/self/ns/cgroup');
    expect(cgroup).not.toBe(`${readlinkSync('/proc/self/ns/cgroup')}\n`);
  });

  it("refuses bad modes with docker's messages", async () => {
    const pid = await p.berth(['run', '--pid', 'bogus', 'busybox', 'true']);
    expect(pid.code).toBe(125);
    expect(pid.stderr).toBe("berth: --pid: invalid PID mode\n\nRun 'berth run --help' for more information\n");
    expect((await p.berth(['run', '--uts', 'bogus', 'busybox', 'true'])).stderr).toContain('--uts: invalid UTS mode');
    expect((await p.berth(['run', '--cgroupns', 'bogus', 'busybox', 'true'])).stderr).toContain('--cgroupns: invalid CGROUP mode');
    expect((await p.berth(['run', '--uts', 'host', '-h', 'x', 'busybox', 'true'])).stderr).toContain('conflicting options: hostname and the UTS mode');
    const missing = await p.berth(['run', '--pid', 'container:nosuch', 'busybox', 'true']);
    expect(missing.code).toBe(125);
    expect(missing.stderr).toContain('No such container: nosuch');
    // A target that stopped: the start fails as docker's does.
    expect((await p.berth(['create', '--name', 'stopped', 'busybox'])).code).toBe(0);
    const notRunning = await p.berth(['run', '--rm', '--pid', 'container:stopped', 'busybox', 'true']);
    expect(notRunning.code).toBe(125);
    expect(notRunning.stderr).toMatch(/failed to join PID namespace: Container [0-9a-f]{64} is not running/);
  });

  it("inspect shows docker's HostConfig fields", async () => {
    const created = await p.berth([
      'create', '--name', 'fields', '--ipc', 'shareable', '--pid', 'host', '--uts', 'host', '--cgroupns', 'private',
      '--shm-size', '8m', '--sysctl', 'net.core.somaxconn=1024', '--ulimit', 'nofile=10:20', '--device', '/dev/zero',
      '--group-add', '42', '--cpuset-cpus', '0', '--memory-reservation', '16m', 'busybox',
    ]);
    expect(created.code, created.stderr).toBe(0);
    const host = JSON.parse(await inspect('fields', '{{json .HostConfig}}')) as Record<string, unknown>;
    expect(host).toMatchObject({
      IpcMode: 'shareable',
      PidMode: 'host',
      UTSMode: 'host',
      CgroupnsMode: 'private',
      ShmSize: 8 * 2 ** 20,
      Sysctls: { 'net.core.somaxconn': '1024' },
      Ulimits: [{ Name: 'nofile', Soft: 10, Hard: 20 }],
      Devices: [{ PathOnHost: '/dev/zero', PathInContainer: '/dev/zero', CgroupPermissions: 'rwm' }],
      GroupAdd: ['42'],
      CpusetCpus: '0',
      MemoryReservation: 16 * 2 ** 20,
    });
  });
});
