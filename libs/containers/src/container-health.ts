import type { ExecProcess, ExecOptions } from '@berth/runtime';
import type { ContainerContext } from './container-context.js';
import { probeSettings, type ProbeSettings } from './health-config.js';
import { HealthMonitor, systemClock, type HealthClock, type ProbeRunner } from './health-monitor.js';
import { LimitedOutput, applyProbeResult, startingHealth, type HealthStatus, type ProbeResult } from './health-state.js';
import { statusOf } from './state.js';
import type { ContainerRecord, ContainerStatus } from './types.js';
import type { Logger } from '@berth/log';

/**
 * What the runner and the lifecycle tell the health part. Each is called under the container's
 * lock with the record about to be written: they change `rec.State.Health` in place and start or
 * stop the probe loop, and never write the record themselves. The caller writes the record before
 * it next awaits: waiters are woken on the next microtask and read the record then.
 */
export interface HealthHooks {
  /** A run began (start, restart, policy restart): health `starting` again, probing from now. */
  started(rec: ContainerRecord): void;
  /** A running container adopted by a new agent process, or unpaused: probing resumes, the status is kept. */
  resumed(rec: ContainerRecord, options?: { adopted?: boolean }): void;
  /** The run ended or the container was paused: probing stops and the status becomes `unhealthy` (Docker). */
  stopped(rec: ContainerRecord): void;
  /** The container is gone. */
  removed(rec: ContainerRecord): void;
}

/** The one runtime verb probes use: a non-tty exec whose output is collected by the caller. */
export interface ProbeExec {
  spawnExec(id: string, options: Omit<ExecOptions, 'stdin'>): Promise<ExecProcess>;
}

export interface ContainerHealthOptions {
  runtime: ProbeExec;
  clock?: HealthClock;
  /** Told about a health state that could not be saved (e.g. a full disk); probing goes on. */
  log?: Logger;
}

/** What `waitHealth` answers: the health and the container's state when the wait ended. */
export interface HealthWaitResult {
  /** `none`: the container has no healthcheck (or `NONE`). */
  status: HealthStatus | 'none';
  /** The container's state (`running`, `exited`, `restarting`, `paused`, `created`, `dead`), or `removed`. */
  state: ContainerStatus | 'removed';
  failingStreak: number;
  /** The container's exit code when it does not run. */
  exitCode: number;
  /** The output of the last probe (why it is unhealthy), '' when none ran. */
  lastOutput: string;
}

export interface HealthWaitOptions {
  /** Return once the status is one of these (default: healthy or unhealthy). */
  until?: HealthStatus[];
  /** Give up after this long and answer the current state (0 or absent: no limit). */
  timeoutMs?: number;
  signal?: AbortSignal;
}

interface Watch {
  monitor: HealthMonitor;
  settings: ProbeSettings;
  status: HealthStatus;
}

/**
 * Docker's healthchecks on one host: a probe loop (HealthMonitor) per running, unpaused container
 * whose config has a CMD or CMD-SHELL healthcheck; each probe is one `runc exec` whose output is
 * capped at 4 KiB. Results go to `State.Health` of the record (so `inspect`, `ps` and a restarted
 * agent see them), a status change emits `health_status: healthy|unhealthy`, and `wait` answers
 * clients waiting for a status (Compose's `service_healthy`, `up --wait`).
 *
 * Probes emit no exec_* events and are not listed in ExecIDs (Docker emits and lists them): they
 * would flood the durable event history at every interval of every container.
 */
export class ContainerHealth implements HealthHooks {
  private readonly watches = new Map<string, Watch>();
  private readonly listeners = new Map<string, Set<() => void>>();
  private readonly clock: HealthClock;

  constructor(
    private readonly ctx: ContainerContext,
    private readonly options: ContainerHealthOptions,
  ) {
    this.clock = options.clock ?? systemClock;
  }

  started(rec: ContainerRecord): void {
    const settings = settingsOf(rec);
    if (settings === undefined) return;
    rec.State.Health = startingHealth(rec.State.Health);
    this.watch(rec, settings);
    this.notifySoon(rec.Id);
  }

  resumed(rec: ContainerRecord, options: { adopted?: boolean } = {}): void {
    const settings = settingsOf(rec);
    if (settings === undefined) return;
    rec.State.Health ??= startingHealth(undefined);
    // An adopted container went unprobed while no agent ran: check it soon (start_interval) rather
    // than after a whole interval, keeping its status meanwhile.
    this.watch(rec, settings, options.adopted ? Math.min(settings.startIntervalMs, settings.intervalMs) : undefined);
  }

  stopped(rec: ContainerRecord): void {
    this.unwatch(rec.Id);
    if (rec.State.Health !== undefined) rec.State.Health = { ...rec.State.Health, Status: 'unhealthy' };
    this.notifySoon(rec.Id);
  }

  removed(rec: ContainerRecord): void {
    this.unwatch(rec.Id);
    this.notifySoon(rec.Id);
  }

  /** Stops every probe loop without touching the records (agent shutdown: containers keep running). */
  close(): void {
    for (const id of [...this.watches.keys()]) this.unwatch(id);
  }

  /** Whether a probe loop runs for the container (tests, diagnostics). */
  isProbing(id: string): boolean {
    return this.watches.has(id);
  }

