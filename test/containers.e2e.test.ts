/**
 * End to end through the real CLI, gateway, agent, nats-server, conmon and runc: the behaviours
 * the runtime issue's "done when" lists. One platform (temporary data root, random ports) for the
 * file; every container is removed by the platform's stop() even when a test fails.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { removeAllContainers, startBusyboxPlatform, type TestPlatform, until } from '@berth/testing';

let p: TestPlatform;

beforeAll(async () => (p = await startBusyboxPlatform()), 180_000);

afterAll(() => p?.stop());

afterEach(() => removeAllContainers(p)); // a failed test must not leave containers the next one counts

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));


const inspect = async (name: string, format: string) => (await p.berth(['inspect', '--format', format, name])).stdout.trim();

describe('berth run', () => {
  it('runs a real container and prints its output', async () => {
    const r = await p.berth(['run', '--rm', 'busybox', 'echo', 'hello']);
    expect(r).toMatchObject({ code: 0, stdout: 'hello\n' });
    // --rm left nothing behind
    expect((await p.berth(['ps', '-aq'])).stdout).toBe('');
  });

  it('exits with the container exit code and keeps stdout and stderr apart', async () => {
    const r = await p.berth(['run', '--rm', 'busybox', 'sh', '-c', 'echo out; echo err >&2; exit 3']);
    expect(r.code).toBe(3);
    expect(r.stdout).toBe('out\n');
    expect(r.stderr).toBe('err\n');
  });

  it('isolates: the command is PID 1, the hostname is the short id, host files are invisible', async () => {
    const ps = await p.berth(['run', '--rm', 'busybox', 'ps', '-o', 'pid,comm']);
    expect(ps.stdout.trim().split('\n').slice(1)).toEqual([expect.stringMatching(/^\s*1\s+ps$/)]);

    const id = (await p.berth(['run', '-d', 'busybox', 'sleep', '30'])).stdout.trim();
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    const hn = await p.berth(['exec', id, 'hostname']);
    expect(hn.stdout.trim()).toBe(id.slice(0, 12));
    await p.berth(['rm', '-f', id]);

    const custom = await p.berth(['run', '--rm', '--hostname', 'web-1', 'busybox', 'cat', '/etc/hostname']);
    expect(custom.stdout).toBe('web-1\n');
    const hidden = await p.berth(['run', '--rm', 'busybox', 'ls', p.dataRoot]);
    expect(hidden.code).not.toBe(0);
    expect(hidden.stderr).toContain('No such file or directory');
  });

  it('honours env, workdir and user, from flags and from the image', async () => {
    const r = await p.berth(['run', '--rm', '-e', 'GREETING=hi', '-w', '/tmp', '-u', '1000:1000', 'busybox', 'sh', '-c', 'echo $GREETING $(pwd) $(id -u):$(id -g) $PATH']);
    expect(r.stdout.trim()).toBe('hi /tmp 1000:1000 /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin');
    const named = await p.berth(['run', '--rm', '-u', 'app', 'busybox', 'id', '-un']);
    expect(named.stdout.trim()).toBe('app');
  });

  it('applies Docker\'s ENTRYPOINT/CMD table', async () => {
    const base = (await p.berth(['run', '-d', 'busybox', 'true'])).stdout.trim();
    await p.berth(['wait', base]);
    const commit = await p.berth(['commit', '--change', 'ENTRYPOINT ["echo", "ep"]', '--change', 'CMD ["cmd"]', base, 'ep-image:1']);
    expect(commit.code, commit.stderr).toBe(0);
    const shell = await p.berth(['commit', '--change', 'ENTRYPOINT echo shell-form', '--change', 'CMD ["ignored"]', base, 'ep-image:shell']);
    expect(shell.code, shell.stderr).toBe(0);
    await p.berth(['rm', base]);

    const out = async (args: string[]) => (await p.berth(['run', '--rm', ...args])).stdout.trim();
    expect(await out(['ep-image:1'])).toBe('ep cmd'); // ENTRYPOINT exec + CMD
    expect(await out(['ep-image:1', 'arg'])).toBe('ep arg'); // args replace CMD
    expect(await out(['--entrypoint', 'echo', 'ep-image:1'])).toBe(''); // --entrypoint resets CMD
    expect(await out(['--entrypoint', 'echo', 'ep-image:1', 'x'])).toBe('x');
    expect(await out(['ep-image:shell', 'arg'])).toBe('shell-form'); // shell form ignores CMD and args
    await p.berth(['rmi', 'ep-image:1', 'ep-image:shell']);
  });
});

describe('stop, kill and restart policies', () => {
  it('stops a SIGTERM-trapping process at once and kills one that ignores SIGTERM after the grace period', async () => {
    const polite = (await p.berth(['run', '-d', 'busybox', 'sh', '-c', 'trap "exit 0" TERM; echo ready; while true; do sleep 0.1; done'])).stdout.trim();
    const stubborn = (await p.berth(['run', '-d', 'busybox', 'sh', '-c', 'trap "" TERM; echo ready; while true; do sleep 0.1; done'])).stdout.trim();
    for (const id of [polite, stubborn]) {
      expect(await until(async () => (await p.berth(['logs', id])).stdout, (out) => out === 'ready\n')).toBe('ready\n'); // trap set
    }

    let t = Date.now();
    expect((await p.berth(['stop', polite])).code).toBe(0);
    expect(Date.now() - t).toBeLessThan(5_000);
    expect(await inspect(polite, '{{.State.Status}} {{.State.ExitCode}}')).toBe('exited 0');

    t = Date.now();
    expect((await p.berth(['stop', '-t', '2', stubborn])).code).toBe(0);
    expect(Date.now() - t).toBeGreaterThanOrEqual(2_000);
    expect(await inspect(stubborn, '{{.State.Status}} {{.State.ExitCode}}')).toBe('exited 137');
    await p.berth(['rm', polite, stubborn]);
  });

  it('answers stop with the exit recorded and the log complete, and frees the name at once (stop, rm, run; run --rm)', async () => {
    await p.berth(['run', '-d', '--name', 'reuse', 'busybox', 'sh', '-c', 'trap "echo bye; exit 4" TERM; echo ready; while true; do sleep 0.1; done']);
    expect(await until(async () => (await p.berth(['logs', 'reuse'])).stdout, (out) => out === 'ready\n')).toBe('ready\n'); // trap set
    expect((await p.berth(['stop', 'reuse'])).code).toBe(0);
    expect(await inspect('reuse', '{{.State.Status}} {{.State.ExitCode}}')).toBe('exited 4');
    expect((await p.berth(['logs', 'reuse'])).stdout).toBe('ready\nbye\n');
    expect((await p.berth(['rm', 'reuse'])).code).toBe(0);
    for (let i = 0; i < 2; i++) expect(await p.berth(['run', '--rm', '--name', 'reuse', 'busybox', 'echo', String(i)])).toMatchObject({ code: 0, stdout: `${i}\n` });
    expect((await p.berth(['ps', '-aq'])).stdout).toBe(''); // `run --rm` answers once the container is gone
  });

  it('restarts on-failure up to N times and counts the restarts', async () => {
    const id = (await p.berth(['run', '-d', '--restart', 'on-failure:2', 'busybox', 'sh', '-c', 'exit 3'])).stdout.trim();
    const state = await until(
      () => inspect(id, '{{.State.Status}} {{.RestartCount}} {{.State.ExitCode}}'),
      (s) => s === 'exited 2 3',
    );
    expect(state).toBe('exited 2 3');
    await p.berth(['rm', '-f', id]);
  });

  it('restarts always, and stop ends it', async () => {
    const id = (await p.berth(['run', '-d', '--restart', 'always', 'busybox', 'sh', '-c', 'sleep 0.2; exit 1'])).stdout.trim();
    const count = await until(() => inspect(id, '{{.RestartCount}}'), (c) => Number(c) >= 2);
    expect(Number(count)).toBeGreaterThanOrEqual(2);
    await p.berth(['stop', '-t', '1', id]);
    const after = await inspect(id, '{{.RestartCount}}');
    await sleep(1_500);
    expect(await inspect(id, '{{.State.Status}} {{.RestartCount}}')).toBe(`exited ${after}`);
    await p.berth(['rm', '-f', id]);
  });

  it('OOM-kills a container over its memory limit', async () => {
    const id = (
      // dd allocates its 64 MiB block buffer: more than the limit allows
      await p.berth(['run', '-d', '-m', '32m', 'busybox', 'dd', 'if=/dev/zero', 'of=/dev/null', 'bs=64M', 'count=1'])
    ).stdout.trim();
    const wait = await p.berth(['wait', id], { timeoutMs: 30_000 });
    const state = await inspect(id, '{{.State.Status}} {{.State.OOMKilled}} {{.State.ExitCode}}');
    expect(wait.stdout.trim(), `wait: ${JSON.stringify(wait)}; state: ${state}`).toBe('137');
    expect(state).toBe('exited true 137');
    await p.berth(['rm', id]);
  });
});

describe('logs and exec', () => {
  it('follows logs with timestamps and tails them', async () => {
    const id = (await p.berth(['run', '-d', 'busybox', 'sh', '-c', 'for i in 1 2 3 4 5; do echo line $i; sleep 0.2; done'])).stdout.trim();
    const followed = await p.berth(['logs', '-f', id]);
    expect(followed.stdout).toBe('line 1\nline 2\nline 3\nline 4\nline 5\n');
    const tail = await p.berth(['logs', '--tail', '2', '-t', id]);
    const lines = tail.stdout.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z line 4$/);
    expect(lines[1]).toMatch(/ line 5$/);
    await p.berth(['rm', id]);
  });

  it('runs exec with stdin (-i) and reports its exit code', async () => {
    const id = (await p.berth(['run', '-d', 'busybox', 'sleep', '60'])).stdout.trim();
    const cat = await p.berth(['exec', '-i', id, 'sh', '-c', 'cat; exit 4'], { input: 'from stdin\n' });
    expect(cat.stdout).toBe('from stdin\n');
    expect(cat.code).toBe(4);
    // -t gives the process a real pseudo-terminal
    const tty = await p.berth(['exec', '-t', id, 'sh', '-c', 'tty && test -t 1 && echo is-a-tty']);
    expect(tty.stdout.replace(/\r/g, '')).toMatch(/^\/dev\/pts\/\d+\nis-a-tty\n$/);
    const env = await p.berth(['exec', '-e', 'X=1', '-w', '/etc', id, 'sh', '-c', 'echo $X $(pwd)']);
    expect(env.stdout).toBe('1 /etc\n');
    await p.berth(['rm', '-f', id]);
  });
});

describe('bad input', () => {
  it('names the unknown image, leaves nothing behind and exits 125', async () => {
    // --pull never: the default (missing) would try Docker Hub first (test/registry.e2e.test.ts covers that path)
    const r = await p.berth(['run', '--rm', '--pull', 'never', 'nosuchimage']);
    expect(r.code).toBe(125);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('nosuchimage');
    expect((await p.berth(['ps', '-aq'])).stdout).toBe('');
  });

  it('rejects a bad reference', async () => {
    const r = await p.berth(['run', 'Busy_Box']);
    expect(r.code).toBe(125);
    expect(r.stderr).toContain('invalid reference format');
  });

  it('rejects an unknown flag like docker', async () => {
    const r = await p.berth(['run', '--frobnicate', 'busybox']);
    expect(r.code).toBe(125);
    expect(r.stderr).toContain('unknown flag: --frobnicate');
  });

  it('refuses a name that is in use', async () => {
    const first = await p.berth(['create', '--name', 'dup', 'busybox', 'true']);
    expect(first.code).toBe(0);
    const second = await p.berth(['create', '--name', 'dup', 'busybox', 'true']);
    expect(second.code).toBe(125);
    expect(second.stderr).toContain('Conflict. The container name "/dup" is already in use');
    expect((await p.berth(['ps', '-aq'])).stdout.trim().split('\n')).toHaveLength(1);
    await p.berth(['rm', 'dup']);
  });

  it('exits 127 for a command missing from the image and leaves nothing behind with --rm', async () => {
    const r = await p.berth(['run', '--rm', 'busybox', 'nosuchcommand']);
    expect(r.code).toBe(127);
    expect(r.stderr).toContain('nosuchcommand');
    expect((await p.berth(['ps', '-aq'])).stdout).toBe('');
  });

  it('run -d (create and start in one call): 127 or 126 for a command that cannot run, the container kept as docker keeps it (removed with --rm)', async () => {
    const missing = await p.berth(['run', '-d', '--name', 'no-cmd', 'busybox', 'nosuchcommand']);
    expect(missing).toMatchObject({ code: 127, stdout: '' });
    expect(missing.stderr).toMatch(/^berth: Error response from daemon: .*nosuchcommand.*executable file not found/);
    expect(await inspect('no-cmd', '{{.State.Status}}')).toBe('created');
    const notExecutable = await p.berth(['run', '-d', 'busybox', '/etc/passwd']);
    expect(notExecutable).toMatchObject({ code: 126, stdout: '' });
    expect((await p.berth(['ps', '-aq'])).stdout.trim().split('\n')).toHaveLength(2);
    await p.berth(['rm', '-f', 'no-cmd']);
    await removeAllContainers(p);
    const removed = await p.berth(['run', '-d', '--rm', 'busybox', 'nosuchcommand']);
    expect(removed.code).toBe(127);
    expect((await p.berth(['ps', '-aq'])).stdout).toBe('');
    // And one that starts: its id, running.
    const started = await p.berth(['run', '-d', 'busybox', 'sleep', '60']);
    expect(started.code).toBe(0);
    expect(await inspect(started.stdout.trim(), '{{.State.Status}}')).toBe('running');
  });
});
