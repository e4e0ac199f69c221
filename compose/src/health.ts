import { NotFoundError } from '@berth/errors';
import type { ContainerEngine } from './engine.js';

/**
 * How the controller learns a container's health: `depends_on: condition: service_healthy`,
 * `up --wait` and rolling updates wait on it. The agent runs the healthchecks and reports the
 * result in inspect's `State.Health`; HealthWaiter watches it for one container.
 */

export type HealthStatus = 'none' | 'starting' | 'healthy' | 'unhealthy';

export interface ContainerCondition {
  health: HealthStatus;
  /** Docker's State.Status. */
  state: string;
  running: boolean;
  exitCode: number;
}

/** What a wait ended on. */
export type HealthOutcome =
  | { kind: 'healthy' }
  | { kind: 'unhealthy' }
  | { kind: 'no-healthcheck' }
  | { kind: 'exited'; exitCode: number }
  | { kind: 'gone' }
  | { kind: 'timeout' };

export interface HealthWaiter {
  /** The container's current state and health. */
  condition(id: string): Promise<ContainerCondition>;
  /**
   * Resolves once the container is healthy, unhealthy, has no healthcheck, exited or was removed,
   * or when `timeoutMs` passed; never rejects for those outcomes.
   */
  waitHealthy(id: string, options?: { timeoutMs?: number; signal?: AbortSignal }): Promise<HealthOutcome>;
}

const pollMs = 200;

/**
 * Watches inspect's State.Health through the gateway, polling: one inspect per container every
 * 200 ms while someone waits (cheap next to a healthcheck's own interval).
 */
export class InspectHealthWaiter implements HealthWaiter {
  constructor(private readonly engine: Pick<ContainerEngine, 'inspectContainer'>) {}

  async condition(id: string): Promise<ContainerCondition> {
    const c = await this.engine.inspectContainer(id);
    const status = c.State.Health?.Status;
    const test = c.Config.Healthcheck?.Test;
    const declared = test !== undefined && test.length > 0 && test[0] !== 'NONE';
    // A declared check whose first result is not in yet is starting, not absent.
    const health: HealthStatus = status === 'healthy' || status === 'unhealthy' || status === 'starting' ? status : declared ? 'starting' : 'none';
    return { health, state: c.State.Status, running: c.State.Running, exitCode: c.State.ExitCode };
  }

  async waitHealthy(id: string, options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<HealthOutcome> {
    const deadline = options.timeoutMs === undefined ? Infinity : Date.now() + options.timeoutMs;
    for (;;) {
      let c: ContainerCondition;
      try {
        c = await this.condition(id);
      } catch (err) {
        if (err instanceof NotFoundError) return { kind: 'gone' };
        throw err;
      }
      if (c.health === 'healthy') return { kind: 'healthy' };
      if (c.health === 'unhealthy') return { kind: 'unhealthy' };
      if (!c.running && c.state !== 'created' && c.state !== 'restarting') return { kind: 'exited', exitCode: c.exitCode };
      if (c.health === 'none' && c.running) return { kind: 'no-healthcheck' };
      if (Date.now() >= deadline) return { kind: 'timeout' };
      if (options.signal?.aborted) return { kind: 'timeout' };
      await new Promise((r) => setTimeout(r, Math.min(pollMs, Math.max(0, deadline - Date.now()))));
    }
  }
}