  /**
   * Waits until the container's health is one of `until` (default healthy or unhealthy), or it
   * does not run (stopped, exited, paused, restarting, removed), or `timeoutMs` passed; answers at
   * once when one of these already holds or the container has no healthcheck. The wait is woken
   * by the state changes themselves (no polling). When `signal` aborts (the client went away) it
   * answers the current state and forgets the wait.
   */
  wait(id: string, options: HealthWaitOptions = {}): Promise<HealthWaitResult> {
    const until = new Set<string>(options.until && options.until.length > 0 ? options.until : ['healthy', 'unhealthy']);
    const settled = (s: HealthWaitResult) => s.status === 'none' || s.state !== 'running' || until.has(s.status);
    const now = this.snapshot(id);
    if (settled(now) || options.signal?.aborted) return Promise.resolve(now);
    return new Promise((resolve) => {
      let timer: unknown;
      const finish = () => {
        const listeners = this.listeners.get(id);
        listeners?.delete(check);
        if (listeners?.size === 0) this.listeners.delete(id);
        if (timer !== undefined) this.clock.clearTimer(timer);
        options.signal?.removeEventListener('abort', finish);
        resolve(this.snapshot(id));
      };
      const check = () => {
        if (settled(this.snapshot(id))) finish();
      };
      let listeners = this.listeners.get(id);
      if (listeners === undefined) this.listeners.set(id, (listeners = new Set()));
      listeners.add(check);
      options.signal?.addEventListener('abort', finish, { once: true });
      if (options.timeoutMs !== undefined && options.timeoutMs > 0) timer = this.clock.setTimer(finish, options.timeoutMs);
    });
  }

  /** Listeners waiting on a container (tests: a finished wait leaves none behind). */
  waitingOn(id: string): number {
    return this.listeners.get(id)?.size ?? 0;
  }

  private snapshot(id: string): HealthWaitResult {
    const rec = this.ctx.store.get(id);
    if (rec === undefined) return { status: 'none', state: 'removed', failingStreak: 0, exitCode: 0, lastOutput: '' };
    const health = rec.State.Health;
    const log = health?.Log ?? [];
    return {
      status: settingsOf(rec) === undefined ? 'none' : (health?.Status ?? 'starting'),
      state: rec.State.Status === 'removing' ? 'removing' : statusOf(rec.State),
      failingStreak: health?.FailingStreak ?? 0,
      exitCode: rec.State.ExitCode,
      lastOutput: log.length > 0 ? log[log.length - 1]!.Output : '',
    };
  }

  private notify(id: string): void {
    for (const listener of [...(this.listeners.get(id) ?? [])]) listener();
  }

  /** Wakes the waiters once the hook's caller has written the record (see HealthHooks). */
  private notifySoon(id: string): void {
    if (this.listeners.has(id)) queueMicrotask(() => this.notify(id));
  }

  private watch(rec: ContainerRecord, settings: ProbeSettings, firstDelayMs?: number): void {
    this.unwatch(rec.Id);
    const id = rec.Id;
    const watch: Watch = {
      settings,
      status: rec.State.Health?.Status ?? 'starting',
      monitor: new HealthMonitor({
        settings,
        startedAt: Date.parse(rec.State.StartedAt),
        clock: this.clock,
        probe: this.probeRunner(id),
        status: () => watch.status,
        record: (result) => this.record(id, watch, result),
        firstDelayMs,
      }),
    };
    this.watches.set(id, watch);
    watch.monitor.start();
  }

  private unwatch(id: string): void {
    this.watches.get(id)?.monitor.stop();
    this.watches.delete(id);
  }

  /** Docker's handleProbeResult, under the container's lock; a result of a stopped loop is dropped. */
  private async record(id: string, watch: Watch, result: ProbeResult): Promise<void> {
    await this.ctx.locks.run(id, async () => {
      if (this.watches.get(id) !== watch) return;
      const rec = this.ctx.store.get(id);
      if (rec === undefined || statusOf(rec.State) !== 'running') return;
      const before = rec.State.Health ?? startingHealth(undefined);
      const after = applyProbeResult(before, result, { startedAt: Date.parse(rec.State.StartedAt), settings: watch.settings });
      rec.State.Health = after;
      watch.status = after.Status;
      try {
        this.ctx.store.update(rec);
      } catch (err) {
        this.options.log?.warn({ container: id, err }, 'Cannot save the health of the container');
      }
      if (after.Status !== before.Status) {
        this.ctx.emit(after.Status === 'healthy' ? 'health_status: healthy' : 'health_status: unhealthy', rec);
      }
      this.notify(id);
    });
  }

  /** One probe: `runc exec` of the command, stdout and stderr into one 4 KiB buffer. */
  private probeRunner(id: string): ProbeRunner {
    return async (command, signal) => {
      const proc = await this.options.runtime.spawnExec(id, { args: command, signal });
      const output = new LimitedOutput();
      proc.stdout.on('data', (data: Buffer) => output.write(data));
      proc.stderr.on('data', (data: Buffer) => output.write(data));
      proc.stdin.end();
      const exitCode = await proc.exited;
      return { exitCode, output: output.toString() };
    };
  }
}

function settingsOf(rec: ContainerRecord): ProbeSettings | undefined {
  return probeSettings(rec.Config.Healthcheck, rec.Config.Shell);
}
