/**
 * End to end: NATS is for events and discovery only (docs/security.md, "When NATS is down"). With
 * nats-server killed, container commands and builds keep working on a single host, history queries fail fast
 * with a clear message, the agent keeps its events and publishes them when NATS is back; and
 * `platform up` right after a `kill -9` of every service (zombies, reused pids) brings it all back.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAlive, platformUp } from '@berth/platform';
import { serviceLogEvents, startBusyboxPlatform, untilNow, type TestPlatform, signalProcess } from '@berth/testing';

let p: TestPlatform;
const strays: ChildProcess[] = [];

beforeAll(async () => (p = await startBusyboxPlatform()), 180_000);

afterAll(async () => {
  for (const child of strays) child.kill('SIGKILL');
  await p?.stop();
});

const pidFile = (service: string) => join(p.settings.runRoot, 'platform', `${service}.pid`);
const pidOf = (service: string) => Number(readFileSync(pidFile(service), 'utf8').trim());

async function killHard(service: string): Promise<void> {
  const pid = pidOf(service);
  signalProcess(pid, 'SIGKILL');
  const deadline = Date.now() + 10_000;
  while (isAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  expect(isAlive(pid), `${service} (pid ${pid}) still alive`).toBe(false);
}

/** `berth ARGS`, which must finish within `withinMs` (nothing may hang on NATS). */
async function quick(args: string[], withinMs = 10_000) {
  const started = Date.now();
  const r = await p.berth(args, { timeoutMs: withinMs + 5_000 });
  expect(Date.now() - started, `berth ${args.join(' ')} took too long`).toBeLessThan(withinMs);
  return r;
}

describe('with NATS down', () => {
  it('ps, inspect, logs, run, stop and rm keep working; events --since fails fast and clearly', async () => {
    const keeper = (await p.berth(['run', '-d', '--name', 'keeper', 'busybox', 'sleep', '300'])).stdout.trim();
    expect(keeper).toMatch(/^[0-9a-f]{64}$/);
    const ctx = join(p.dataRoot, 'outage-ctx');
    mkdirSync(ctx, { recursive: true });
    writeFileSync(join(ctx, 'Dockerfile'), 'FROM busybox\nCOPY data.txt /data.txt\nRUN cat /data.txt > /copy\n');
    writeFileSync(join(ctx, 'data.txt'), 'before the outage\n');
    const before = await p.berth(['build', '-q', '-t', 'outage:1', ctx], { timeoutMs: 60_000 });
    expect(before.code, before.stderr).toBe(0);
    await killHard('nats');

    const ps = await quick(['ps']);
    expect(ps.code, ps.stderr).toBe(0);
    expect(ps.stdout).toMatch(/\bkeeper\n/);
    expect((await quick(['inspect', '--format', '{{.State.Status}}', 'keeper'])).stdout).toBe('running\n');
    const run = await quick(['run', '--name', 'outage', 'busybox', 'echo', 'ran without NATS']);
    expect(run, run.stderr).toMatchObject({ code: 0, stdout: 'ran without NATS\n' });
    expect((await quick(['logs', 'outage'])).stdout).toBe('ran without NATS\n');
    expect((await quick(['run', '-d', '--name', 'detached', 'busybox', 'true'])).code).toBe(0);
    expect((await quick(['stop', '-t', '1', 'keeper'])).stdout).toBe('keeper\n');
    expect((await quick(['rm', 'keeper', 'outage', 'detached'])).stdout).toBe('keeper\noutage\ndetached\n');

    // A build goes to the builder the gateway knows, and the builder needs NATS for nothing.
    writeFileSync(join(ctx, 'data.txt'), 'during the outage\n');
    const build = await quick(['build', '-q', '-t', 'outage:2', ctx], 30_000);
    expect(build.code, build.stderr).toBe(0);
    expect((await quick(['run', '--rm', 'outage:2', 'cat', '/copy'])).stdout).toBe('during the outage\n');

    const events = await quick(['events', '--since', '1h', '--until', untilNow()]);
    expect(events.code).toBe(1);
    expect(events.stderr).toBe(
      "Error response from daemon: Cannot read events: the platform's event bus (NATS) is not reachable: the connection to NATS is down\n",
    );

    // The agent is alive, said why it keeps its events, and comes back with NATS.
    expect(isAlive(pidOf('runtime-agent'))).toBe(true);
    await platformUp({ dataRoot: p.dataRoot });
    const deadline = Date.now() + 20_000;
    let seen = '';
    while (Date.now() < deadline) {
      // As with docker, container=outage also matches the image events of outage:1 and outage:2
      // (an actor named outage…): type=container keeps the container's own.
      seen = (await p.berth(['events', '--since', '10m', '--until', untilNow(), '--filter', 'type=container', '--filter', 'container=outage'])).stdout;
      if (seen.includes(' container destroy ')) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    // Published while NATS was down, in order, once it came back (`run` attaches before it starts).
    expect(seen.split('\n').filter(Boolean).map((l) => l.split(' ')[2])).toEqual(['create', 'attach', 'start', 'die', 'destroy']);
    const agentLog = serviceLogEvents(p.dataRoot, 'runtime-agent');
    expect(agentLog).toContainEqual(expect.objectContaining({ level: 'warn', msg: 'NATS connection lost, reconnecting', nats: expect.stringMatching(/^nats:\/\/127\.0\.0\.1:\d+$/) }));
    expect(agentLog).toContainEqual(expect.objectContaining({ level: 'info', msg: 'NATS connection back' }));
  });
});

describe('platform up after kill -9', () => {
  it('restarts every service, even when a pid file names a zombie or a pid reused by another program', async () => {
    const services = ['nats', 'runtime-agent', 'api', 'registry'];
    for (const service of services) await killHard(service);

    // The agent's pid file now names a zombie (a child its parent never reaps), nats's an unrelated
    // live process: neither is the service.
    const reaper = spawn('sh', ['-c', 'sleep 0 & echo $!; exec sleep 300'], { stdio: ['ignore', 'pipe', 'ignore'] });
    strays.push(reaper);
    const [line] = (await once(reaper.stdout!, 'data')) as [Buffer];
    const zombie = Number(line.toString().trim());
    const deadline = Date.now() + 5_000;
    while (readFileSync(`/proc/${zombie}/stat`, 'utf8').split(') ')[1]![0] !== 'Z' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    writeFileSync(pidFile('runtime-agent'), `${zombie}\n`);
    writeFileSync(pidFile('nats'), `${reaper.pid}\n`);

    await platformUp({ dataRoot: p.dataRoot, timeoutMs: 45_000 });
    for (const service of services) expect(isAlive(pidOf(service)), service).toBe(true);
    expect(pidOf('runtime-agent')).not.toBe(zombie);
    expect(pidOf('nats')).not.toBe(reaper.pid);
    const run = await p.berth(['run', '--rm', 'busybox', 'echo', 'back']);
    expect(run, run.stderr).toMatchObject({ code: 0, stdout: 'back\n' });
    const events = await p.berth(['events', '--since', '10m', '--until', untilNow(), '--filter', 'event=destroy']);
    expect(events.code, events.stderr).toBe(0);
  });
});
