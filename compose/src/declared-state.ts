import { imageName, serviceConfigHash, type Project } from '@berth/compose';
import { FailedPreconditionError, messageOf } from '@berth/errors';
import { createContainer, startContainer } from './container-ops.js';
import { containerName, planService } from './convergence.js';
import type { Declaration } from './engine.js';
import { byService, projectContainers } from './observed-state.js';
import { ensureNetworks, ensureVolumes, usedNetworks, usedVolumes } from './project-resources.js';
import { visitServices } from './service-graph.js';
import type { ComposeSession } from './session.js';
import { replicasOf } from './up.js';
import { watcherGaps, type WatcherGap } from './unrestorable.js';

/**
 * Declared state (beyond Docker Compose): `up -d` stores the project's normalized model through
 * the gateway (NATS KV), and the watcher keeps it true: a container of the project that is removed
 * (or never came back) is created again, per the declared replicas. Containers that exist are left
 * to the agent and their restart policy. See docs/dev/compose.md.
 */

/** A declaration that says `updating` for longer than this is taken as abandoned (a killed CLI). */
export const updatingLeaseMs = 10 * 60_000;

/**
 * The model as stored: no interpolation environment (it may hold secrets) and no value of an
 * `environment:`-sourced secret or config (the loader resolves them into `content`), `--scale`
 * applied and, with `only`, the other services moved to `disabledServices` (not kept, not orphans).
 */
export function declaredModel(project: Project, options: { scale?: Record<string, number>; only?: string[] } = {}): string {
  const copy: Project = {
    ...project,
    environment: {},
    secrets: withoutValues(project.secrets),
    configs: withoutValues(project.configs),
    services: { ...project.services },
    disabledServices: { ...project.disabledServices },
  };
  for (const [name, n] of Object.entries(options.scale ?? {})) {
    const s = copy.services[name];
    if (s) copy.services[name] = { ...s, scale: undefined, deploy: { ...(s.deploy ?? {}), replicas: n } };
  }
  if (options.only) {
    for (const name of Object.keys(copy.services)) {
      if (options.only.includes(name)) continue;
      copy.disabledServices[name] = copy.services[name]!;
      delete copy.services[name];
    }
  }
  return JSON.stringify(copy);
}

/** Secrets or configs without the values their `environment:` sources gave them (what stays: where the value comes from). */
function withoutValues(objects: Project['secrets']): Project['secrets'] {
  return Object.fromEntries(
    Object.entries(objects).map(([name, o]) => {
      if (o.environment === undefined) return [name, o];
      const { content: _value, ...rest } = o;
      return [name, rest];
    }),
  );
}

export function modelOf(d: Declaration): Project {
  const project = JSON.parse(d.modelJson) as Project;
  return { ...project, environment: {}, warnings: [] };
}

/** Whether the watcher should act on a declaration now. */
export function isKept(d: Declaration | undefined, now = Date.now()): d is Declaration {
  if (!d) return false;
  if (d.state === 'running') return true;
  return d.state === 'updating' && now - Date.parse(d.updatedAt) > updatingLeaseMs;
}

/**
 * Runs `change` (an `up`) with the project marked `updating`, so the watcher keeps out of the way;
 * then declares the new model `running`. When the change fails, the previous declaration comes
 * back (or none, if there was none).
 */
/** The platform cannot keep declarations (an older gateway): compose still works, without keeping. */
export function declarationsUnavailable(err: unknown): boolean {
  return (err as { code?: string }).code === 'COMPOSE_DECLARATIONS_UNAVAILABLE';
}

