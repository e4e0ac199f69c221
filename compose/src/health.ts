import type { ContainerEngine } from './engine.js';

/**
 * How the controller learns a container's health: `depends_on: condition: service_healthy`,
 * `up --wait` and rolling updates wait on it. The agent runs the healthchecks; the gateway's
 * Containers.WaitHealth answers as soon as the status changes (no polling).
 */

/** What a wait ended on. */
export type HealthOutcome =
  | { kind: 'healthy' }
  | { kind: 'unhealthy'; output?: string }
  | { kind: 'no-healthcheck' }
  | { kind: 'exited'; exitCode: number }
  | { kind: 'gone' }
  | { kind: 'timeout' };

export interface HealthWaiter {
  /**
   * Resolves once the container is healthy, unhealthy, has no healthcheck (and runs), stopped or
   * was removed, or when `timeoutMs` passed; never rejects for those outcomes.
   */
  waitHealthy(id: string, options?: { timeoutMs?: number; signal?: AbortSignal; throughUnhealthy?: boolean }): Promise<HealthOutcome>;
}

/** Between two answers that end no wait (a container restarting per its policy, still unhealthy). */
const restartPauseMs = 200;

export class EngineHealthWaiter implements HealthWaiter {
  constructor(private readonly engine: Pick<ContainerEngine, 'waitHealth'>) {}

  async waitHealthy(id: string, options: { timeoutMs?: number; signal?: AbortSignal; throughUnhealthy?: boolean } = {}): Promise<HealthOutcome> {
    const deadline = options.timeoutMs === undefined ? undefined : Date.now() + options.timeoutMs;
    for (;;) {
      const left = deadline === undefined ? 0 : Math.max(1, deadline - Date.now());
      const answer = await this.engine.waitHealth(id, { until: options.throughUnhealthy ? ['healthy'] : [], timeoutMs: left, signal: options.signal });
      if (answer.state === 'removed' || answer.state === 'removing') return { kind: 'gone' };
      if (answer.state === 'running') {
        if (answer.status === 'healthy') return { kind: 'healthy' };
        if (answer.status === 'none') return { kind: 'no-healthcheck' };
        if (answer.status === 'unhealthy' && !options.throughUnhealthy) return { kind: 'unhealthy', output: answer.lastOutput };
      } else if (answer.state !== 'restarting' && answer.state !== 'created') {
        return { kind: 'exited', exitCode: answer.exitCode };
      }
      if (options.signal?.aborted || (deadline !== undefined && Date.now() >= deadline)) return { kind: 'timeout' };
      // The gateway answers early only when the container is not running (or, for an older agent,
      // on every status change): pause before asking again rather than spin.
      await new Promise((r) => setTimeout(r, Math.min(restartPauseMs, deadline === undefined ? restartPauseMs : Math.max(0, deadline - Date.now()))));
    }
  }
}
