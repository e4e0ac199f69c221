import type { Project } from '@berth/compose';
import type { ObservedContainer } from './observed-state.js';
import { replicasOf } from './up.js';

/**
 * What the compose watcher cannot bring back from a stored declaration. A declaration holds the
 * model without its interpolation environment (secrets' values are never written to KV, logs or
 * events), so a service with an `environment:`-sourced secret or config cannot get a new container
 * from the watcher: only `up`, which has the variable, can create one. Docker Compose v2 has no
 * watcher; its containers get such files at create (`injectSecrets`) and keep them across restarts,
 * as Berth's do. The watcher skips such a service (the others are still kept), logs why once, and
 * `compose ps` says it (docs/dev/compose.md, "Declared state and the watcher").
 */

/** Why the watcher cannot create a container of `service` from `project` as stored, or undefined when it can. */
export function unrestorableReason(project: Project, service: string): string | undefined {
  const config = project.services[service];
  if (!config) return undefined;
  const refs = [
    ...(config.secrets ?? []).map((ref) => ['secret', ref.source, project.secrets[ref.source]] as const),
    ...(config.configs ?? []).map((ref) => ['config', ref.source, project.configs[ref.source]] as const),
  ];
  for (const [kind, source, object] of refs) {
    const variable = object?.environment;
    if (variable !== undefined && project.environment[variable] === undefined) {
      return `its ${kind} "${source}" comes from environment variable "${variable}", whose value the declaration does not keep; run "berth compose up -d" to create it`;
    }
  }
  return undefined;
}

/** A declared service with fewer containers than replicas that the watcher cannot bring back. */
export interface WatcherGap {
  service: string;
  missing: number;
  replicas: number;
  reason: string;
}

/** The declared project's services that miss containers and that the watcher cannot restore (for `compose ps`). */
export function watcherGaps(project: Project, containers: ObservedContainer[]): WatcherGap[] {
  const gaps: WatcherGap[] = [];
  for (const service of Object.keys(project.services).sort()) {
    const replicas = replicasOf(project, service);
    const present = new Set(containers.filter((c) => !c.oneoff && c.service === service && c.number >= 1).map((c) => c.number)).size;
    if (present >= replicas) continue;
    const reason = unrestorableReason(project, service);
    if (reason) gaps.push({ service, missing: replicas - present, replicas, reason });
  }
  return gaps;
}

/** The sentence `compose ps` and the watcher's log use. */
export function describeGap(project: string, gap: WatcherGap): string {
  return `service "${gap.service}" of project "${project}" has ${gap.replicas - gap.missing} of ${gap.replicas} declared containers and the compose watcher cannot bring back the others: ${gap.reason}`;
}
