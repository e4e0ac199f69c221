import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { waitUntil } from '@berth/testing';
import { AlreadyExistsError, FailedPreconditionError, InvalidArgumentError } from '@berth/errors';
import { demuxFrames } from './attach.js';
import type { ExecSession } from './exec-session.js';
import { generateSpec } from './generate-spec.js';
import { useTestRuntime } from './test-support.js';

const fx = useTestRuntime('exec');
const { created } = fx;
const sessions: ExecSession[] = [];

afterEach(async () => {
  for (const s of sessions.splice(0)) {
    s.close();
    await s.done.catch(() => undefined);
  }
});

/** A running `sleep 600` container on the shared read-only busybox rootfs. */
async function runningContainer(): Promise<string> {
  const id = `x-${randomBytes(6).toString('hex')}`;
  created.push(id);
  const bundle = join(fx.dir, 'bundles', id);
  await mkdir(bundle, { recursive: true });
  await writeFile(join(bundle, 'config.json'), JSON.stringify(generateSpec({ id, rootfs: fx.rootfs, readonlyRootfs: true, args: ['sleep', '600'] })));
  await fx.rt.create(id, { bundle, logPath: join(bundle, 'ctr.log') });
  await fx.rt.start(id);
  return id;
}

async function track(session: Promise<ExecSession>): Promise<ExecSession> {
  const s = await session;
  sessions.push(s);
  return s;
}

/** All output, frame headers stripped, joined per stream. */
async function outputOf(s: ExecSession): Promise<{ stdout: string; stderr: string }> {
  const out = { stdout: '', stderr: '' };
  for await (const f of demuxFrames(s.output)) out[f.stream] += f.data.toString();
  return out;
}

/** Resolves once the joined stdout contains `text`, reading frames as they come. */
function collector(s: ExecSession) {
  let text = '';
  const waiters: { needle: string; resolve: () => void }[] = [];
  const finished = (async () => {
    for await (const f of demuxFrames(s.output)) {
      text += f.data.toString();
      for (const w of waiters.filter((x) => text.includes(x.needle))) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
    return text;
  })();
  return {
    finished,
    get text() {
      return text;
    },
    waitFor(needle: string): Promise<void> {
      if (text.includes(needle)) return Promise.resolve();
      const wait = new Promise<void>((resolve) => waiters.push({ needle, resolve }));
      return Promise.race([wait, finished.then(() => Promise.reject(new Error(`output ended without ${JSON.stringify(needle)}: ${JSON.stringify(text)}`)))]);
    },
  };
}

/** Session leftovers: exec dirs in the container's persist dir, links in the socket dir, exec conmons. */
async function leftovers(id: string): Promise<string[]> {
  const persist = (await readdir(join(fx.dirs.persistDir, id)).catch(() => [] as string[])).filter((f) => f.startsWith('exec-'));
  const links = (await readdir(fx.dirs.socketDir).catch(() => [] as string[])).filter((f) => f !== id);
  const conmons = readdirSync('/proc').filter((pid) => {
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      return argv.includes('--exec') && argv.includes(id);
    } catch {
      return false;
    }
  });
  return [...persist, ...links, ...conmons.map((pid) => `conmon pid ${pid}`)];
}

/** The state letter of `pid` in /proc/<pid>/stat ('T' stopped), or undefined once it is gone. */
function processState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return undefined;
  }
}

/** Pids of the attach relays of exec session `execId`. */
function relayPids(execId: string): number[] {
  return readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .filter((pid) => {
      try {
        const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
        return (argv[0] ?? '').split('/').pop()!.startsWith('berth-attach') && argv.some((a) => a.includes(`exec-${execId}/`));
      } catch {
        return false;
      }
    })
    .map(Number);
}

