import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { waitUntil } from '@berth/testing';
import { readTarEntries } from '@berth/layers';
import type { ConmonRuntime } from '@berth/runtime';
import { FailedPreconditionError } from '@berth/errors';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ContainerManager } from './container-manager.js';
import { isMountpoint } from './mountinfo.js';
import { openTestHost, removeTestHost, testRuntime, type TestHost } from './test-support.js';
import type { ContainerEvent } from './types.js';

/**
 * Real containers: a busybox image bootstrapped into a temporary data root, runc through conmon.
 * Every container is force-removed after each test, and the data root is unmounted and deleted at
 * the end, even when a test fails.
 */

interface Harness {
  manager: ContainerManager;
  events: ContainerEvent[];
  runtime: ConmonRuntime;
}

let host: TestHost;
const managers: ContainerManager[] = [];

function makeManager(runtime: ConmonRuntime = testRuntime(host), images: TestHost['images'] = host.images): Harness {
  const events: ContainerEvent[] = [];
  const { dataRoot, runRoot, db, snapshotter } = host;
  const manager = new ContainerManager({
    dataRoot,
    runRoot,
    db,
    images,
    snapshotter,
    runtime,
    onEvent: (e) => events.push(e),
  });
  managers.push(manager);
  return { manager, events, runtime };
}

let h: Harness;

beforeAll(async () => {
  host = await openTestHost('containers');
  h = makeManager();
  await h.manager.init();
});

afterEach(async () => {
  const manager = managers[managers.length - 1]!;
  for (const c of await manager.list({ all: true })) await manager.remove(c.Id, { force: true }).catch(() => {});
});

afterAll(async () => {
  for (const m of managers) m.close();
  await removeTestHost(host);
});

async function logsOf(manager: ContainerManager, id: string): Promise<string> {
  let out = '';
  for await (const entry of manager.logs(id)) out += `${entry.line.toString()}${entry.partial ? '' : '\n'}`;
  return out;
}

