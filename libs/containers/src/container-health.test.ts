import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openMetadataDb, type MetadataDb } from '@berth/metadata';
import { tempDir, type TempDir } from '@berth/testing';
import type { ExecProcess } from '@berth/runtime';
import { ContainerContext } from './container-context.js';
import { matchesFilters } from './container-filters.js';
import { ContainerHealth, type ProbeExec } from './container-health.js';
import { FakeClock } from './fake-clock.js';
import type { HealthConfig } from './health-config.js';
import { createdState, statusOf, statusText } from './state.js';
import type { ContainerEvent, ContainerRecord } from './types.js';

/**
 * The health part of the manager over a real record store (SQLite in a temp dir), a fake clock and
 * a fake runtime whose probes the test answers: what the runner's hooks do to the record, what is
 * saved, which events fire, and how `wait` answers.
 */

interface Probe {
  args: string[];
  killed: boolean;
  finish(exitCode: number, output?: string): void;
}

class FakeExec implements ProbeExec {
  readonly probes: Probe[] = [];
  async spawnExec(_id: string, options: { args: string[]; signal?: AbortSignal }): Promise<ExecProcess> {
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    let finish!: (code: number) => void;
    const exited = new Promise<number>((resolve) => (finish = resolve));
    const probe: Probe = {
      args: options.args,
      killed: false,
      finish: (code, output = '') => {
        stdout.end(output);
        stderr.end();
        finish(code);
      },
    };
    options.signal?.addEventListener('abort', () => ((probe.killed = true), probe.finish(137)));
    this.probes.push(probe);
    return { stdin: new PassThrough(), stdout, stderr, exited };
  }
}

let dir: TempDir;
let db: MetadataDb;
let ctx: ContainerContext;
let clock: FakeClock;
let exec: FakeExec;
let health: ContainerHealth;
let events: ContainerEvent[];

beforeEach(() => {
  dir = tempDir('berth-health-');
  db = openMetadataDb(`${dir.path}/metadata.db`);
  events = [];
  ctx = new ContainerContext({ dataRoot: dir.path, runRoot: `${dir.path}/run`, db, onEvent: (e) => events.push(e) });
  clock = new FakeClock();
  exec = new FakeExec();
  health = new ContainerHealth(ctx, { runtime: exec, clock });
});

afterEach(() => {
  health.close();
  db.close();
  dir.remove();
});

let seq = 0;
/** A record as the runner has it right after a start (running since the fake clock's now). */
function running(healthcheck?: HealthConfig): ContainerRecord {
  const id = (++seq).toString(16).padStart(64, 'a');
  const rec = {
    Id: id,
    Name: `/c${seq}`,
    Created: new Date(clock.now()).toISOString(),
    Image: 'sha256:img',
    ImageRef: 'busybox',
    Path: 'sleep',
    Args: ['1000'],
    Config: { Labels: {}, ...(healthcheck ? { Healthcheck: healthcheck } : {}) },
    HostConfig: {},
    State: { ...createdState(), Running: true, Pid: 42, StartedAt: new Date(clock.now()).toISOString() },
  } as unknown as ContainerRecord;
  rec.State.Status = statusOf(rec.State);
  ctx.store.insert(rec);
  return rec;
}

/** Runs a hook as the runner does: under the lock, then writes the record. */
async function hook(rec: ContainerRecord, fn: (rec: ContainerRecord) => void): Promise<ContainerRecord> {
  await ctx.locks.run(rec.Id, async () => {
    const fresh = ctx.store.get(rec.Id)!;
    fn(fresh);
    fresh.State.Status = statusOf(fresh.State);
    ctx.store.update(fresh);
  });
  return ctx.store.get(rec.Id)!;
}

const check = { Test: ['CMD-SHELL', 'wget -q localhost'], Interval: 10e9, Timeout: 3e9, Retries: 2 };

