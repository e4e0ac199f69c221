import { describe, expect, it } from 'vitest';
import { LimitedOutput, applyProbeResult, healthLabel, nextProbeDelay, startingHealth, type Health } from './health-state.js';

const settings = { startPeriodMs: 10_000, retries: 3 };
const startedAt = Date.parse('2026-01-01T00:00:00Z');
const at = (s: number, exitCode: number, output = '') => ({ start: startedAt + s * 1000, end: startedAt + s * 1000 + 5, exitCode, output });

describe('applyProbeResult (Docker handleProbeResult)', () => {
  it('becomes healthy on the first success, even within the start period', () => {
    const h = applyProbeResult(startingHealth(undefined), at(1, 0, 'ok\n'), { startedAt, settings });
    expect(h).toEqual({
      Status: 'healthy',
      FailingStreak: 0,
      Log: [{ Start: '2026-01-01T00:00:01.000Z', End: '2026-01-01T00:00:01.005Z', ExitCode: 0, Output: 'ok\n' }],
    });
  });

  it('does not count failures within the start period while starting, then becomes unhealthy after `retries` failures', () => {
    let h = startingHealth(undefined);
    for (const s of [1, 5, 9]) h = applyProbeResult(h, at(s, 1), { startedAt, settings });
    expect(h).toMatchObject({ Status: 'starting', FailingStreak: 0 });
    h = applyProbeResult(h, at(10, 1), { startedAt, settings });
    h = applyProbeResult(h, at(11, 1), { startedAt, settings });
    expect(h).toMatchObject({ Status: 'starting', FailingStreak: 2 });
    h = applyProbeResult(h, at(12, 2), { startedAt, settings });
    expect(h).toMatchObject({ Status: 'unhealthy', FailingStreak: 3 });
    expect(h.Log).toHaveLength(5);
    h = applyProbeResult(h, at(13, 0), { startedAt, settings });
    expect(h).toMatchObject({ Status: 'healthy', FailingStreak: 0 });
  });

  it('counts failures of a healthy container even within the start period', () => {
    let h: Health = applyProbeResult(startingHealth(undefined), at(1, 0), { startedAt, settings });
    for (const s of [2, 3]) h = applyProbeResult(h, at(s, 1), { startedAt, settings });
    expect(h).toMatchObject({ Status: 'healthy', FailingStreak: 2 });
    h = applyProbeResult(h, at(4, -1, 'Health check exceeded timeout (1s)'), { startedAt, settings });
    expect(h).toMatchObject({ Status: 'unhealthy', FailingStreak: 3 });
  });

  it('keeps the last five results, oldest first', () => {
    let h = startingHealth(undefined);
    for (let s = 20; s < 27; s++) h = applyProbeResult(h, at(s, 0, `run ${s}`), { startedAt, settings });
    expect(h.Log.map((e) => e.Output)).toEqual(['run 22', 'run 23', 'run 24', 'run 25', 'run 26']);
  });

  it('a restart starts over: starting, streak 0, earlier results kept', () => {
    const h: Health = { Status: 'unhealthy', FailingStreak: 7, Log: [{ Start: 'a', End: 'b', ExitCode: 1, Output: '' }] };
    expect(startingHealth(h)).toEqual({ Status: 'starting', FailingStreak: 0, Log: h.Log });
  });
});

describe('nextProbeDelay (Docker getInterval)', () => {
  const s = { intervalMs: 30_000, startIntervalMs: 5_000, startPeriodMs: 60_000 };
  it('uses start_interval while starting within the start period, else interval', () => {
    expect(nextProbeDelay(s, { status: 'starting', sinceStartMs: 0 })).toBe(5_000);
    expect(nextProbeDelay(s, { status: 'healthy', sinceStartMs: 10_000 })).toBe(30_000);
    expect(nextProbeDelay(s, { status: 'starting', sinceStartMs: 60_000 })).toBe(30_000);
    expect(nextProbeDelay({ ...s, startPeriodMs: 0 }, { status: 'starting', sinceStartMs: 0 })).toBe(30_000);
  });
});

describe('healthLabel and LimitedOutput', () => {
  it("reads as docker ps's", () => {
    expect(healthLabel('starting')).toBe('health: starting');
    expect(healthLabel('healthy')).toBe('healthy');
    expect(healthLabel('unhealthy')).toBe('unhealthy');
  });

  it('keeps 4096 bytes and marks the rest with ...', () => {
    const out = new LimitedOutput();
    out.write(Buffer.from('a'.repeat(4000)));
    expect(out.toString()).toBe('a'.repeat(4000));
    out.write(Buffer.from('b'.repeat(200)));
    out.write(Buffer.from('c'));
    expect(out.toString()).toBe(`${'a'.repeat(4000)}${'b'.repeat(96)}...`);
  });
});
