import type { ServiceDependency } from '@berth/compose';
import { FailedPreconditionError } from '@berth/errors';
import type { HealthOutcome } from './health.js';
import type { ObservedContainer } from './observed-state.js';
import { reporter } from './progress.js';
import type { ComposeSession } from './session.js';

/**
 * `depends_on` conditions (compose v2's `waitDependencies`): before a service starts, each
 * dependency's containers must be started, healthy, or exited with status 0. A failure of a
 * required dependency stops `up` with compose's message naming the container and why; an optional
 * one (`required: false`) only warns.
 */

/** compose's reason for a container that did not become healthy. */
export function healthFailure(name: string, outcome: HealthOutcome): string | undefined {
  switch (outcome.kind) {
    case 'healthy':
      return undefined;
    case 'unhealthy':
      return `container ${name} is unhealthy${outcome.output ? `: ${outcome.output.trim().split('\n').at(-1)}` : ''}`;
    case 'no-healthcheck':
      return `container ${name} has no healthcheck configured`;
    case 'exited':
      return `container ${name} exited (${outcome.exitCode})`;
    case 'gone':
      return `container ${name} was removed`;
    case 'timeout':
      return `container ${name} did not become healthy in time`;
  }
}

async function waitHealthy(s: ComposeSession, containers: ObservedContainer[], signal?: AbortSignal): Promise<string | undefined> {
  const failures = await Promise.all(
    containers.map(async (c) => {
      const report = reporter(s.progress, 'Container', c.name);
      report.working('Waiting');
      const failure = healthFailure(c.name, await s.health.waitHealthy(c.id, { signal }));
      if (failure) report.failed('Error', failure);
      else report.done('Healthy');
      return failure;
    }),
  );
  return failures.find((f) => f !== undefined);
}

async function waitCompleted(s: ComposeSession, dependency: string, containers: ObservedContainer[], signal?: AbortSignal): Promise<string | undefined> {
  const failures = await Promise.all(
    containers.map(async (c) => {
      const report = reporter(s.progress, 'Container', c.name);
      report.working('Waiting');
      const code = await s.engine.waitContainer(c.id, { signal });
      if (code === 0) {
        report.done('Exited');
        return undefined;
      }
      report.failed('Error');
      return `service "${dependency}" didn't complete successfully: exit ${code}`;
    }),
  );
  return failures.find((f) => f !== undefined);
}

/**
 * Waits for one dependency of `service` per its condition. `containers`: the dependency's
 * containers as its own step left them (undefined when the dependency is not part of the run).
 */
export async function waitForDependency(
  s: ComposeSession,
  dependency: string,
  config: ServiceDependency,
  containers: ObservedContainer[] | undefined,
  options: { signal?: AbortSignal } = {},
): Promise<void> {
  if (!containers || containers.length === 0) {
    if (!config.required) {
      s.warn(`optional dependency "${dependency}" is not running`);
      return;
    }
    if (containers === undefined) return; // not part of this run (`--no-deps`): not waited for
    throw new FailedPreconditionError(`dependency failed to start: service "${dependency}" has no container`);
  }
  let failure: string | undefined;
  if (config.condition === 'service_healthy') failure = await waitHealthy(s, containers, options.signal);
  else if (config.condition === 'service_completed_successfully') failure = await waitCompleted(s, dependency, containers, options.signal);
  if (!failure) return;
  if (!config.required) {
    s.warn(`optional dependency "${dependency}" failed to start: ${failure}`);
    return;
  }
  throw new FailedPreconditionError(config.condition === 'service_healthy' ? `dependency failed to start: ${failure}` : failure);
}