describe('ContainerManager', () => {
  it('runs echo hello: logs, exit code, inspect and list', async () => {
    const { manager, events } = h;
    const id = await manager.create({ image: 'busybox', name: 'hello', cmd: ['echo', 'hello'] });
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    const exited = manager.wait(id, { condition: 'next-exit' });
    await manager.start('hello');
    expect(await exited).toBe(0);
    expect(await logsOf(manager, id)).toBe('hello\n');

    const info = await manager.inspect('hello');
    expect(info).toMatchObject({
      Id: id,
      Name: '/hello',
      Path: 'echo',
      Args: ['hello'],
      Driver: 'overlay2',
      Platform: 'linux',
      RestartCount: 0,
      State: { Status: 'exited', Running: false, ExitCode: 0, OOMKilled: false, Pid: 0 },
      Config: { Cmd: ['echo', 'hello'], Image: 'busybox', Hostname: id.slice(0, 12) },
      HostConfig: { RestartPolicy: { Name: 'no', MaximumRetryCount: 0 }, AutoRemove: false },
    });
    expect(info.State.StartedAt).not.toBe('0001-01-01T00:00:00Z');
    expect(info.Config.Env.some((e) => e.startsWith('PATH='))).toBe(true);

    expect(await manager.list()).toEqual([]);
    const [summary] = await manager.list({ all: true });
    expect(summary).toMatchObject({ Id: id, Names: ['/hello'], Image: 'busybox', Command: 'echo hello', State: 'exited' });
    expect(summary!.Status).toMatch(/^Exited \(0\) (Less than a second|\d+ seconds?) ago$/);
    expect(events.filter((e) => e.id === id).map((e) => e.action)).toEqual(['create', 'start', 'die']);
    expect(events.find((e) => e.action === 'die' && e.id === id)?.attributes?.exitCode).toBe('0');
  });

  it('records the exit code and sees the container hostname, hosts and resolv.conf', async () => {
    const { manager } = h;
    const id = await manager.create({
      image: 'busybox',
      cmd: ['sh', '-c', 'hostname; grep -c localhost /etc/hosts; grep -c "^nameserver 127" /etc/resolv.conf; exit 3'],
      hostname: 'box',
    });
    await manager.start(id);
    expect(await manager.wait(id)).toBe(3);
    expect(await logsOf(manager, id)).toBe('box\n2\n0\n');
    expect((await manager.inspect(id)).State.ExitCode).toBe(3);
  });

  it('stops a process that handles SIGTERM at once, and kills one that ignores it after the grace time', async () => {
    const { manager, events } = h;
    const trapping = await manager.create({
      image: 'busybox',
      cmd: ['sh', '-c', 'trap "exit 0" TERM; while true; do sleep 0.1; done'],
    });
    const ignoring = await manager.create({ image: 'busybox', cmd: ['sleep', '1000'] });
    await manager.start(trapping);
    await manager.start(ignoring);
    expect((await manager.inspect(trapping)).State.Running).toBe(true);

    let t0 = Date.now();
    await manager.stop(trapping, { timeout: 10 });
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect((await manager.inspect(trapping)).State).toMatchObject({ Status: 'exited', ExitCode: 0 });

    t0 = Date.now();
    await manager.stop(ignoring, { timeout: 1 });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1_000);
    expect((await manager.inspect(ignoring)).State).toMatchObject({ Status: 'exited', ExitCode: 137 });
    const actions = events.filter((e) => e.id === ignoring).map((e) => e.action);
    expect(actions).toEqual(['create', 'start', 'kill', 'kill', 'die', 'stop']);
  });

  it('restarts on-failure:2 twice, then leaves it exited', async () => {
    const { manager } = h;
    const id = await manager.create({
      image: 'busybox',
      cmd: ['sh', '-c', 'exit 1'],
      restartPolicy: { name: 'on-failure', maximumRetryCount: 2 },
    });
    await manager.start(id);
    expect(await manager.wait(id, { condition: 'not-running' })).toBe(1);
    const info = await manager.inspect(id);
    expect(info.RestartCount).toBe(2);
    expect(info.State).toMatchObject({ Status: 'exited', ExitCode: 1, Restarting: false });
  });

  it('restarts always until stopped by the user', async () => {
    const { manager } = h;
    const id = await manager.create({ image: 'busybox', cmd: ['true'], restartPolicy: { name: 'always' } });
    await manager.start(id);
    await waitUntil('two restarts', async () => (await manager.inspect(id)).RestartCount >= 2, { timeoutMs: 15_000 });
    await manager.stop(id, { timeout: 1 });
    const count = (await manager.inspect(id)).RestartCount;
    await new Promise((r) => setTimeout(r, 500));
    const info = await manager.inspect(id);
    expect(info.State.Status).toBe('exited');
    expect(info.RestartCount).toBe(count);
  });

  it('removes a --rm container once it exits', async () => {
    const { manager, events } = h;
    const id = await manager.create({ image: 'busybox', cmd: ['true'], autoRemove: true });
    const removed = manager.wait(id, { condition: 'removed' });
    await manager.start(id);
    expect(await removed).toBe(0);
    expect(() => manager.resolve(id)).toThrow(`No such container: ${id}`);
    expect(events.filter((e) => e.id === id).map((e) => e.action)).toEqual(['create', 'start', 'die', 'destroy']);
    expect(await host.snapshotter.exists(id)).toBe(false);
    // A wait that arrives only now (docker run --rm's, on a busy host) gets the exit code.
    expect(await manager.wait(id, { condition: 'removed' })).toBe(0);
    await expect(manager.wait(id.slice(0, 12))).rejects.toThrow(`No such container: ${id.slice(0, 12)}`);
  });

  it('attaches before start and sees all output, stdin included (the path of berth run)', async () => {
    const { manager } = h;
    const id = await manager.create({ image: 'busybox', cmd: ['sh', '-c', 'echo out; echo err >&2; read x; echo "in $x"'], openStdin: true });
    let out = '';
    let err = '';
    const session = await manager.attach(id, {
      stdin: true,
      onStdout: (d) => (out += d.toString()),
      onStderr: (d) => (err += d.toString()),
    });
    const exit = manager.wait(id, { condition: 'next-exit' });
    await manager.start(id);
    session.write('abc\n');
    expect(await exit).toBe(0);
    await session.done;
    expect(out).toBe('out\nin abc\n');
    expect(err).toBe('err\n');
  });

  it('refuses a name in use and a bad name', async () => {
    const { manager } = h;
    const id = await manager.create({ image: 'busybox', name: 'web', cmd: ['true'] });
    await expect(manager.create({ image: 'busybox', name: '/web', cmd: ['true'] })).rejects.toThrow(
      `Conflict. The container name "/web" is already in use by container "${id}". You have to remove (or rename) that container to be able to reuse that name.`,
    );
    await expect(manager.create({ image: 'busybox', name: '-x', cmd: ['true'] })).rejects.toThrow(
      'Invalid container name (-x), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed',
    );
    await expect(manager.create({ image: 'nosuchimage', cmd: ['true'] })).rejects.toThrow('No such image: nosuchimage');
    // A failed create leaves no record behind.
    expect((await manager.list({ all: true })).map((c) => c.Id)).toEqual([id]);
  });

  it('reports a missing command with exit code 127 and its name', async () => {
    const { manager } = h;
    const id = await manager.create({ image: 'busybox', cmd: ['nosuch'] });
    await expect(manager.start(id)).rejects.toThrow('exec: "nosuch": executable file not found in $PATH');
    const info = await manager.inspect(id);
    expect(info.State).toMatchObject({ ExitCode: 127, Running: false });
    expect(info.State.Error).toContain('exec: "nosuch": executable file not found in $PATH');

    const removed = await manager.create({ image: 'busybox', cmd: ['/etc/passwd'], autoRemove: true });
    await expect(manager.start(removed)).rejects.toMatchObject({
      message: 'failed to create task for container: exec: "/etc/passwd": permission denied',
      code: 'COMMAND_NOT_EXECUTABLE',
      detail: { exitCode: 126 },
    });
    expect(() => manager.resolve(removed)).toThrow(`No such container: ${removed}`);
  });

  it('refuses to remove a running container without force', async () => {
    const { manager } = h;
    const id = await manager.create({ image: 'busybox', name: 'busy', cmd: ['sleep', '1000'] });
    await manager.start(id);
    await expect(manager.remove('busy')).rejects.toThrow(
      'cannot remove container "/busy": container is running: stop the container before removing or force remove',
    );
    await manager.remove('busy', { force: true });
    expect(() => manager.resolve('busy')).toThrow('No such container: busy');
  });

  it('answers stop once the exit is recorded, releases the run after it, and a new manager finishes a release cut short', async () => {
    // The first manager's runtime holds the container's runtime delete (the teardown's first part) until released.
    const gated = testRuntime(host);
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let heldId: string | undefined;
    const realDelete = gated.delete.bind(gated);
    gated.delete = async (cid, options) => {
      if (cid === heldId) await held;
      return realDelete(cid, options);
    };
    h.manager.close();
    h = makeManager(gated);
    const first = h.manager;
    await first.init();
    const id = await first.create({ image: 'busybox', cmd: ['sh', '-c', 'trap "echo bye; exit 3" TERM; echo ready; while true; do sleep 0.1; done'] });
    await first.start(id);
    heldId = id;
    await waitUntil('the trap to be set', async () => (await logsOf(first, id)) === 'ready\n');
    const runcState = join(host.runRoot, 'runc', id);
    const rootfs = (await first.inspect(id)).GraphDriver.Data.MergedDir!;

    // Waiting for the held teardown would hang here (the test's timeout).
    await first.stop(id, { timeout: 10 });
    expect((await first.inspect(id)).State).toMatchObject({ Status: 'exited', ExitCode: 3, Running: false });
    expect(await logsOf(first, id)).toBe('ready\nbye\n'); // the log is complete when stop answers
    expect(h.events.filter((e) => e.id === id).map((e) => e.action)).toEqual(['create', 'start', 'kill', 'die', 'stop']);
    expect(existsSync(runcState)).toBe(true); // the teardown is under way (its runtime delete held)

    first.close(); // the agent dies mid-teardown
    h = makeManager();
    const second = h.manager;
    await second.init();
    expect(existsSync(runcState)).toBe(false);
    expect(await isMountpoint(rootfs)).toBe(false);
    expect((await second.inspect(id)).State).toMatchObject({ Status: 'exited', ExitCode: 3 });
    release(); // the first manager's teardown ends without writing (it was closed)
    await second.remove(id);
    await expect(second.inspect(id)).rejects.toThrow(/No such container/);
  });

  it('is adopted by a new manager after an agent restart, which later collects its exit code', async () => {
    const first = h.manager;
    const survivor = await first.create({ image: 'busybox', cmd: ['sh', '-c', 'sleep 2; exit 7'] });
    const diedMeanwhile = await first.create({ image: 'busybox', cmd: ['sh', '-c', 'sleep 0.3; exit 5'] });
    await first.start(survivor);
    await first.start(diedMeanwhile);
    const pid = (await first.inspect(survivor)).State.Pid;
    expect(pid).toBeGreaterThan(0);
    first.close(); // the agent goes away; conmon keeps the containers
    await waitUntil('the exit code', async () => (await h.runtime.exitCode(diedMeanwhile)) !== undefined, { timeoutMs: 15_000 }); // exits while no agent runs
    expect((await first.inspect(diedMeanwhile)).State.Running).toBe(true); // nobody saw it exit

    h = makeManager();
    const second = h.manager;
    await second.init();
    expect((await second.inspect(survivor)).State).toMatchObject({ Status: 'running', Pid: pid });
    expect((await second.inspect(diedMeanwhile)).State).toMatchObject({ Status: 'exited', ExitCode: 5 });
    expect(await second.wait(survivor)).toBe(7);
    expect((await second.inspect(survivor)).State).toMatchObject({ Status: 'exited', ExitCode: 7 });
  });

  it('on agent start, restarts always (even stopped by the user) and unless-stopped (unless stopped)', async () => {
    const first = h.manager;
    const always = await first.create({ image: 'busybox', cmd: ['sleep', '1000'], restartPolicy: { name: 'always' } });
    const unlessStopped = await first.create({ image: 'busybox', cmd: ['sleep', '1000'], restartPolicy: { name: 'unless-stopped' } });
    const never = await first.create({ image: 'busybox', cmd: ['sleep', '1000'] });
    for (const id of [always, unlessStopped, never]) {
      await first.start(id);
      await first.stop(id, { timeout: 0 });
    }
    first.close();

    h = makeManager();
    await h.manager.init();
    expect((await h.manager.inspect(always)).State.Status).toBe('running');
    expect((await h.manager.inspect(unlessStopped)).State.Status).toBe('exited');
    expect((await h.manager.inspect(never)).State.Status).toBe('exited');
  });

  it('restarts by hand, exports the filesystem and prunes stopped containers', async () => {
    const { manager, events } = h;
    // Each run rewrites /file; it is stopped only once the write is done (a kill between the
    // shell's O_TRUNC open and its write left an empty file under load: reclaimed 0, not 5).
    const id = await manager.create({ image: 'busybox', cmd: ['sh', '-c', 'echo data > /file; echo written; sleep 1000'] });
    await manager.start(id);
    await waitUntil('the first write', async () => (await logsOf(manager, id)) === 'written\n');
    const pid = (await manager.inspect(id)).State.Pid;
    await manager.restart(id, { timeout: 0 });
    await waitUntil('the second write', async () => (await logsOf(manager, id)) === 'written\nwritten\n');
    const info = await manager.inspect(id);
    expect(info.State.Status).toBe('running');
    expect(info.State.Pid).not.toBe(pid);
    expect(events.filter((e) => e.id === id).map((e) => e.action).slice(-5)).toEqual(['kill', 'die', 'stop', 'start', 'restart']);
    await manager.stop(id, { timeout: 0 });

    const names = (await readTarEntries(await manager.export(id))).map((e) => e.header.name);
    expect(names).toContain('file');
    expect(names).toContain('bin/busybox');

    const running = await manager.create({ image: 'busybox', cmd: ['sleep', '1000'] });
    await manager.start(running);
    expect(await manager.prune()).toEqual({ deleted: [id], spaceReclaimed: 5 }); // "data\n"
    expect((await manager.list({ all: true })).map((c) => c.Id)).toEqual([running]);
  });

  it('marks a container killed by the OOM killer', async () => {
    const { manager, events } = h;
    const id = await manager.create({
      image: 'busybox',
      cmd: ['sh', '-c', 'dd if=/dev/zero of=/dev/null bs=64M count=1'],
      resources: { memory: 16 * 1024 * 1024 },
    });
    await manager.start(id);
    expect(await manager.wait(id)).toBe(137);
    expect((await manager.inspect(id)).State.OOMKilled).toBe(true);
    expect(events.filter((e) => e.id === id).map((e) => e.action)).toEqual(['create', 'start', 'oom', 'die']);
  });

  it('pauses, unpauses, renames, lists with filters, execs, tops, stats and diffs', async () => {
    const { manager } = h;
    const id = await manager.create({
      image: 'busybox',
      name: 'svc',
      cmd: ['sh', '-c', 'echo x > /created; rm /bin/true; sleep 1000'],
      labels: { tier: 'web' },
    });
    const other = await manager.create({ image: 'busybox', name: 'other', cmd: ['true'] });
    await manager.start(id);

    await manager.pause('svc');
    expect((await manager.inspect('svc')).State).toMatchObject({ Status: 'paused', Paused: true, Running: true });
    expect((await manager.list())[0]!.Status).toMatch(/\(Paused\)$/);
    await expect(manager.pause('svc')).rejects.toThrow(`Container ${id} is already paused`);
    await manager.unpause('svc');
    await expect(manager.unpause('svc')).rejects.toThrow(`Container ${id} is not paused`);

    await manager.rename('svc', 'svc2');
    expect(manager.resolve('svc2')).toBe(id);
    await expect(manager.rename(other, 'svc2')).rejects.toThrow('Conflict. The container name "/svc2" is already in use');

    expect((await manager.list({ filters: { label: ['tier=web'] } })).map((c) => c.Id)).toEqual([id]);
    expect((await manager.list({ all: true, filters: { status: ['created'] } })).map((c) => c.Id)).toEqual([other]);
    expect((await manager.list({ all: true, filters: { name: ['^svc'] } })).map((c) => c.Id)).toEqual([id]);
    expect((await manager.list({ all: true, filters: { ancestor: ['busybox'] } })).length).toBe(2);
    expect((await manager.list({ latest: true }))[0]!.Id).toBe(other);
    expect(manager.resolve(id.slice(0, 12))).toBe(id);

    let out = '';
    let err = '';
    const session = await manager.exec('svc2', {
      cmd: ['sh', '-c', 'cat /created; read line; echo "got $line" >&2; exit 4'],
      stdin: true,
      onStdout: (d) => (out += d.toString()),
      onStderr: (d) => (err += d.toString()),
    });
    expect(session.id).toMatch(/^[0-9a-f]{64}$/);
    session.write('hi\n');
    session.closeStdin();
    expect(await session.exitCode).toBe(4);
    expect(out).toBe('x\n');
    expect(err).toBe('got hi\n');
    await expect(manager.exec(other, { cmd: ['true'] })).rejects.toThrow(`Container ${other} is not running`);

    const top = await manager.top(id);
    expect(top.Processes.some((p) => p.join(' ').includes('sleep 1000'))).toBe(true);

    const stats = await manager.stats(id);
    expect(stats.memory_stats.usage).toBeGreaterThan(0);
    expect(stats.pids_stats.current).toBeGreaterThan(0);
    expect(stats.cpu_stats.system_cpu_usage).toBeGreaterThan(0);

    const changes = await manager.diff(id);
    expect(changes).toContainEqual({ kind: 'A', path: '/created' });
    expect(changes).toContainEqual({ kind: 'D', path: '/bin/true' });
    expect(changes.map((c) => c.path)).not.toContain('/etc/hosts');
    expect(await manager.commitInfo(id)).toMatchObject({ id, imageId: (await manager.inspect(id)).Image, exclude: expect.arrayContaining(['etc/hostname', 'etc/resolv.conf']) });
  });
  it('lists with one index lookup per image reference, not one per container, and no image record read', async () => {
    // `ps` of 20 containers of one image read that image's record 20 times, then once (its manifest
    // and config blobs); the IMAGE column needs only the id the reference names (bench/README.md).
    const calls = { resolve: 0, idOf: 0 };
    const counting = new Proxy(host.images, {
      get(target, key) {
        const value: unknown = Reflect.get(target, key, target);
        if (key === 'resolve') return (...args: Parameters<typeof target.resolve>) => (calls.resolve++, target.resolve(...args));
        if (key === 'idOf') return (...args: Parameters<typeof target.idOf>) => (calls.idOf++, target.idOf(...args));
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    h.manager.close();
    h = makeManager(testRuntime(host), counting);
    await h.manager.init();
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push(await h.manager.create({ image: 'busybox', cmd: ['true'] }));
    Object.assign(calls, { resolve: 0, idOf: 0 });
    const listed = await h.manager.list({ all: true });
    expect(listed.map((c) => c.Id).sort()).toEqual([...ids].sort());
    expect(listed.map((c) => c.Image)).toEqual(['busybox', 'busybox', 'busybox']);
    expect(calls).toEqual({ resolve: 0, idOf: 1 });
    expect(h.manager.stateCounts()).toEqual(new Map([['created', 3]]));
  });

  it('keeps a container running when waiting for its exit fails while its conmon runs, and records the real exit', async () => {
    const runtime = testRuntime(host);
    const realWait = runtime.waitExit.bind(runtime);
    let failures = 0;
    runtime.waitExit = async (id, signal) => {
      if (failures++ === 0) throw new FailedPreconditionError('the wait gave up (as an exit dir lost under the watcher)');
      return realWait(id, signal);
    };
    h.manager.close();
    h = makeManager(runtime);
    await h.manager.init();
    const id = await h.manager.create({ image: 'busybox', cmd: ['sh', '-c', 'sleep 1; exit 4'] });
    await h.manager.start(id);
    expect(await h.manager.wait(id)).toBe(4);
    expect(failures).toBe(2);
    expect((await h.manager.inspect(id)).State).toMatchObject({ Status: 'exited', ExitCode: 4 });
  });
});
