import { parseDuration, type ServiceConfig, type UpdateConfig } from '@berth/compose';
import { FailedPreconditionError, messageOf } from '@berth/errors';
import { healthFailure } from './dependency-wait.js';
import type { ObservedContainer } from './observed-state.js';
import { reporter } from './progress.js';
import type { ComposeSession } from './session.js';

/**
 * Health-gated rolling updates (beyond Docker Compose, as Swarm's `deploy.update_config`): a
 * service's diverged replicas are replaced in batches of `parallelism`, `delay` apart; each new
 * replica must become healthy (or, without a healthcheck, keep running) within `monitor` before
 * the next batch. `order: start-first` starts the new replica before the old one stops, so the
 * service never loses a serving replica (the network's DNS answers only serving replicas of a
 * name); `stop-first` stops the old one first. When more than `max_failure_ratio` of the replicas
 * failed, `failure_action` decides: `rollback` (the old containers, kept aside until the update
 * ends, come back per `rollback_config`), `pause` (stop here) or `continue`.
 *
 * The old containers are renamed `<id12>_<name>` and stopped, never removed before the update
 * succeeded, so a rollback restores exactly what ran (config, image, anonymous volumes).
 */

export interface UpdatePolicy {
  parallelism: number;
  delayMs: number;
  order: 'start-first' | 'stop-first';
  failureAction: 'rollback' | 'pause' | 'continue';
  monitorMs: number;
  maxFailureRatio: number;
}

/** Swarm's defaults: one at a time, no delay, stop-first, pause on failure, monitor 5 s. */
export function updatePolicy(config: UpdateConfig | undefined): UpdatePolicy {
  const action = config?.failure_action;
  return {
    parallelism: config?.parallelism ?? 1,
    delayMs: config?.delay ? parseDuration(config.delay) / 1e6 : 0,
    order: config?.order === 'start-first' ? 'start-first' : 'stop-first',
    failureAction: action === 'rollback' || action === 'continue' ? action : 'pause',
    monitorMs: config?.monitor ? parseDuration(config.monitor) / 1e6 : 5_000,
    maxFailureRatio: config?.max_failure_ratio ?? 0,
  };
}

/** Whether `up` replaces this service's containers as a rolling update. */
export function wantsRollingUpdate(service: ServiceConfig, recreating: number): boolean {
  return recreating > 0 && service.deploy?.update_config !== undefined;
}

interface Replacement {
  old: ObservedContainer;
  /** The new container, once created. */
  next?: ObservedContainer;
  failure?: string;
}

export interface RollingUpdateInput {
  service: string;
  replace: ObservedContainer[];
  /** The new container for a replica (created, not started). */
  create(old: ObservedContainer): Promise<ObservedContainer>;
  update: UpdatePolicy;
  rollback: UpdatePolicy;
  /** Stop timeout in seconds. */
  timeout?: number;
  renewAnonVolumes?: boolean;
}

const pause = (ms: number) => (ms > 0 ? new Promise((r) => setTimeout(r, ms)) : Promise.resolve());

/** Whether a started container serves within the monitor window: healthy, or still running. */
async function monitor(s: ComposeSession, c: ObservedContainer, monitorMs: number): Promise<string | undefined> {
  const outcome = await s.health.waitHealthy(c.id, { timeoutMs: monitorMs, throughUnhealthy: true });
  if (outcome.kind === 'healthy') return undefined;
  if (outcome.kind === 'no-healthcheck') {
    // Without a healthcheck, the replica must not exit during the window.
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), monitorMs);
    // the window ended (aborted): the replica did not exit
    const code = await s.engine.waitContainer(c.id, { signal: controller.signal }).catch(() => undefined);
    clearTimeout(timer);
    return code === undefined ? undefined : `container ${c.name} exited (${code})`;
  }
  if (outcome.kind === 'timeout') return `container ${c.name} did not become healthy within ${monitorMs / 1000}s`;
  return healthFailure(c.name, outcome);
}

