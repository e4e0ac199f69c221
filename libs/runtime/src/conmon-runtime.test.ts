import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, watch } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { waitUntil } from '@berth/testing';
import { FailedPreconditionError, InvalidArgumentError, NotFoundError } from '@berth/errors';
import { demuxFrames, type AttachSession } from './attach.js';
import { ConmonRuntime } from './conmon-runtime.js';
import { defaultInitPath, generateSpec, type SpecOptions } from './generate-spec.js';
import { readLogs } from './k8s-log.js';
import { deleteStopped } from './stopped-delete.js';
import { useTestRuntime } from './test-support.js';

const fx = useTestRuntime('rt');
const { created } = fx;

/** Argument lists whose containers get a stdin pipe (for attach tests). */
const stdin = new WeakSet<string[]>();

/** Writes a bundle for `args` (shared read-only busybox rootfs) and creates the container. */
async function createContainer(args: string[], options: Partial<SpecOptions> = {}) {
  const id = `t-${randomBytes(6).toString('hex')}`;
  created.push(id);
  const bundle = join(fx.dir, 'bundles', id);
  await mkdir(bundle, { recursive: true });
  const spec = generateSpec({ id, rootfs: fx.rootfs, readonlyRootfs: true, args, ...options });
  await writeFile(join(bundle, 'config.json'), JSON.stringify(spec));
  const logPath = join(bundle, 'ctr.log');
  const res = await fx.rt.create(id, { bundle, logPath, terminal: options.terminal, stdin: stdin.has(args) });
  return { id, bundle, logPath, ...res };
}

/** Pids of the processes whose command starts with `name` (their cmdline's first word's basename). */
function pidsOf(name: string): number[] {
  return readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .filter((pid) => {
      try {
        return (readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0] ?? '').split('/').pop()!.startsWith(name);
      } catch {
        return false;
      }
    })
    .map(Number);
}

async function logText(logPath: string): Promise<string> {
  let text = '';
  for await (const e of readLogs(logPath)) text += `${e.stream}:${e.line.toString()}${e.partial ? '' : '\n'}`;
  return text;
}

async function collectFrames(output: AsyncIterable<Buffer>): Promise<string[]> {
  const out: string[] = [];
  for await (const f of demuxFrames(output)) out.push(`${f.stream}:${f.data.toString()}`);
  return out;
}

