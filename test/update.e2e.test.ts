/**
 * `berth update` on real containers: limits reach a running container's cgroup at once (runc
 * update) and are kept for its next starts, the restart policy changes, and docker's refusals and
 * messages. One platform for the file.
 */
import { readFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { removeAllContainers, startBusyboxPlatform, type TestPlatform, waitUntil, signalProcess } from '@berth/testing';

let p: TestPlatform;

beforeAll(async () => (p = await startBusyboxPlatform()), 180_000);

afterAll(() => p?.stop());

afterEach(() => removeAllContainers(p)); // a failed test must not leave containers the next one counts

const cgroup = (controller: string, id: string, file: string) => readFileSync(`/sys/fs/cgroup/${controller}/berth/${id}/${file}`, 'utf8').trim();
const inspect = async (name: string, format: string) => (await p.berth(['inspect', '-f', format, name])).stdout.trim();

describe('berth update', () => {
  it("changes a running container's cgroup at once and records the values", async () => {
    const id = (await p.berth(['run', '-d', '--name', 'live', 'busybox', 'sleep', '300'])).stdout.trim();
    const r = await p.berth(['update', '--memory', '64m', '--memory-swap', '128m', '--cpus', '0.5', '--pids-limit', '50', '--cpu-shares', '256', 'live']);
    expect(r).toEqual({ code: 0, stdout: 'live\n', stderr: '' });
    expect(cgroup('memory', id, 'memory.limit_in_bytes')).toBe(String(64 * 2 ** 20));
    expect(cgroup('memory', id, 'memory.memsw.limit_in_bytes')).toBe(String(128 * 2 ** 20));
    expect(cgroup('cpu', id, 'cpu.cfs_quota_us')).toBe('50000');
    expect(cgroup('cpu', id, 'cpu.shares')).toBe('256');
    expect(cgroup('pids', id, 'pids.max')).toBe('50');
    expect(await inspect('live', '{{.HostConfig.Memory}} {{.HostConfig.MemorySwap}} {{.HostConfig.NanoCpus}} {{.HostConfig.PidsLimit}} {{.HostConfig.CpuShares}}')).toBe(
      `${64 * 2 ** 20} ${128 * 2 ** 20} 500000000 50 256`,
    );
    // -1 lifts the pids limit
    expect((await p.berth(['update', '--pids-limit', '-1', 'live'])).code).toBe(0);
    expect(cgroup('pids', id, 'pids.max')).toBe('max');
    // the values stay for the next start
    expect((await p.berth(['restart', '-t', '0', 'live'])).code).toBe(0);
    expect(cgroup('memory', id, 'memory.limit_in_bytes')).toBe(String(64 * 2 ** 20));
    expect(cgroup('cpu', id, 'cpu.cfs_quota_us')).toBe('50000');
  });

  it('updates a stopped container: the limits apply when it starts', async () => {
    expect((await p.berth(['create', '--name', 'later', 'busybox', 'sleep', '300'])).code).toBe(0);
    expect((await p.berth(['update', '-m', '32m', '--memory-swap', '-1', 'later'])).stdout).toBe('later\n');
    expect((await p.berth(['start', 'later'])).code).toBe(0);
    const id = await inspect('later', '{{.Id}}');
    expect(cgroup('memory', id, 'memory.limit_in_bytes')).toBe(String(32 * 2 ** 20));
    expect(await inspect('later', '{{.HostConfig.MemorySwap}}')).toBe('-1');
  });

  it('changes the restart policy of a running container, which then restarts it', async () => {
    expect((await p.berth(['run', '-d', '--name', 'policy', 'busybox', 'sleep', '300'])).code).toBe(0);
    expect((await p.berth(['update', '--restart', 'always', 'policy'])).code).toBe(0);
    expect(await inspect('policy', '{{.HostConfig.RestartPolicy.Name}}')).toBe('always');
    signalProcess(Number(await inspect('policy', '{{.State.Pid}}')), 'SIGKILL');
    await waitUntil('the policy restart', async () => (await inspect('policy', '{{.RestartCount}} {{.State.Running}}')) === '1 true', { timeoutMs: 20_000 });
  });

  it("refuses what docker refuses, with its messages, and changes nothing", async () => {
    const id = (await p.berth(['run', '-d', '--name', 'strict', '-m', '64m', 'busybox', 'sleep', '300'])).stdout.trim();
    const swap = await p.berth(['update', '--memory', '256m', 'strict']);
    expect(swap.code).toBe(1);
    expect(swap.stderr).toBe(
      `Error response from daemon: Cannot update container ${id}: Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time\n`,
    );
    expect(cgroup('memory', id, 'memory.limit_in_bytes')).toBe(String(64 * 2 ** 20));
    expect(await p.berth(['update', 'strict'])).toEqual({ code: 1, stdout: '', stderr: 'you must provide one or more flags when using this command\n' });
    const some = await p.berth(['update', '--cpus', '1', 'nope', 'strict']);
    expect(some).toEqual({ code: 1, stdout: 'strict\n', stderr: 'Error response from daemon: No such container: nope\n' });
    const rm = await p.berth(['run', '-d', '--rm', '--name', 'auto', 'busybox', 'sleep', '300']);
    expect(rm.code).toBe(0);
    const policy = await p.berth(['update', '--restart', 'always', 'auto']);
    expect(policy.stderr).toContain('Restart policy cannot be updated because AutoRemove is enabled for the container');
    const bad = await p.berth(['update', '--restart', 'sometimes', 'strict']);
    expect(bad).toEqual({
      code: 1,
      stdout: '',
      stderr: "invalid restart policy: unknown policy 'sometimes'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'\n",
    });
  });

  it('is also `container update`', async () => {
    expect((await p.berth(['run', '-d', '--name', 'alias', 'busybox', 'sleep', '300'])).code).toBe(0);
    expect(await p.berth(['container', 'update', '--cpuset-cpus', '0', 'alias'])).toEqual({ code: 0, stdout: 'alias\n', stderr: '' });
    expect(await inspect('alias', '{{.HostConfig.CpusetCpus}}')).toBe('0');
  });
});