async function inBatches<T>(items: T[], policy: UpdatePolicy, fn: (item: T) => Promise<void>, stop: () => boolean): Promise<void> {
  const size = policy.parallelism > 0 ? policy.parallelism : items.length;
  for (let i = 0; i < items.length; i += size) {
    if (stop()) return;
    if (i > 0) await pause(policy.delayMs);
    await Promise.all(items.slice(i, i + size).map(fn));
  }
}

/** Replaces one replica per the update order; records the failure instead of throwing. */
async function replaceOne(s: ComposeSession, r: Replacement, input: RollingUpdateInput): Promise<void> {
  const report = reporter(s.progress, 'Container', r.old.name);
  report.working('Updating');
  const aside = `${r.old.id.slice(0, 12)}_${r.old.name}`;
  try {
    if (input.update.order === 'stop-first') await s.engine.stopContainer(r.old.id, { timeout: input.timeout });
    await s.engine.renameContainer(r.old.id, aside);
    r.next = await input.create(r.old);
    await s.engine.startContainer(r.next.id);
    r.next.state = 'running';
    r.failure = await monitor(s, r.next, input.update.monitorMs);
    if (!r.failure && input.update.order === 'start-first') await s.engine.stopContainer(r.old.id, { timeout: input.timeout });
  } catch (err) {
    r.failure = messageOf(err);
  }
  if (r.failure) report.failed('Error', r.failure);
  else report.done('Updated');
}

/** Puts the old container of one replica back (the new one goes), per the rollback order. */
async function restoreOne(s: ComposeSession, r: Replacement, input: RollingUpdateInput): Promise<void> {
  const report = reporter(s.progress, 'Container', r.old.name);
  report.working('Rolling back');
  const startFirst = input.rollback.order === 'start-first';
  if (r.next) {
    if (!startFirst) await s.engine.stopContainer(r.next.id, { timeout: input.timeout }).catch(() => undefined); // it may have exited
    await s.engine.renameContainer(r.next.id, `${r.next.id.slice(0, 12)}_${r.next.name}`);
  }
  await s.engine.renameContainer(r.old.id, r.old.name);
  const details = await s.engine.inspectContainer(r.old.id);
  if (!details.State.Running) await s.engine.startContainer(r.old.id);
  if (startFirst) await monitor(s, r.old, input.rollback.monitorMs);
  if (r.next) await s.engine.removeContainer(r.next.id, { force: true, volumes: input.renewAnonVolumes ?? false });
  report.done('Rolled back');
}

/**
 * Runs the update. @returns the service's new containers. Throws (after rolling back, or pausing)
 * with a message naming the service and why.
 */
export async function rollingUpdate(s: ComposeSession, input: RollingUpdateInput): Promise<ObservedContainer[]> {
  const replacements: Replacement[] = [...input.replace].sort((a, b) => a.number - b.number).map((old) => ({ old }));
  const failed = () => replacements.filter((r) => r.failure).length;
  const tooMany = () => failed() > Math.floor(input.update.maxFailureRatio * replacements.length);
  await inBatches(replacements, input.update, (r) => replaceOne(s, r, input), () => input.update.failureAction !== 'continue' && tooMany());
  if (failed() > 0 && (input.update.failureAction === 'continue' || !tooMany())) {
    s.warn(`service "${input.service}": ${failed()} of ${replacements.length} replicas failed to update and were kept on the new configuration`);
  }
  const reason = replacements.find((r) => r.failure)?.failure;
  if (tooMany() && input.update.failureAction === 'rollback') {
    const touched = replacements.filter((r) => r.next || r.failure);
    await inBatches(touched, input.rollback, (r) => restoreOne(s, r, input), () => false);
    throw new FailedPreconditionError(`service "${input.service}": update failed (${reason}); rolled back to the previous configuration`);
  }
  if (tooMany() && input.update.failureAction === 'pause') {
    throw new FailedPreconditionError(`service "${input.service}": update paused after a failure (${reason}); run up again to continue`);
  }
  // Success (or continue): the old containers go now.
  await Promise.all(
    replacements
      .filter((r) => r.next)
      .map((r) => s.engine.removeContainer(r.old.id, { force: true, volumes: input.renewAnonVolumes ?? false })),
  );
  return replacements.map((r) => r.next ?? r.old);
}
