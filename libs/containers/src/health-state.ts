import type { ProbeSettings } from './health-config.js';

/**
 * The health state machine of one container, as Docker's (moby daemon/health.go
 * `handleProbeResult`, container/health.go), in pure functions: what a probe result does to the
 * state, when the next probe runs, and how `ps` shows it.
 *
 *   start ──▶ starting ──success──▶ healthy ◀──success── unhealthy
 *                │                     │                     ▲
 *                └── retries failures in a row (failures inside start_period do not count) ──┘
 *   stop / pause ──▶ unhealthy (Docker: "unhealthy when the monitor has stopped")
 */

export type HealthStatus = 'starting' | 'healthy' | 'unhealthy';

/** One probe as Docker's inspect shows it (`State.Health.Log[]`). */
export interface HealthLogEntry {
  /** RFC 3339. */
  Start: string;
  End: string;
  /** The probe's exit code; -1 when it timed out or could not run. */
  ExitCode: number;
  /** stdout and stderr together, at most 4096 bytes (then `...`). */
  Output: string;
}

/** Docker's `State.Health`. */
export interface Health {
  Status: HealthStatus;
  FailingStreak: number;
  /** The last five probes, oldest first. */
  Log: HealthLogEntry[];
}

/** A probe's outcome with its times (milliseconds since the epoch). */
export interface ProbeResult {
  start: number;
  end: number;
  exitCode: number;
  output: string;
}

export const maxHealthLogEntries = 5;
export const maxProbeOutputBytes = 4096;

/** The state of a container that (re)starts: `starting`, streak 0, earlier probes kept (Docker's initHealthMonitor). */
export function startingHealth(previous: Health | undefined): Health {
  return { Status: 'starting', FailingStreak: 0, Log: previous?.Log ?? [] };
}

/**
 * The state after one probe. Success: healthy, streak 0. Failure (any other exit code): the
 * streak grows and reaching `retries` makes it unhealthy, except while `starting` within
 * `startPeriod` of the container's start, when failures are not counted.
 */
export function applyProbeResult(
  health: Health,
  result: ProbeResult,
  context: { startedAt: number; settings: Pick<ProbeSettings, 'startPeriodMs' | 'retries'> },
): Health {
  const entry: HealthLogEntry = {
    Start: new Date(result.start).toISOString(),
    End: new Date(result.end).toISOString(),
    ExitCode: result.exitCode,
    Output: result.output,
  };
  const log = [...health.Log, entry].slice(-maxHealthLogEntries);
  if (result.exitCode === 0) return { Status: 'healthy', FailingStreak: 0, Log: log };
  const inStartPeriod = health.Status === 'starting' && result.start - context.startedAt < context.settings.startPeriodMs;
  if (inStartPeriod) return { ...health, Log: log };
  const streak = health.FailingStreak + 1;
  return { Status: streak >= context.settings.retries ? 'unhealthy' : health.Status, FailingStreak: streak, Log: log };
}

/**
 * Milliseconds until the next probe (Docker's `getInterval`): `start_interval` while the container
 * is `starting` within its start period, else `interval`.
 */
export function nextProbeDelay(
  settings: Pick<ProbeSettings, 'intervalMs' | 'startIntervalMs' | 'startPeriodMs'>,
  context: { status: HealthStatus; sinceStartMs: number },
): number {
  if (context.sinceStartMs >= settings.startPeriodMs) return settings.intervalMs;
  return context.status === 'starting' ? settings.startIntervalMs : settings.intervalMs;
}

/** What `ps` shows in parentheses after `Up …` (Docker's `Health.String()`). */
export function healthLabel(status: HealthStatus): string {
  return status === 'starting' ? 'health: starting' : status;
}

/**
 * Collects a probe's output up to 4096 bytes, as Docker's `limitedBuffer`: more is dropped and
 * `...` appended.
 */
export class LimitedOutput {
  private readonly chunks: Buffer[] = [];
  private size = 0;
  private truncated = false;

  write(data: Buffer): void {
    const keep = Math.min(maxProbeOutputBytes - this.size, data.length);
    if (keep > 0) {
      this.chunks.push(keep === data.length ? data : data.subarray(0, keep));
      this.size += keep;
    }
    if (keep < data.length) this.truncated = true;
  }

  toString(): string {
    const text = Buffer.concat(this.chunks).toString('utf8');
    return this.truncated ? `${text}...` : text;
  }
}
