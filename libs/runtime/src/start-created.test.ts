import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { waitUntil } from '@berth/testing';
import { generateSpec } from './generate-spec.js';
import { readLogs } from './k8s-log.js';
import { startCreated } from './start-created.js';
import { useTestRuntime } from './test-support.js';

const fx = useTestRuntime('start');

async function createContainer(args: string[]) {
  const id = `s-${randomBytes(6).toString('hex')}`;
  fx.created.push(id);
  const bundle = join(fx.dir, 'bundles', id);
  await mkdir(bundle, { recursive: true });
  await writeFile(join(bundle, 'config.json'), JSON.stringify(generateSpec({ id, rootfs: fx.rootfs, readonlyRootfs: true, args })));
  const logPath = join(bundle, 'ctr.log');
  return { id, logPath, ...(await fx.rt.create(id, { bundle, logPath })) };
}

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function readlinkOr(path: string): string {
  try {
    return readlinkSync(path);
  } catch {
    return ''; // a descriptor closed meanwhile
  }
}

function startTime(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
}

/** A runtime root for container `c1` whose init is `pid`, with an exec.fifo. */
function fakeRoot(pid: number, extra: Record<string, unknown> = {}): string {
  const root = mkdtempSync(join(tmpdir(), 'start-created-'));
  dirs.push(root);
  mkdirSync(join(root, 'c1'));
  writeFileSync(join(root, 'c1', 'state.json'), JSON.stringify({ init_process_pid: pid, init_process_start: startTime(pid), ...extra }));
  spawnSync('mkfifo', [join(root, 'c1', 'exec.fifo')]);
  return root;
}

describe('startCreated', () => {
  it('starts a container runc created: the command runs, the fifo is gone, runc sees it running', async () => {
    const c = await createContainer(['sh', '-c', 'echo started; sleep 30']);
    expect((await fx.rt.state(c.id)).status).toBe('created');
    expect(await startCreated(fx.dirs.root, c.id)).toBe('started');
    expect(existsSync(join(fx.dirs.root, c.id, 'exec.fifo'))).toBe(false);
    expect((await fx.rt.state(c.id)).status).toBe('running');
    // Started once only: a second start finds no fifo and leaves it to runc (which refuses).
    expect(await startCreated(fx.dirs.root, c.id)).toBe('unknown');
    await expect(fx.rt.start(c.id)).rejects.toThrow(/running/);
    await fx.rt.kill(c.id, 'SIGKILL');
    expect(await fx.rt.waitExit(c.id)).toBe(137);
    let text = '';
    for await (const e of readLogs(c.logPath)) text += e.line.toString();
    expect(text).toContain('started');
  });

  it('goes through ConmonRuntime.start, the exit code arriving as with runc start', async () => {
    const c = await createContainer(['sh', '-c', 'exit 5']);
    await fx.rt.start(c.id);
    expect(await fx.rt.waitExit(c.id)).toBe(5);
  });

  it('waits for a writer that opens the fifo late, and reads to its close', async () => {
    const holder = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      const root = fakeRoot(holder.pid!);
      const writer = spawn('sh', ['-c', `sleep 0.3; printf 0 > ${join(root, 'c1', 'exec.fifo')}`], { stdio: 'ignore' });
      const written = new Promise((resolve) => writer.on('exit', resolve));
      const began = Date.now();
      expect(await startCreated(root, 'c1', { pollMs: 20 })).toBe('started');
      expect(Date.now() - began).toBeGreaterThanOrEqual(250);
      expect(existsSync(join(root, 'c1', 'exec.fifo'))).toBe(false);
      await written;
    } finally {
      holder.kill();
    }
  });

  it('leaves it to runc when the init died before writing, or hooks are recorded', async () => {
    const holder = spawn('sleep', ['30'], { stdio: 'ignore' });
    const root = fakeRoot(holder.pid!);
    const hooked = fakeRoot(holder.pid!, { config: { hooks: { poststart: [{ path: '/bin/true' }] } } });
    expect(await startCreated(hooked, 'c1')).toBe('unknown');
    const pending = startCreated(root, 'c1', { pollMs: 20 });
    const fifo = join(root, 'c1', 'exec.fifo');
    await waitUntil('the fifo open here', () => readdirSync('/proc/self/fd').some((fd) => readlinkOr(`/proc/self/fd/${fd}`) === fifo));
    holder.kill('SIGKILL');
    expect(await pending).toBe('unknown');
    expect(existsSync(join(root, 'c1', 'exec.fifo'))).toBe(true);
    expect(await startCreated(root, 'missing')).toBe('unknown');
  });
});