describe('ConmonRuntime', () => {
  it('runs a command: output in the log, exit code from conmon, PID 1 is the command, hostname set', async () => {
    const c = await createContainer(['sh', '-c', 'echo hello; echo oops >&2; ps -o pid,args; hostname; exit 3'], { hostname: 'box1' });
    expect(c.pid).toBeGreaterThan(0);
    expect(c.conmonPid).toBeGreaterThan(0);
    expect((await fx.rt.state(c.id)).status).toBe('created');
    await fx.rt.start(c.id);
    expect(await fx.rt.waitExit(c.id)).toBe(3);
    expect(await fx.rt.exitCode(c.id)).toBe(3);
    expect(await fx.rt.oomKilled(c.id)).toBe(false);
    const text = await logText(c.logPath);
    expect(text).toContain('stdout:hello\n');
    expect(text).toContain('stderr:oops\n');
    expect(text).toMatch(/stdout:\s+1 sh -c echo hello/);
    expect(text).toContain('stdout:box1\n');
    expect((await fx.rt.state(c.id)).status).toBe('stopped');
  });

  it('reports the runtime error when the command does not exist', async () => {
    const err = await createContainer(['nosuch']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect((err as InvalidArgumentError).code).toBe('COMMAND_NOT_FOUND');
    expect((err as Error).message).toMatch(/^OCI runtime create failed: .*exec: "nosuch": executable file not found in \$PATH/);
  });

  it('throws NotFoundError for unknown containers', async () => {
    await expect(fx.rt.state('t-unknown')).rejects.toThrow(NotFoundError);
    await expect(fx.rt.state('t-unknown')).rejects.toThrow('No such container: t-unknown');
    await expect(fx.rt.start('t-unknown')).rejects.toThrow(NotFoundError);
    expect(await fx.rt.exitCode('t-unknown')).toBeUndefined();
    await fx.rt.delete('t-unknown');
  });

  it('records OOM kills under a memory limit: exit 137 and oomKilled', async () => {
    const c = await createContainer(['sh', '-c', 'head -c 64m /dev/zero > /dev/shm/fill; echo survived'], { memory: 16 * 1024 * 1024 });
    await fx.rt.start(c.id);
    expect(await fx.rt.waitExit(c.id)).toBe(137);
    await waitUntil('the OOM kill', () => fx.rt.oomKilled(c.id));
    expect(await logText(c.logPath)).not.toContain('survived');
  });

  it('enforces the pids limit', async () => {
    // The limit counts threads, and runc init waits for start with 5 of them (Go's runtime): a limit of 5 left it
    // none to spare, and now and then it died before start ("cannot start a container that has stopped").
    const c = await createContainer(['sh', '-c', 'for i in $(seq 20); do sleep 30 & done; wait'], { pidsLimit: 10 });
    await fx.rt.start(c.id);
    await waitUntil('a refused fork in the log', async () => (await logText(c.logPath)).includes("can't fork"));
    const stats = await fx.rt.stats(c.id);
    expect(stats.pids.limit).toBe(10);
    expect(stats.pids.current).toBeLessThanOrEqual(10);
  });

  it('delivers SIGTERM to a trapping shell, which exits on its own terms; SIGKILL cannot be trapped', async () => {
    const trap = await createContainer(['sh', '-c', 'trap "echo got TERM; exit 7" TERM; echo ready; while true; do sleep 0.1; done']);
    await fx.rt.start(trap.id);
    await waitUntil('the trap to be set', async () => (await logText(trap.logPath)).includes('ready'));
    await fx.rt.kill(trap.id, 'SIGTERM');
    expect(await fx.rt.waitExit(trap.id)).toBe(7);
    expect(await logText(trap.logPath)).toContain('stdout:got TERM\n');

    // A shell that handles TERM and carries on: once its handler has run, TERM has come and gone.
    const ignore = await createContainer(['sh', '-c', 'trap "echo ignored TERM" TERM; echo ready; while true; do sleep 0.1; done']);
    await fx.rt.start(ignore.id);
    await waitUntil('the trap to be set', async () => (await logText(ignore.logPath)).includes('ready'));
    await fx.rt.kill(ignore.id, 'TERM');
    await waitUntil('TERM to be ignored', async () => (await logText(ignore.logPath)).includes('ignored TERM'));
    expect((await fx.rt.state(ignore.id)).status).toBe('running');
    await fx.rt.kill(ignore.id, 'KILL');
    expect(await fx.rt.waitExit(ignore.id)).toBe(137);
    await expect(fx.rt.kill(ignore.id, 'NOPE')).rejects.toThrow('Invalid signal: "NOPE"');
  });

  it('deletes an exited container without runc: its cgroups and runtime state go, a running one needs force', async () => {
    const c = await createContainer(['sh', '-c', 'sleep 0.2 & wait; exit 4']);
    await fx.rt.start(c.id);
    const cgroups = ['memory', 'pids', 'freezer', 'cpu'].map((controller) => `/sys/fs/cgroup/${controller}/berth/${c.id}`);
    expect(cgroups.every((dir) => existsSync(dir))).toBe(true);
    expect(await fx.rt.waitExit(c.id)).toBe(4);
    expect(await deleteStopped(fx.dirs.root, c.id)).toBe(true); // what delete does first; runc is left nothing to do
    expect(existsSync(join(fx.dirs.root, c.id))).toBe(false);
    await fx.rt.delete(c.id);
    expect(cgroups.filter((dir) => existsSync(dir))).toEqual([]);
    await expect(fx.rt.state(c.id)).rejects.toThrow(NotFoundError);
    const running = await createContainer(['sleep', '60']);
    await fx.rt.start(running.id);
    expect(await deleteStopped(fx.dirs.root, running.id)).toBe(false);
    await expect(fx.rt.delete(running.id)).rejects.toThrow(FailedPreconditionError);
    await fx.rt.delete(running.id, { force: true });
    expect(existsSync(`/sys/fs/cgroup/memory/berth/${running.id}`)).toBe(false);
  });

  it('pauses and resumes through the freezer', async () => {
    const c = await createContainer(['sleep', '60']);
    await fx.rt.start(c.id);
    await fx.rt.pause(c.id);
    expect((await fx.rt.state(c.id)).status).toBe('paused');
    const freezer = await readFile(`/sys/fs/cgroup/freezer/berth/${c.id}/freezer.state`, 'utf8');
    expect(freezer.trim()).toBe('FROZEN');
    await expect(fx.rt.pause(c.id)).rejects.toThrow(FailedPreconditionError);
    await fx.rt.resume(c.id);
    expect((await fx.rt.state(c.id)).status).toBe('running');
    await expect(fx.rt.delete(c.id)).rejects.toThrow(FailedPreconditionError);
    await fx.rt.delete(c.id, { force: true });
    await expect(fx.rt.state(c.id)).rejects.toThrow(NotFoundError);
  });

  it('keeps containers running across runtime instances (agent restart)', async () => {
    const c = await createContainer(['sh', '-c', 'sleep 1; exit 5']);
    await fx.rt.start(c.id);
    // A fresh driver over the same directories, as after an agent restart.
    const again = new ConmonRuntime({ ...fx.dirs });
    expect((await again.state(c.id)).status).toBe('running');
    expect(await again.conmonAlive(c.id)).toBe(true);
    expect((await again.list()).map((s) => s.id)).toContain(c.id);
    expect(await again.waitExit(c.id)).toBe(5);
    await waitUntil('conmon to exit', async () => !(await again.conmonAlive(c.id)));
  });

  it('waitExit answers at once when the exit is written while it reads the exit file (no lost wake-up)', async () => {
    // No container: the exit file is written by hand, in the middle of the waiter's first look,
    // and that look answers "not written", as a read that began just before conmon wrote it does.
    const id = `t-${randomBytes(6).toString('hex')}`;
    const rt = new ConmonRuntime({ ...fx.dirs });
    const exitFile = join(fx.dirs.exitDir, id);
    await mkdir(fx.dirs.exitDir, { recursive: true }); // conmon makes it with the first container
    const read = rt.exitCode.bind(rt);
    let first = true;
    rt.exitCode = async (which: string) => {
      const code = await read(which);
      if (!first) return code;
      first = false;
      // The event of this write reaches the waiter's watcher before the look ends.
      const seen = new Promise<void>((resolve) => {
        const w = watch(fx.dirs.exitDir, (_e, file) => file === id && (w.close(), resolve()));
      });
      await writeFile(exitFile, '9');
      await seen;
      await new Promise((resolve) => setImmediate(resolve));
      return code;
    };
    try {
      // The poll would find it after 5 s; the event must have it found before.
      const outcome = await Promise.race([rt.waitExit(id), new Promise((resolve) => setTimeout(() => resolve('not before the 5 s poll'), 3_000))]);
      expect(outcome).toBe(9);
    } finally {
      await rm(exitFile, { force: true });
    }
  });

  it('waitExit rejects when the container\'s conmon is gone without an exit code', async () => {
    const c = await createContainer(['sleep', '60']);
    await fx.rt.start(c.id);
    const waiting = fx.rt.waitExit(c.id).then(
      (code) => ({ code }),
      (err: unknown) => ({ err }),
    );
    const conmonPid = Number(readFileSync(join(fx.dirs.persistDir, c.id, 'conmon.pid'), 'utf8'));
    process.kill(conmonPid, 'SIGKILL');
    const outcome = await waiting;
    expect(outcome).toEqual({ err: expect.any(FailedPreconditionError) });
    expect(String((outcome as { err: Error }).err.message)).toBe(`Cannot wait for container "${c.id}": its monitor (conmon) is not running and no exit code was recorded`);
    await fx.rt.kill(c.id, 'SIGKILL').catch(() => {}); // the container without its monitor: taken down here
  });

  it("gives conmon PATH, LANG and its pipes, not the agent's environment (a container's and an exec's)", async () => {
    process.env.BERTH_TEST_SECRET = 'hunter2';
    try {
      const c = await createContainer(['sleep', '60']);
      await fx.rt.start(c.id);
      const environ = (pid: number) => readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter(Boolean).map((e) => e.split('=')[0]).sort();
      expect(environ(c.conmonPid)).toEqual(['LANG', 'PATH', '_OCI_SYNCPIPE']);
      // An exec session's process is conmon's child (conmon is its subreaper).
      const session = await fx.rt.execInteractive(c.id, { args: ['sleep', '60'] });
      try {
        const execConmon = Number(readFileSync(`/proc/${session.pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]);
        expect(readFileSync(`/proc/${execConmon}/cmdline`, 'utf8').split('\0')).toContain('--exec');
        expect(environ(execConmon)).toEqual(['LANG', 'PATH', '_OCI_ATTACHPIPE', '_OCI_STARTPIPE', '_OCI_SYNCPIPE']);
      } finally {
        session.close();
        await session.done.catch(() => undefined);
      }
    } finally {
      delete process.env.BERTH_TEST_SECRET;
    }
  });

  it('execs in a running container: output, exit code, env, user, stdin', async () => {
    const c = await createContainer(['sleep', '60'], { env: ['FOO=bar'] });
    await fx.rt.start(c.id);
    const res = await fx.rt.exec(c.id, { args: ['sh', '-c', 'echo $FOO $BAZ; id -u; echo err >&2; exit 4'], env: ['BAZ=qux'], user: { uid: 1000, gid: 1000 } });
    expect(res).toEqual({ exitCode: 4, stdout: Buffer.from('bar qux\n1000\n'), stderr: Buffer.from('err\n') });
    const cat = await fx.rt.exec(c.id, { args: ['cat'], stdin: 'piped' });
    expect(cat.stdout.toString()).toBe('piped');
    const err = await fx.rt.exec(c.id, { args: ['nosuch'] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect((err as InvalidArgumentError).code).toBe('COMMAND_NOT_FOUND');
    await expect(fx.rt.execDetached(c.id, { args: ['nosuch'] })).rejects.toThrow(/^OCI runtime exec failed: .*executable file not found/);
    const detached = await fx.rt.execDetached(c.id, { args: ['sleep', '30'] });
    expect((await fx.rt.pids(c.id))).toContain(detached.pid);
    // `exec --detach` returns once the process exists; it shows as `runc init` until it has exec'd.
    await waitUntil('sleep 30 in top', async () => (await fx.rt.top(c.id)).Processes.some((p) => p[7] === 'sleep 30'));
    const top = await fx.rt.top(c.id);
    expect(top.Titles).toEqual(['UID', 'PID', 'PPID', 'C', 'STIME', 'TTY', 'TIME', 'CMD']);
    expect(top.Processes.map((p) => p[7])).toEqual(expect.arrayContaining(['sleep 60', 'sleep 30']));
    const stats = await fx.rt.stats(c.id);
    expect(stats.cpu.totalNs).toBeGreaterThan(0);
    expect(stats.memory.rawUsage).toBeGreaterThan(0);
    expect(stats.pids.current).toBe(2);
  });

  it('refuses exec in a stopped container', async () => {
    const c = await createContainer(['true']);
    await fx.rt.start(c.id);
    await fx.rt.waitExit(c.id);
    await expect(fx.rt.exec(c.id, { args: ['true'] })).rejects.toThrow(`Container ${c.id} is not running: its state is "stopped"`);
  });

  it('runs with a terminal (output through conmon into the log)', async () => {
    const c = await createContainer(['sh', '-c', 'test -t 1 && echo tty'], { terminal: true });
    await fx.rt.start(c.id);
    expect(await fx.rt.waitExit(c.id)).toBe(0);
    expect(await logText(c.logPath)).toContain('stdout:tty\r');
  });

  it('attaches to stdin and output without a terminal (Docker-multiplexed frames)', async () => {
    const args = ['sh', '-c', 'read x; echo got $x; echo err >&2; exit 2'];
    stdin.add(args);
    const c = await createContainer(args);
    const session = await fx.rt.attach(c.id);
    const frames = collectFrames(session.output);
    await fx.rt.start(c.id);
    session.stdin.write('hello\n');
    await session.done;
    // conmon reads stdout and stderr separately: their relative order is not guaranteed.
    expect((await frames).sort()).toEqual(['stderr:err\n', 'stdout:got hello\n']);
    expect(await fx.rt.waitExit(c.id)).toBe(2);
  });

  it('attaches from before the create: the relay started with conmon connects once it listens, and gets the first output', async () => {
    const id = `t-${randomBytes(6).toString('hex')}`;
    created.push(id);
    const bundle = join(fx.dir, 'bundles', id);
    await mkdir(bundle, { recursive: true });
    await writeFile(join(bundle, 'config.json'), JSON.stringify(generateSpec({ id, rootfs: fx.rootfs, readonlyRootfs: true, args: ['sh', '-c', 'echo first; echo err >&2; exit 4'] })));
    let early: Promise<AttachSession> | undefined;
    await fx.rt.create(id, { bundle, logPath: join(bundle, 'ctr.log'), monitorStarted: () => (early = fx.rt.attach(id, { beforeCreate: true })) });
    expect(early).toBeDefined();
    const session = await early!;
    const frames = collectFrames(session.output);
    await fx.rt.start(id);
    await session.done;
    expect((await frames).sort()).toEqual(['stderr:err\n', 'stdout:first\n']);
    expect(await fx.rt.waitExit(id)).toBe(4);
  });

  it('ends an attach made before a create that never came when aborted: the waiting relay is gone', async () => {
    const abort = new AbortController();
    const session = fx.rt.attach('t-never-created', { beforeCreate: true, signal: abort.signal });
    const waiting = () => pidsOf('berth-attach').filter((pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('t-never-created'));
    await waitUntil('the relay waiting for the socket', () => waiting().length === 1);
    abort.abort();
    await expect(session).rejects.toThrow(FailedPreconditionError);
    await waitUntil('the relay to end', () => waiting().length === 0);
  });

  it('attaches to a terminal and resizes it', async () => {
    const args = ['sh', '-c', 'read x; stty size; echo got $x'];
    stdin.add(args);
    const c = await createContainer(args, { terminal: true });
    await fx.rt.resize(c.id, { height: 30, width: 100 });
    const session = await fx.rt.attach(c.id);
    const frames = collectFrames(session.output);
    await fx.rt.start(c.id);
    session.stdin.write('hi\n');
    await session.done;
    // A terminal has one stream; frame boundaries follow the reads, so compare the joined bytes.
    const text = (await frames).map((f) => f.replace(/^stdout:/, '')).join('');
    expect(text).toBe('hi\r\n30 100\r\ngot hi\r\n');
    expect(await fx.rt.waitExit(c.id)).toBe(0);
    await expect(fx.rt.attach('t-unknown')).rejects.toThrow('Cannot attach to container t-unknown: it has no attach socket (not created, or deleted)');
  });

  it.skipIf(!existsSync(defaultInitPath))('runs the command under tini with --init', async () => {
    const c = await createContainer(['ps', '-o', 'pid,args'], { init: true });
    await fx.rt.start(c.id);
    expect(await fx.rt.waitExit(c.id)).toBe(0);
    const text = await logText(c.logPath);
    expect(text).toMatch(/stdout:\s+1 \/sbin\/docker-init -- ps -o pid,args\n/);
  });

  it("warns that crun cannot run on this host's hybrid cgroups", async () => {
    const crun = new ConmonRuntime({ ...fx.dirs, runtime: 'crun' });
    expect(await crun.checkRuntime()).toEqual({
      ok: false,
      runtime: 'crun',
      warning: 'crun cannot run on this host: cgroups in hybrid mode not supported; falling back to runc',
    });
    expect(await fx.rt.checkRuntime()).toEqual({ ok: true, runtime: 'runc' });
  });
});