describe('ConmonRuntime.execInteractive', () => {
  it('allocates a terminal: tty prints a /dev/pts path, test -t 0 succeeds, TERM is set', async () => {
    const id = await runningContainer();
    const s = await track(fx.rt.execInteractive(id, { args: ['sh', '-c', 'tty; test -t 0 && test -t 1 && echo is-a-tty; echo TERM=$TERM'], tty: true }));
    expect(s.pid).toBeGreaterThan(0);
    expect(s.execId).toMatch(/^[0-9a-f]{32}$/);
    const out = await outputOf(s);
    expect(await s.done).toBe(0);
    expect(out.stderr).toBe('');
    expect(out.stdout).toMatch(/^\/dev\/pts\/\d+\r\nis-a-tty\r\nTERM=xterm\r\n$/);
    expect(await leftovers(id)).toEqual([]);
  });

  it('streams stdin without a terminal: cat echoes and ends with 0 at end of input', async () => {
    const id = await runningContainer();
    const s = await track(fx.rt.execInteractive(id, { args: ['sh', '-c', 'cat; echo done >&2'], stdin: true }));
    const out = collector(s);
    s.stdin.write('hello ');
    await out.waitFor('hello ');
    s.stdin.end('world\n');
    expect(await s.done).toBe(0);
    expect(await out.finished).toBe('hello world\ndone\n');
    expect(await leftovers(id)).toEqual([]);
  });

  it('separates stdout and stderr without a terminal and reports the exit code', async () => {
    const id = await runningContainer();
    const s = await track(fx.rt.execInteractive(id, { args: ['sh', '-c', 'test -t 0 || echo no-tty; echo err >&2; exit 5'], env: ['A=1'] }));
    const out = await outputOf(s);
    expect(await s.done).toBe(5);
    expect(out).toEqual({ stdout: 'no-tty\n', stderr: 'err\n' });
  });

  it('relays output still queued after the process ended when input arrives then (conmon no longer reads it)', async () => {
    // `script`'s end-of-input byte could reach the relay just as conmon exited: the relay's write
    // failed and it exited, dropping the output conmon had queued (`exec -it … 'tty; exit 6'`
    // printed nothing, issue 10). Here the relay is held stopped while the process (stopped by
    // itself until then) prints on both streams and conmon queues them and exits, and until the
    // input waits in its stdin: it then finds both ready at once.
    const id = await runningContainer();
    const s = await track(fx.rt.execInteractive(id, { args: ['sh', '-c', 'kill -STOP $$; echo out; echo err >&2; exit 3'], stdin: true }));
    await waitUntil('the process to stop itself', () => processState(s.pid) === 'T');
    const [relay] = relayPids(s.execId);
    expect(relay).toBeDefined();
    process.kill(relay!, 'SIGSTOP');
    try {
      process.kill(s.pid, 'SIGCONT');
      await waitUntil('conmon to exit', async () => !(await leftovers(id)).some((l) => l.startsWith('conmon pid')));
      await new Promise<void>((resolve, reject) => s.stdin.write('late input\n', (err) => (err ? reject(err) : resolve())));
    } finally {
      process.kill(relay!, 'SIGCONT');
    }
    const out = await outputOf(s);
    expect(await s.done).toBe(3);
    expect(out).toEqual({ stdout: 'out\n', stderr: 'err\n' });
  });

  it('runs an interactive shell on a terminal: input echoed, exit code of exit', async () => {
    const id = await runningContainer();
    const s = await track(fx.rt.execInteractive(id, { args: ['sh'], tty: true, stdin: true, user: { uid: 1000, gid: 1000 } }));
    const out = collector(s);
    s.stdin.write('id -u; echo hi; exit 3\n');
    expect(await s.done).toBe(3);
    const text = await out.finished;
    expect(text).toContain('\r\n1000\r\nhi\r\n');
    expect(await leftovers(id)).toEqual([]);
  });

  it('sizes the terminal at start and resizes it', async () => {
    const id = await runningContainer();
    const s = await track(
      fx.rt.execInteractive(id, { args: ['sh'], tty: true, stdin: true, consoleSize: { height: 24, width: 80 } }),
    );
    const out = collector(s);
    // The terminal echoes the input: wait for the marker as computed by the shell, not as typed.
    s.stdin.write('stty size; echo mark-$((40+2))\n');
    await out.waitFor('mark-42\r\n');
    await s.resize({ height: 40, width: 132 });
    s.stdin.write('stty size; exit\n');
    expect(await s.done).toBe(0);
    const text = await out.finished;
    expect(text).toMatch(/\r\n24 80\r\n[^]*\r\n40 132\r\n/);
    await expect(s.resize({ height: 10, width: 10 })).rejects.toThrow(`Cannot resize the terminal of exec session ${s.execId}: it has ended`);
  });

  it('kills the process on close and on abort (137) and leaves nothing behind', async () => {
    const id = await runningContainer();
    const s = await track(fx.rt.execInteractive(id, { args: ['sh', '-c', 'echo started; sleep 600'], tty: true, stdin: true }));
    const out = collector(s);
    await out.waitFor('started');
    expect(await fx.rt.pids(id)).toContain(s.pid);
    s.close();
    expect(await s.done).toBe(137);
    await out.finished;
    expect(await fx.rt.pids(id)).not.toContain(s.pid);
    expect(await leftovers(id)).toEqual([]);

    const controller = new AbortController();
    const t = await track(fx.rt.execInteractive(id, { args: ['sleep', '600'], signal: controller.signal, execId: 'my-exec' }));
    expect(t.execId).toBe('my-exec');
    for (const taken of ['my-exec', id]) {
      const err = await fx.rt.execInteractive(id, { args: ['true'], execId: taken }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AlreadyExistsError);
      expect((err as Error).message).toBe(`Exec id "${taken}" is already in use`);
    }
    controller.abort();
    expect(await t.done).toBe(137);
    expect(await leftovers(id)).toEqual([]);
  });

  it('cleans up through conmon when the calling process dies mid-session', async () => {
    const id = await runningContainer();
    const script = join(fx.dir, 'caller.mts');
    await writeFile(
      script,
      [
        `const { ConmonRuntime } = await import(${JSON.stringify(new URL('./conmon-runtime.ts', import.meta.url).pathname)});`,
        `const rt = new ConmonRuntime(${JSON.stringify(fx.dirs)});`,
        `const s = await rt.execInteractive(${JSON.stringify(id)}, { args: ['sleep', '1'], tty: true, stdin: true });`,
        `console.log(s.execId);`,
        `process.exit(0);`,
      ].join('\n'),
    );
    const child = spawn(process.execPath, ['--import', 'tsx', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    expect(await new Promise((resolve) => child.on('close', resolve))).toBe(0);
    expect(out.trim()).toMatch(/^[0-9a-f]{32}$/);
    expect(await leftovers(id)).toContain(`exec-${out.trim()}`);
    await waitUntil('no exec process left', async () => (await leftovers(id)).length === 0);
  });

  it('reports a missing command like exec (COMMAND_NOT_FOUND) and leaves nothing behind', async () => {
    const id = await runningContainer();
    for (const tty of [false, true]) {
      const err = await fx.rt.execInteractive(id, { args: ['nosuch'], tty, stdin: true }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InvalidArgumentError);
      expect((err as InvalidArgumentError).code).toBe('COMMAND_NOT_FOUND');
      expect((err as Error).message).toMatch(/^OCI runtime exec failed: .*exec: "nosuch": executable file not found in \$PATH/);
      expect(await leftovers(id)).toEqual([]);
    }
    const notExecutable = await fx.rt.execInteractive(id, { args: ['/etc/passwd'] }).catch((e: unknown) => e);
    expect((notExecutable as InvalidArgumentError).code).toBe('COMMAND_NOT_EXECUTABLE');
    expect(await leftovers(id)).toEqual([]);
  });

  it('refuses stopped containers and bad exec ids', async () => {
    const id = await runningContainer();
    await expect(fx.rt.execInteractive(id, { args: ['true'], execId: '../x' })).rejects.toThrow(
      `Invalid exec id "../x": expected letters, digits, '_', '.' and '-'`,
    );
    await fx.rt.kill(id, 'KILL');
    await fx.rt.waitExit(id);
    const err = await fx.rt.execInteractive(id, { args: ['true'], tty: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FailedPreconditionError);
    expect((err as Error).message).toBe(`Container ${id} is not running: its state is "stopped"`);
  });
});
