import { messageOf } from '@berth/errors';
import { goDurationString, type ProbeSettings } from './health-config.js';
import { nextProbeDelay, type HealthStatus, type ProbeResult } from './health-state.js';

/** Time for the monitor: the system clock in production, a fake one in tests (no real sleeps). */
export interface HealthClock {
  /** Milliseconds since the epoch. */
  now(): number;
  setTimer(fn: () => void, ms: number): unknown;
  clearTimer(handle: unknown): void;
}

export const systemClock: HealthClock = {
  now: () => Date.now(),
  setTimer: (fn, ms) => {
    const timer = setTimeout(fn, ms);
    // A pending probe must not keep a process alive that has nothing else to do (tests, CLI tools).
    timer.unref();
    return timer;
  },
  clearTimer: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/**
 * Runs the probe's command once in the container and resolves with its exit code and output once
 * the process has ended. Aborting `signal` must kill the process. Rejects when it could not run.
 */
export type ProbeRunner = (command: string[], signal: AbortSignal) => Promise<{ exitCode: number; output: string }>;

export interface HealthMonitorOptions {
  settings: ProbeSettings;
  /** When the container started (ms): the start period counts from here. */
  startedAt: number;
  clock: HealthClock;
  probe: ProbeRunner;
  /** The container's current status, to choose the next interval. */
  status(): HealthStatus;
  /** Records a probe's result (Docker's handleProbeResult); the next probe is scheduled once it settles. */
  record(result: ProbeResult): Promise<void>;
  /** Delay before the first probe; default Docker's (`start_interval` while starting in the start period, else `interval`). */
  firstDelayMs?: number;
  /** How long to wait for a killed probe to end before giving up on it (default 5 s). */
  killGraceMs?: number;
}

/**
 * The probe loop of one container (Docker's `monitor`): waits the interval, runs one probe with
 * its timeout, records the result, and waits again; there is never more than one probe at a time,
 * and the wait starts after the previous probe ended. A probe that exceeds `timeout` is killed and
 * recorded as exit code -1, `Health check exceeded timeout (30s)` (plus what it printed).
 * `stop()` ends the loop: a pending wait is cancelled, a running probe killed and its result dropped.
 */
export class HealthMonitor {
  private timer: unknown;
  private probing?: AbortController;
  private stopped = false;
  private readonly finished: Promise<void>;
  private finish!: () => void;

  constructor(private readonly options: HealthMonitorOptions) {
    this.finished = new Promise((resolve) => (this.finish = resolve));
  }

  /** Resolves once the loop has ended after `stop()` (a running probe has been killed and has ended). */
  get done(): Promise<void> {
    return this.finished;
  }

  start(): void {
    this.schedule(this.options.firstDelayMs ?? this.delay());
  }

  /** Idempotent and synchronous: safe to call under the container's lock. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer !== undefined) this.options.clock.clearTimer(this.timer);
    this.timer = undefined;
    if (this.probing) this.probing.abort();
    else this.finish();
  }

  private delay(): number {
    const { settings, startedAt, clock } = this.options;
    return nextProbeDelay(settings, { status: this.options.status(), sinceStartMs: clock.now() - startedAt });
  }

  private schedule(ms: number): void {
    this.timer = this.options.clock.setTimer(() => void this.tick(), Math.max(0, ms));
  }

  private async tick(): Promise<void> {
    this.timer = undefined;
    if (this.stopped) return;
    const result = await this.runProbe();
    if (this.stopped) {
      this.finish();
      return;
    }
    // The recorder logs its own failures (a full disk): the loop goes on regardless.
    await this.options.record(result).catch(() => {});
    if (!this.stopped) this.schedule(this.delay());
  }

  /** One probe with its timeout (Docker's cmdProbe.run). */
  private async runProbe(): Promise<ProbeResult> {
    const { clock, settings } = this.options;
    const start = clock.now();
    const controller = new AbortController();
    this.probing = controller;
    let timedOut = false;
    const timeout = clock.setTimer(() => {
      timedOut = true;
      controller.abort();
    }, settings.timeoutMs);
    let outcome: { exitCode: number; output: string };
    try {
      outcome = await this.untilEnded(this.options.probe(settings.command, controller.signal), controller.signal);
    } catch (err) {
      outcome = { exitCode: -1, output: messageOf(err) };
    } finally {
      clock.clearTimer(timeout);
      this.probing = undefined;
    }
    if (timedOut) {
      const limit = `Health check exceeded timeout (${goDurationString(settings.timeoutMs * 1e6)})`;
      outcome = { exitCode: -1, output: outcome.output !== '' ? `${limit}: ${outcome.output}` : limit };
    }
    return { start, end: clock.now(), ...outcome };
  }

  /**
   * The probe's outcome; once aborted, waits for the killed process at most `killGraceMs` (Docker
   * waits so that dying probes do not pile up, but a wedged runtime must not stop the loop).
   */
  private untilEnded(
    probe: Promise<{ exitCode: number; output: string }>,
    signal: AbortSignal,
  ): Promise<{ exitCode: number; output: string }> {
    const { clock } = this.options;
    let grace: unknown;
    const gaveUp = new Promise<{ exitCode: number; output: string }>((resolve) => {
      signal.addEventListener(
        'abort',
        () => (grace = clock.setTimer(() => resolve({ exitCode: -1, output: '' }), this.options.killGraceMs ?? 5_000)),
        { once: true },
      );
    });
    return Promise.race([probe, gaveUp]).finally(() => {
      if (grace !== undefined) clock.clearTimer(grace);
    });
  }
}
