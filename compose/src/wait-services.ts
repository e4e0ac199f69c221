import type { Project } from '@berth/compose';
import { FailedPreconditionError } from '@berth/errors';
import { formatDuration } from '@berth/compose';
import { healthFailure } from './dependency-wait.js';
import type { ObservedContainer } from './observed-state.js';
import { reporter } from './progress.js';
import type { ComposeSession } from './session.js';

/**
 * `up --wait`: every container of the run is running, and healthy when it has a healthcheck
 * (compose v2's `ServiceConditionRunningOrHealthy`). A container that exits with 0 is fine when
 * another service waits for it to complete; any other exit, an unhealthy container or the
 * deadline stops the wait with compose's message.
 */
export async function waitForServices(
  s: ComposeSession,
  project: Project,
  containers: Map<string, ObservedContainer[]>,
  options: { timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<void> {
  const completing = new Set<string>();
  for (const svc of Object.values(project.services)) {
    for (const [dep, c] of Object.entries(svc.depends_on ?? {})) if (c.condition === 'service_completed_successfully') completing.add(dep);
  }
  const deadline = options.timeoutMs ? Date.now() + options.timeoutMs : undefined;
  const all = [...containers.entries()].flatMap(([service, list]) => list.map((c) => ({ service, c })));
  const failures = await Promise.all(
    all.map(async ({ service, c }) => {
      const report = reporter(s.progress, 'Container', c.name);
      report.working('Waiting');
      const outcome = await s.health.waitHealthy(c.id, { timeoutMs: deadline ? Math.max(0, deadline - Date.now()) : undefined, signal: options.signal });
      if (outcome.kind === 'healthy' || outcome.kind === 'no-healthcheck') {
        report.done('Healthy');
        return undefined;
      }
      if (outcome.kind === 'exited' && outcome.exitCode === 0 && completing.has(service)) {
        report.done('Exited');
        return undefined;
      }
      report.failed('Error');
      return outcome.kind === 'timeout' ? 'timeout' : healthFailure(c.name, outcome);
    }),
  );
  if (failures.includes('timeout')) throw new FailedPreconditionError(`application not healthy after ${formatDuration((options.timeoutMs ?? 0) * 1e6)}`);
  const failure = failures.find((f) => f !== undefined);
  if (failure) throw new FailedPreconditionError(failure);
}