describe('ContainerHealth', () => {
  it('starts as starting, probes with /bin/sh -c, saves each result and emits health_status on changes', async () => {
    const rec = await hook(running(check), (r) => health.started(r));
    expect(rec.State.Health).toEqual({ Status: 'starting', FailingStreak: 0, Log: [] });
    expect(statusText(rec.State, clock.now() + 3000)).toBe('Up 3 seconds (health: starting)');

    await clock.advance(10_000);
    expect(exec.probes).toHaveLength(1);
    expect(exec.probes[0]!.args).toEqual(['/bin/sh', '-c', 'wget -q localhost']);
    exec.probes[0]!.finish(0, 'ok');
    await clock.advance(0);
    let saved = ctx.store.get(rec.Id)!;
    expect(saved.State.Health).toMatchObject({ Status: 'healthy', FailingStreak: 0, Log: [{ ExitCode: 0, Output: 'ok' }] });
    expect(statusText(saved.State, clock.now())).toBe('Up 10 seconds (healthy)');
    expect(events.map((e) => e.action)).toEqual(['health_status: healthy']);
    expect(events[0]).toMatchObject({ id: rec.Id, name: rec.Name.slice(1), image: 'busybox' });

    for (let i = 1; i <= 2; i++) {
      await clock.advance(10_000);
      exec.probes[i]!.finish(1, 'connection refused\n');
      await clock.advance(0);
    }
    saved = ctx.store.get(rec.Id)!;
    expect(saved.State.Health).toMatchObject({ Status: 'unhealthy', FailingStreak: 2 });
    expect(saved.State.Health!.Log).toHaveLength(3);
    expect(events.map((e) => e.action)).toEqual(['health_status: healthy', 'health_status: unhealthy']);
  });

  it('records a timed-out probe as Docker does and kills it', async () => {
    const rec = await hook(running(check), (r) => health.started(r));
    await clock.advance(10_000 + 3_000);
    expect(exec.probes[0]!.killed).toBe(true);
    await clock.advance(0);
    expect(ctx.store.get(rec.Id)!.State.Health!.Log[0]).toMatchObject({ ExitCode: -1, Output: 'Health check exceeded timeout (3s)' });
  });

  it('stops probing when the container stops, and shows unhealthy; a new start is starting again', async () => {
    let rec = await hook(running(check), (r) => health.started(r));
    await clock.advance(10_000);
    exec.probes[0]!.finish(0);
    await clock.advance(0);
    rec = await hook(rec, (r) => {
      r.State = { ...r.State, Running: false, Pid: 0, FinishedAt: new Date(clock.now()).toISOString() };
      health.stopped(r);
    });
    expect(rec.State.Health).toMatchObject({ Status: 'unhealthy', FailingStreak: 0 });
    expect(health.isProbing(rec.Id)).toBe(false);
    await clock.advance(60_000);
    expect(exec.probes).toHaveLength(1);
    expect(events.map((e) => e.action)).toEqual(['health_status: healthy']); // no event for the stop (Docker)

    rec = await hook(rec, (r) => {
      r.State = { ...r.State, Running: true, StartedAt: new Date(clock.now()).toISOString() };
      health.started(r);
    });
    expect(rec.State.Health).toMatchObject({ Status: 'starting', FailingStreak: 0 });
    expect(rec.State.Health!.Log).toHaveLength(1);
    expect(health.isProbing(rec.Id)).toBe(true);
  });

  it('keeps the status of an adopted container and probes it after start_interval', async () => {
    const rec = running(check);
    rec.State.Health = { Status: 'healthy', FailingStreak: 0, Log: [] };
    ctx.store.update(rec);
    const adopted = await hook(rec, (r) => health.resumed(r, { adopted: true }));
    expect(adopted.State.Health!.Status).toBe('healthy');
    await clock.advance(5_000);
    expect(exec.probes).toHaveLength(1);
  });

  it('does nothing for a container without a healthcheck or with NONE', async () => {
    for (const config of [undefined, { Test: ['NONE'] }]) {
      const rec = await hook(running(config), (r) => health.started(r));
      expect(rec.State.Health).toBeUndefined();
      expect(statusText(rec.State, clock.now())).toBe('Up Less than a second');
      expect(health.isProbing(rec.Id)).toBe(false);
      expect(await health.wait(rec.Id)).toMatchObject({ status: 'none', state: 'running' });
    }
  });

  describe('wait', () => {
    it('answers when the status changes, without polling, and leaves no listener behind', async () => {
      const rec = await hook(running(check), (r) => health.started(r));
      let answer: unknown;
      const waiting = health.wait(rec.Id).then((a) => (answer = a));
      await clock.advance(10_000);
      expect(answer).toBeUndefined();
      expect(health.waitingOn(rec.Id)).toBe(1);
      exec.probes[0]!.finish(0, 'fine');
      await waiting;
      expect(answer).toEqual({ status: 'healthy', state: 'running', failingStreak: 0, exitCode: 0, lastOutput: 'fine' });
      expect(health.waitingOn(rec.Id)).toBe(0);
      // Already healthy: at once.
      expect(await health.wait(rec.Id, { until: ['healthy'] })).toMatchObject({ status: 'healthy' });
    });

    it('answers when the container stops or is removed while starting', async () => {
      const rec = await hook(running(check), (r) => health.started(r));
      const stopped = health.wait(rec.Id, { until: ['healthy'] });
      await hook(rec, (r) => {
        r.State = { ...r.State, Running: false, ExitCode: 3, FinishedAt: new Date(clock.now()).toISOString() };
        health.stopped(r);
      });
      expect(await stopped).toMatchObject({ status: 'unhealthy', state: 'exited', exitCode: 3 });

      const other = await hook(running(check), (r) => health.started(r));
      const removed = health.wait(other.Id);
      ctx.store.delete(other.Id);
      health.removed(other);
      expect(await removed).toMatchObject({ status: 'none', state: 'removed' });
    });

    it('gives the current state after the timeout, or when the client goes away', async () => {
      const rec = await hook(running(check), (r) => health.started(r));
      const timed = health.wait(rec.Id, { timeoutMs: 4_000 });
      await clock.advance(4_000);
      expect(await timed).toMatchObject({ status: 'starting', state: 'running' });
      const controller = new AbortController();
      const cancelled = health.wait(rec.Id, { signal: controller.signal });
      controller.abort();
      expect(await cancelled).toMatchObject({ status: 'starting' });
      expect(health.waitingOn(rec.Id)).toBe(0);
      expect(clock.pending().length).toBe(1); // only the probe loop's timer
    });

    it('waits through unhealthy when asked for healthy only', async () => {
      const rec = await hook(running({ ...check, Retries: 1 }), (r) => health.started(r));
      let answer: { status: string } | undefined;
      void health.wait(rec.Id, { until: ['healthy'] }).then((a) => (answer = a));
      await clock.advance(10_000);
      exec.probes[0]!.finish(1);
      await clock.advance(0);
      expect(ctx.store.get(rec.Id)!.State.Health!.Status).toBe('unhealthy');
      expect(answer).toBeUndefined();
      await clock.advance(10_000);
      exec.probes[1]!.finish(0);
      await clock.advance(0);
      expect(answer).toMatchObject({ status: 'healthy' });
    });
  });

  it('ps --filter health=starting|healthy|unhealthy|none matches State.Health, and refuses other values', async () => {
    const plain = running();
    const starting = await hook(running(check), (r) => health.started(r));
    const healthy = await hook(running(check), (r) => {
      health.started(r);
      r.State.Health!.Status = 'healthy';
    });
    const match = (value: string) =>
      [plain, starting, healthy].filter((r) => matchesFilters(ctx.store.get(r.Id)!, { health: [value] }, new Set())).map((r) => r.Id);
    expect(match('none')).toEqual([plain.Id]);
    expect(match('starting')).toEqual([starting.Id]);
    expect(match('healthy')).toEqual([healthy.Id]);
    expect(match('unhealthy')).toEqual([]);
    expect(() => match('sick')).toThrow('Unrecognised filter value for health: sick');
  });
});