export async function withDeclaration<T>(s: ComposeSession, project: Project, modelFor: (previous?: Declaration) => string, change: () => Promise<T>): Promise<T> {
  let previous: Declaration | undefined;
  try {
    previous = await s.engine.getDeclaration(project.name);
  } catch (err) {
    if (!declarationsUnavailable(err)) throw err;
    s.warn(messageOf(err));
    return change();
  }
  const model = modelFor(previous);
  await s.engine.putDeclaration({ name: project.name, modelJson: model, state: 'updating', updatedBy: 'berth compose up' });
  let result: T;
  try {
    result = await change();
  } catch (err) {
    try {
      if (previous) await s.engine.putDeclaration({ name: previous.name, modelJson: previous.modelJson, state: previous.state, updatedBy: previous.updatedBy });
      else await s.engine.deleteDeclaration(project.name);
    } catch (restoreErr) {
      s.warn(`the declaration of project "${project.name}" could not be restored: ${messageOf(restoreErr)}`);
    }
    throw err;
  }
  await s.engine.putDeclaration({ name: project.name, modelJson: model, state: 'running', updatedBy: 'berth compose up' });
  return result;
}

/** Sets the declared state (`compose stop` → stopped, `start` → running) when the project is declared. */
export async function setDeclaredState(s: ComposeSession, project: string, state: 'running' | 'stopped'): Promise<void> {
  const d = await s.engine.getDeclaration(project).catch((err: unknown) => {
    if (declarationsUnavailable(err)) return undefined;
    throw err;
  });
  if (!d || d.state === state) return;
  await s.engine.putDeclaration({ name: d.name, modelJson: d.modelJson, state, updatedBy: `berth compose ${state === 'running' ? 'start' : 'stop'}` }, { expectedRevision: d.revision });
}

/**
 * The watcher's reconcile of one declared project: creates and starts every missing replica, in
 * dependency order. `stillKept` is asked again right before each create, so a `down` or an `up`
 * that began meanwhile wins. A service the stored model cannot recreate (unrestorable.ts) is
 * skipped, the others are still kept. @returns the names of the containers created, and the
 * services skipped with why.
 */
export async function keepDeclared(s: ComposeSession, project: Project, stillKept: () => Promise<boolean>): Promise<{ created: string[]; gaps: WatcherGap[] }> {
  const observed = await projectContainers(s.engine, project.name, { oneoff: false });
  const gaps = watcherGaps(project, observed);
  const services = Object.keys(project.services).filter((name) => !gaps.some((g) => g.service === name));
  const existing = byService(observed);
  const plans = new Map(
    services.map((name) => [name, planService({ replicas: replicasOf(project, name), configHash: serviceConfigHash(project.services[name]!), recreate: 'never' }, existing.get(name) ?? [])]),
  );
  const missing = [...plans.values()].some((p) => p.create.length > 0);
  if (!missing || !(await stillKept())) return { created: [], gaps };
  await ensureNetworks(s, project, usedNetworks(project, services));
  await ensureVolumes(s, project, usedVolumes(project, services));
  const created: string[] = [];
  const current = new Map(existing);
  await visitServices(project, services, async (name) => {
    const plan = plans.get(name)!;
    if (plan.create.length === 0) return;
    const service = project.services[name]!;
    const image = imageName(project, name, service);
    const details = await s.engine.inspectImage(image);
    if (!details) throw new FailedPreconditionError(`service "${name}": image "${image}" is not present`);
    for (const number of plan.create) {
      if (!(await stillKept())) return;
      const c = await createContainer(s, {
        project,
        serviceName: name,
        service,
        number,
        name: containerName(project.name, name, number, service.container_name),
        image,
        imageId: details.Id,
        configHash: serviceConfigHash(service),
        containerOf: (svc) => {
          const list = current.get(svc) ?? [];
          const found = list.find((x) => x.state === 'running') ?? list[0];
          if (!found) throw new FailedPreconditionError(`service "${svc}" has no container`);
          return found.name;
        },
      });
      await startContainer(s, c);
      current.set(name, [...(current.get(name) ?? []), c]);
      created.push(c.name);
    }
  });
  return { created, gaps };
}

/** `down`: forgets the declaration first, so the watcher does not bring back what down removes. */
export async function undeclare(s: ComposeSession, project: string): Promise<void> {
  try {
    await s.engine.deleteDeclaration(project);
  } catch (err) {
    if (!declarationsUnavailable(err)) throw err;
  }
}
