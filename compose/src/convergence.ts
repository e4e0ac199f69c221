import type { ObservedContainer } from './observed-state.js';

/**
 * What to do with one service's containers to reach its desired state (compose v2's
 * `convergence.ensureService`), as a pure function of the desired state and the containers found:
 * keep what is up to date, recreate what diverged (config hash or image changed), create missing
 * replicas, remove extra ones. Up-to-date containers are kept first and obsolete ones removed first
 * when scaling down, so a scale-down never recreates what it is about to remove.
 */

/** `diverged` (default), `force` (`--force-recreate`), `never` (`--no-recreate`). */
export type RecreatePolicy = 'diverged' | 'force' | 'never';

export interface ServiceTarget {
  replicas: number;
  configHash: string;
  /** The image id the service should run; undefined when not known (no image check). */
  imageId?: string;
  recreate: RecreatePolicy;
}

export interface ServicePlan {
  /** Up-to-date containers (started if they are not running). */
  keep: ObservedContainer[];
  /** Containers replaced by a new one with the same number and name. */
  recreate: ObservedContainer[];
  /** Container numbers to create. */
  create: number[];
  /** Containers beyond the replica count. */
  remove: ObservedContainer[];
}

/** Why a container must be recreated, or undefined when it is up to date. */
export function divergence(target: ServiceTarget, c: ObservedContainer): string | undefined {
  if (target.recreate === 'force') return 'forced';
  if (target.recreate === 'never') return undefined;
  if (c.configHash !== target.configHash) return 'configuration changed';
  if (target.imageId && c.imageId !== target.imageId) return 'image changed';
  return undefined;
}

/** Live containers (running, restarting, paused) before stopped ones among duplicates. */
const live = (c: ObservedContainer) => (c.state === 'running' || c.state === 'restarting' || c.state === 'paused' ? 0 : 1);

export function planService(target: ServiceTarget, existing: ObservedContainer[]): ServicePlan {
  // Of two containers with one number, the live one and then the newer one is kept: a drained
  // node's container and its replacement elsewhere (apps/api container-move.ts) share the name
  // and number until the original goes, and keeping the original would undo the drain.
  const ordered = [...existing].sort((a, b) => {
    const da = divergence(target, a) ? 1 : 0;
    const db = divergence(target, b) ? 1 : 0;
    return da - db || a.number - b.number || live(a) - live(b) || b.created - a.created;
  });
  const plan: ServicePlan = { keep: [], recreate: [], create: [], remove: [] };
  const used = new Set<number>();
  const duplicates: ObservedContainer[] = [];
  for (const c of ordered) {
    // Two containers with one number (a drain moving it, a crash mid-recreate): the extra one goes.
    if (used.has(c.number) || c.number < 1) {
      duplicates.push(c);
      continue;
    }
    if (used.size >= target.replicas) {
      plan.remove.push(c);
      continue;
    }
    used.add(c.number);
    if (divergence(target, c)) plan.recreate.push(c);
    else plan.keep.push(c);
  }
  plan.remove.push(...duplicates);
  // Missing replicas take the lowest free numbers, so a replica removed by hand comes back with its name.
  for (let n = 1; used.size + plan.create.length < target.replicas; n++) {
    if (!used.has(n)) plan.create.push(n);
  }
  return plan;
}

/** `<project>-<service>-<number>`, or the service's container_name. */
export function containerName(project: string, service: string, number: number, containerNameOverride?: string): string {
  return containerNameOverride ?? `${project}-${service}-${number}`;
}
