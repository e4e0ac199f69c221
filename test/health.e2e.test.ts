/**
 * Healthchecks end to end: real containers probed by the real agent through runc exec, seen
 * through the CLI (`ps`, `inspect`, `events`) and the gateway's WaitHealth RPC, across an agent
 * kill and restart. One platform for the file; every container is removed after each test.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { platformUp } from '@berth/platform';
import { channelOptions, ContainersClient, grpcTarget, unary } from '@berth/proto';
import { removeAllContainers, startBusyboxPlatform, tempDir, until as pollUntil, untilNow, type TestPlatform, signalProcess } from '@berth/testing';

let p: TestPlatform;

beforeAll(async () => (p = await startBusyboxPlatform()), 180_000);

afterAll(() => p?.stop());

afterEach(() => removeAllContainers(p)); // a failed test must not leave containers the next one counts

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const until = <T>(what: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 30_000) => pollUntil(what, ok, { timeoutMs, intervalMs: 250 });

interface HealthView {
  Status: string;
  FailingStreak: number;
  Log: Array<{ Start: string; End: string; ExitCode: number; Output: string }>;
}

const health = async (name: string): Promise<HealthView | null> =>
  JSON.parse((await p.berth(['inspect', '--format', '{{json .State.Health}}', name])).stdout) as HealthView | null;
const status = async (name: string) => (await p.berth(['ps', '-a', '--filter', `name=^${name}$`, '--format', '{{.Status}}'])).stdout.trim();
const run = async (args: string[]) => {
  const r = await p.berth(['run', '-d', ...args]);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout.trim();
};
const healthEvents = async (name: string) =>
  (await p.berth(['events', '--since', '10m', '--until', untilNow(), '--filter', `container=${name}`, '--filter', 'event=health_status', '--format', '{{.Action}}']))
    .stdout.trim()
    .split('\n')
    .filter(Boolean);

describe('healthchecks', () => {
  it('a passing check shows (healthy) in ps and State.Health in inspect, and emits health_status: healthy', async () => {
    await run(['--name', 'hc-ok', '--health-cmd', 'echo alive', '--health-interval', '1s', 'busybox', 'sleep', '300']);
    await run(['--name', 'hc-slow', '--health-cmd', 'true', '--health-interval', '5m', 'busybox', 'sleep', '300']);
    expect(await status('hc-slow')).toMatch(/^Up (Less than a second|\d+ seconds?) \(health: starting\)$/);
    expect((await health('hc-slow'))!).toEqual({ Status: 'starting', FailingStreak: 0, Log: [] });

    expect(await until(() => status('hc-ok'), (s) => s.endsWith('(healthy)'))).toMatch(/^Up (Less than a second|\d+ seconds?) \(healthy\)$/);
    const h = (await health('hc-ok'))!;
    expect(h.Status).toBe('healthy');
    expect(h.FailingStreak).toBe(0);
    expect(h.Log[0]).toMatchObject({ ExitCode: 0, Output: 'alive\n' });
    expect(Date.parse(h.Log[0]!.End)).toBeGreaterThanOrEqual(Date.parse(h.Log[0]!.Start));
    expect(JSON.parse((await p.berth(['inspect', '--format', '{{json .Config.Healthcheck}}', 'hc-ok'])).stdout)).toEqual({
      Test: ['CMD-SHELL', 'echo alive'],
      Interval: 1e9,
    });

    const filtered = async (value: string) => (await p.berth(['ps', '--filter', `health=${value}`, '--format', '{{.Names}}'])).stdout.trim();
    expect(await filtered('healthy')).toBe('hc-ok');
    expect(await filtered('starting')).toBe('hc-slow');
    expect(await filtered('unhealthy')).toBe('');
    await run(['--name', 'hc-none', 'busybox', 'sleep', '300']);
    expect(await filtered('none')).toBe('hc-none');
    const bad = await p.berth(['ps', '--filter', 'health=sick']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('Unrecognised filter value for health: sick');

    expect(await until(() => healthEvents('hc-ok'), (e) => e.length > 0)).toEqual(['health_status: healthy']);
  });

  it('a failing check becomes unhealthy after the retries, with FailingStreak and the output in the log', async () => {
    await run(['--name', 'hc-bad', '--health-cmd', 'echo broken >&2; exit 3', '--health-interval', '500ms', '--health-retries', '2', 'busybox', 'sleep', '300']);
    const h = (await until(() => health('hc-bad'), (v) => v?.Status === 'unhealthy'))!;
    expect(h.Status).toBe('unhealthy');
    expect(h.FailingStreak).toBeGreaterThanOrEqual(2);
    expect(h.Log.at(-1)).toMatchObject({ ExitCode: 3, Output: 'broken\n' });
    expect(await status('hc-bad')).toMatch(/\(unhealthy\)$/);
    // Only the last five results are kept.
    const later = (await until(() => health('hc-bad'), (v) => (v?.FailingStreak ?? 0) >= 6))!;
    expect(later.Log).toHaveLength(5);
    expect(await until(() => healthEvents('hc-bad'), (e) => e.length > 0)).toEqual(['health_status: unhealthy']);
  });

  it('does not count failures during the start period, then turns healthy', async () => {
    await run([
      '--name', 'hc-start', '--health-cmd', 'test -e /tmp/ready', '--health-interval', '30s', '--health-retries', '1',
      '--health-start-period', '60s', '--health-start-interval', '300ms', 'busybox', 'sleep', '300',
    ]);
    const starting = (await until(() => health('hc-start'), (v) => (v?.Log.length ?? 0) >= 3))!;
    // Three failed probes, start_interval apart, and still starting with no failing streak.
    expect(starting).toMatchObject({ Status: 'starting', FailingStreak: 0 });
    expect(starting.Log.every((e) => e.ExitCode === 1)).toBe(true);
    expect((await p.berth(['exec', 'hc-start', 'touch', '/tmp/ready'])).code).toBe(0);
    expect((await until(() => health('hc-start'), (v) => v?.Status === 'healthy'))!.Status).toBe('healthy');
  });

  it("kills a probe that exceeds the timeout, records Docker's message, and leaves no probe process behind", async () => {
    await run(['--name', 'hc-timeout', '--health-cmd', 'sleep 77', '--health-timeout', '500ms', '--health-interval', '1s', '--health-retries', '1', 'busybox', 'sleep', '300']);
    const h = (await until(() => health('hc-timeout'), (v) => v?.Status === 'unhealthy'))!;
    expect(h.Log[0]).toMatchObject({ ExitCode: -1, Output: 'Health check exceeded timeout (500ms)' });
    const took = Date.parse(h.Log[0]!.End) - Date.parse(h.Log[0]!.Start);
    expect(took).toBeGreaterThanOrEqual(450);
    // Cut at the timeout, not run for its 77 s (a loaded machine may take seconds to end the killed exec).
    expect(took).toBeLessThan(20_000);
    // Each timed-out probe was killed: after several, at most the current one is alive.
    await until(() => health('hc-timeout'), (v) => (v?.Log.length ?? 0) >= 4);
    const ps = await p.berth(['exec', 'hc-timeout', 'ps', '-o', 'args']);
    expect(ps.stdout.split('\n').filter((l) => l.trim() === 'sleep 77').length).toBeLessThanOrEqual(1);
  });

  it('--no-healthcheck overrides the image HEALTHCHECK', async () => {
    const ctx = tempDir('berth-hc-build-');
    try {
      const dockerfile = 'FROM busybox\nHEALTHCHECK --interval=1s --timeout=2s CMD ["echo", "from-image"]\n';
      const { writeFileSync } = await import('node:fs');
      writeFileSync(join(ctx.path, 'Dockerfile'), dockerfile);
      const build = await p.berth(['build', '-q', '-t', 'hc-image', ctx.path]);
      expect(build.code, build.stderr).toBe(0);
    } finally {
      ctx.remove();
    }
    await run(['--name', 'hc-image', 'hc-image', 'sleep', '300']);
    await run(['--name', 'hc-off', '--no-healthcheck', 'hc-image', 'sleep', '300']);
    const h = (await until(() => health('hc-image'), (v) => v?.Status === 'healthy'))!;
    expect(h.Log[0]).toMatchObject({ ExitCode: 0, Output: 'from-image\n' });
    expect(await health('hc-off')).toBeNull();
    expect(await status('hc-off')).toMatch(/^Up [^(]*$/);
    expect(JSON.parse((await p.berth(['inspect', '--format', '{{json .Config.Healthcheck}}', 'hc-off'])).stdout)).toEqual({
      Test: ['NONE'],
      Interval: 1e9,
      Timeout: 2e9,
    });
    await p.berth(['rmi', '-f', 'hc-image']);
  });

  it('a restart resets the health to starting, a stop shows unhealthy', async () => {
    await run([
      '--name', 'hc-restart', '--tmpfs', '/run', '--health-cmd', 'test -e /run/ok', '--health-interval', '500ms',
      '--health-start-period', '10m', 'busybox', 'sleep', '300',
    ]);
    expect((await p.berth(['exec', 'hc-restart', 'touch', '/run/ok'])).code).toBe(0);
    expect((await until(() => health('hc-restart'), (v) => v?.Status === 'healthy'))!.Status).toBe('healthy');
    expect((await p.berth(['restart', '-t', '0', 'hc-restart'])).code).toBe(0);
    // /run is a new tmpfs: the check fails, but within the start period it stays starting.
    expect(await health('hc-restart')).toMatchObject({ Status: 'starting', FailingStreak: 0 });
    expect(await status('hc-restart')).toMatch(/\(health: starting\)$/);
    await p.berth(['stop', '-t', '0', 'hc-restart']);
    expect(await health('hc-restart')).toMatchObject({ Status: 'unhealthy' });
    expect(await status('hc-restart')).toMatch(/^Exited \(137\) /);
  });

  it('the gateway answers WaitHealth when the container turns healthy, stops, or has no healthcheck', async () => {
    const client = new ContainersClient(grpcTarget(p.settings.apiAddress), grpc.credentials.createInsecure(), channelOptions);
    try {
      await run(['--name', 'hc-wait', '--health-cmd', 'test -e /tmp/ok', '--health-interval', '300ms', '--health-retries', '1000', 'busybox', 'sleep', '300']);
      const started = Date.now();
      const waiting = unary(client, client.waitHealth, { id: 'hc-wait', until: ['healthy'], timeoutMs: 0 });
      await sleep(1_000);
      expect((await p.berth(['exec', 'hc-wait', 'touch', '/tmp/ok'])).code).toBe(0);
      const answer = await waiting;
      expect(answer).toMatchObject({ status: 'healthy', state: 'running', failingStreak: 0, exitCode: 0 });
      expect(Date.now() - started).toBeLessThan(15_000);

      // A timeout answers the current state.
      await run(['--name', 'hc-never', '--health-cmd', 'false', '--health-interval', '1m', 'busybox', 'sleep', '300']);
      expect(await unary(client, client.waitHealth, { id: 'hc-never', until: [], timeoutMs: 300 })).toMatchObject({ status: 'starting', state: 'running' });

      // Stopping ends a wait for healthy.
      const stopWait = unary(client, client.waitHealth, { id: 'hc-never', until: ['healthy'], timeoutMs: 0 });
      await p.berth(['stop', '-t', '0', 'hc-never']);
      expect(await stopWait).toMatchObject({ status: 'unhealthy', state: 'exited', exitCode: 137 });

      await run(['--name', 'hc-plain', 'busybox', 'sleep', '300']);
      expect(await unary(client, client.waitHealth, { id: 'hc-plain', until: [], timeoutMs: 0 })).toMatchObject({ status: 'none', state: 'running' });
      await expect(unary(client, client.waitHealth, { id: 'nosuch', until: [], timeoutMs: 0 })).rejects.toThrow('No such container: nosuch');
    } finally {
      client.close();
    }
  });

  it('keeps its health across an agent kill and restart, and goes on probing', async () => {
    await run(['--name', 'hc-agent', '--health-cmd', 'test -e /tmp/ok', '--health-interval', '500ms', '--health-retries', '1', 'busybox', 'sh', '-c', 'touch /tmp/ok; exec sleep 300']);
    expect((await until(() => health('hc-agent'), (v) => v?.Status === 'healthy'))!.Status).toBe('healthy');

    const agentPid = Number(readFileSync(join(p.settings.runRoot, 'platform', 'runtime-agent.pid'), 'utf8'));
    signalProcess(agentPid, 'SIGKILL');
    await until(async () => isAlive(agentPid), (alive) => !alive, 10_000);
    const restartedAt = Date.now();
    await platformUp({ dataRoot: p.dataRoot });

    // Not flipped back to starting by the restart.
    expect(await health('hc-agent')).toMatchObject({ Status: 'healthy' });
    // Probed again by the new agent: a result newer than the restart, then a change is noticed.
    const probed = (await until(() => health('hc-agent'), (v) => (v?.Log ?? []).some((e) => Date.parse(e.Start) > restartedAt)))!;
    expect(probed.Log.some((e) => Date.parse(e.Start) > restartedAt)).toBe(true);
    expect((await p.berth(['exec', 'hc-agent', 'rm', '/tmp/ok'])).code).toBe(0);
    expect((await until(() => health('hc-agent'), (v) => v?.Status === 'unhealthy'))!.Status).toBe('unhealthy');
    expect(await until(() => healthEvents('hc-agent'), (e) => e.length >= 2)).toEqual(['health_status: healthy', 'health_status: unhealthy']);
  });
});

function isAlive(pid: number): boolean {
  try {
    signalProcess(pid, 0);
    return true;
  } catch {
    return false;
  }
}
