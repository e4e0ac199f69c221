import { describe, expect, it } from 'vitest';
import { FakeClock } from './fake-clock.js';
import type { ProbeSettings } from './health-config.js';
import { HealthMonitor, type ProbeRunner } from './health-monitor.js';
import { applyProbeResult, startingHealth, type Health, type ProbeResult } from './health-state.js';

const base: ProbeSettings = { command: ['check'], intervalMs: 30_000, timeoutMs: 10_000, startPeriodMs: 0, startIntervalMs: 5_000, retries: 3 };

/** A probe whose answers the test scripts; each run takes `durationMs` of fake time. */
function scriptedProbe(clock: FakeClock, answers: Array<{ exitCode: number; output?: string; durationMs?: number; hang?: boolean }>) {
  const runs: Array<{ at: number; command: string[]; killed: boolean }> = [];
  const probe: ProbeRunner = (command, signal) => {
    const answer = answers[Math.min(runs.length, answers.length - 1)]!;
    const run = { at: clock.now(), command, killed: false };
    runs.push(run);
    return new Promise((resolve) => {
      const done = clock.setTimer(() => resolve({ exitCode: answer.exitCode, output: answer.output ?? '' }), answer.durationMs ?? 10);
      signal.addEventListener('abort', () => {
        run.killed = true;
        if (answer.hang) return; // a wedged runtime: never ends
        clock.clearTimer(done);
        resolve({ exitCode: 137, output: answer.output ?? '' });
      });
    });
  };
  return { probe, runs };
}

function harness(settings: ProbeSettings, answers: Parameters<typeof scriptedProbe>[1], options: { firstDelayMs?: number } = {}) {
  const clock = new FakeClock();
  const startedAt = clock.now();
  const { probe, runs } = scriptedProbe(clock, answers);
  let health: Health = startingHealth(undefined);
  const results: ProbeResult[] = [];
  const monitor = new HealthMonitor({
    settings,
    startedAt,
    clock,
    probe,
    status: () => health.Status,
    record: async (result) => {
      results.push(result);
      health = applyProbeResult(health, result, { startedAt, settings });
    },
    firstDelayMs: options.firstDelayMs,
  });
  return { clock, monitor, runs, results, health: () => health, startedAt };
}

describe('HealthMonitor', () => {
  it('probes every interval, one at a time, measured from the end of the previous probe', async () => {
    const h = harness(base, [{ exitCode: 0, durationMs: 200 }]);
    h.monitor.start();
    await h.clock.advance(29_999);
    expect(h.runs).toHaveLength(0);
    await h.clock.advance(1);
    expect(h.runs.map((r) => r.at - h.startedAt)).toEqual([30_000]);
    await h.clock.advance(200);
    expect(h.health().Status).toBe('healthy');
    await h.clock.advance(30_000);
    expect(h.runs.map((r) => r.at - h.startedAt)).toEqual([30_000, 60_200]);
    expect(h.runs[0]!.command).toEqual(['check']);
    h.monitor.stop();
    await h.monitor.done;
    expect(h.clock.pending()).toEqual([]);
  });

  it('uses start_interval while starting within the start period, then interval', async () => {
    const h = harness({ ...base, startPeriodMs: 20_000 }, [{ exitCode: 1 }, { exitCode: 1 }, { exitCode: 1 }, { exitCode: 0 }]);
    h.monitor.start();
    await h.clock.advance(60_000);
    // 5 s, 10 s, 15 s (failures not counted), 20 s: start period over → interval from then on.
    expect(h.runs.map((r) => Math.round((r.at - h.startedAt) / 1000))).toEqual([5, 10, 15, 20, 50]);
    expect(h.results.slice(0, 3).every((r) => r.exitCode === 1)).toBe(true);
    expect(h.health()).toMatchObject({ Status: 'healthy', FailingStreak: 0 });
    h.monitor.stop();
  });

  it('becomes unhealthy after `retries` failures in a row', async () => {
    const h = harness({ ...base, intervalMs: 1_000, retries: 2 }, [{ exitCode: 0 }, { exitCode: 1, output: 'down\n' }]);
    h.monitor.start();
    await h.clock.advance(1_010);
    expect(h.health().Status).toBe('healthy');
    await h.clock.advance(1_010);
    expect(h.health()).toMatchObject({ Status: 'healthy', FailingStreak: 1 });
    await h.clock.advance(1_010);
    expect(h.health()).toMatchObject({ Status: 'unhealthy', FailingStreak: 2 });
    expect(h.health().Log.at(-1)).toMatchObject({ ExitCode: 1, Output: 'down\n' });
    h.monitor.stop();
  });

  it("kills a probe that exceeds the timeout and records Docker's message with its output", async () => {
    const h = harness({ ...base, intervalMs: 1_000, timeoutMs: 2_500 }, [{ exitCode: 0, output: 'partial', durationMs: 60_000 }]);
    h.monitor.start();
    await h.clock.advance(1_000 + 2_499);
    expect(h.results).toHaveLength(0);
    await h.clock.advance(1);
    expect(h.runs[0]!.killed).toBe(true);
    expect(h.results).toEqual([{ start: h.startedAt + 1_000, end: h.startedAt + 3_500, exitCode: -1, output: 'Health check exceeded timeout (2.5s): partial' }]);
    expect(h.health()).toMatchObject({ Status: 'starting', FailingStreak: 1 });
    h.monitor.stop();
  });

  it('does not wait forever for a killed probe that never ends', async () => {
    const h = harness({ ...base, intervalMs: 1_000, timeoutMs: 1_000 }, [{ exitCode: 0, durationMs: 1e9, hang: true }]);
    h.monitor.start();
    await h.clock.advance(2_000 + 5_000);
    expect(h.results).toEqual([{ start: h.startedAt + 1_000, end: h.startedAt + 7_000, exitCode: -1, output: 'Health check exceeded timeout (1s)' }]);
    h.monitor.stop();
  });

  it('records a probe that cannot run as exit code -1 with the error', async () => {
    const clock = new FakeClock();
    const results: ProbeResult[] = [];
    const monitor = new HealthMonitor({
      settings: { ...base, intervalMs: 1_000 },
      startedAt: clock.now(),
      clock,
      probe: () => Promise.reject(new Error('OCI runtime exec failed: exec: "nosuch": executable file not found in $PATH')),
      status: () => 'starting',
      record: async (r) => void results.push(r),
    });
    monitor.start();
    await clock.advance(1_000);
    expect(results[0]).toMatchObject({ exitCode: -1, output: 'OCI runtime exec failed: exec: "nosuch": executable file not found in $PATH' });
    monitor.stop();
  });

  it('stop() cancels the wait, kills a running probe and drops its result', async () => {
    const h = harness(base, [{ exitCode: 0, durationMs: 5_000 }]);
    h.monitor.start();
    await h.clock.advance(31_000);
    expect(h.runs).toHaveLength(1);
    h.monitor.stop();
    await h.monitor.done;
    expect(h.runs[0]!.killed).toBe(true);
    await h.clock.advance(120_000);
    expect(h.results).toHaveLength(0);
    expect(h.runs).toHaveLength(1);
    expect(h.clock.pending()).toEqual([]);
  });

  it('honours a first delay (an adopted container is checked soon)', async () => {
    const h = harness(base, [{ exitCode: 0 }], { firstDelayMs: 5_000 });
    h.monitor.start();
    await h.clock.advance(5_000);
    expect(h.runs).toHaveLength(1);
    h.monitor.stop();
  });
});
