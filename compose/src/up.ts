import { imageName, serviceConfigHash, type Project } from '@berth/compose';
import { FailedPreconditionError, InvalidArgumentError } from '@berth/errors';
import { anonymousVolumesOf, createContainer, recreateContainer, startContainer, stopAndRemove } from './container-ops.js';
import { injectedFiles } from './injected-files.js';
import { rollingUpdate, updatePolicy, wantsRollingUpdate } from './rolling-update.js';
import { containerName, planService, type RecreatePolicy, type ServicePlan } from './convergence.js';
import { waitForDependency } from './dependency-wait.js';
import { ensureImages, type ImageOptions } from './images.js';
import { byService, projectContainers, type ObservedContainer } from './observed-state.js';
import { ensureNetworks, ensureVolumes, usedNetworks, usedVolumes } from './project-resources.js';
import { reporter } from './progress.js';
import { visitServices } from './service-graph.js';
import type { ComposeSession } from './session.js';
import { waitForServices } from './wait-services.js';

/**
 * `compose up` (and `create`): bring the project to its desired state. The steps, each only doing
 * what differs from what runs (see docs/dev/compose.md):
 *   1. read the project's containers by label; handle orphans (warn, or remove with --remove-orphans)
 *   2. networks and volumes: create what is missing
 *   3. images: pull / build per pull_policy and --build, note each service's image id
 *   4. services in dependency order, independent ones in parallel: wait for the dependencies'
 *      conditions, then converge the service (create, recreate, remove extra replicas) and start it
 *   5. with --wait, wait until every container is running or healthy
 */

export interface UpOptions extends ImageOptions {
  /** The services to bring up (default: all of the project); their dependencies too unless noDeps. */
  services?: string[];
  noDeps?: boolean;
  recreate?: RecreatePolicy;
  /** `--scale svc=N`. */
  scale?: Record<string, number>;
  /** `create`, `up --no-start`. */
  noStart?: boolean;
  removeOrphans?: boolean;
  renewAnonVolumes?: boolean;
  /** Stop timeout in seconds for recreated and removed containers. */
  timeout?: number;
  wait?: boolean;
  waitTimeoutMs?: number;
  signal?: AbortSignal;
}

export interface UpResult {
  /** The containers of each service of the run, as `up` left them. */
  containers: Map<string, ObservedContainer[]>;
  /** Services whose containers were created or recreated. */
  changed: Set<string>;
}

/** The services of the run: the targets and, unless noDeps, everything they depend on. */
export function runServices(project: Project, targets: string[] | undefined, noDeps = false): string[] {
  const names = targets && targets.length > 0 ? targets : Object.keys(project.services);
  for (const n of names) if (!project.services[n]) throw new InvalidArgumentError(`no such service: ${n}`);
  if (noDeps) return [...new Set(names)].sort();
  const out = new Set<string>();
  const visit = (n: string) => {
    if (out.has(n) || !project.services[n]) return;
    out.add(n);
    for (const d of Object.keys(project.services[n]!.depends_on ?? {})) visit(d);
  };
  names.forEach(visit);
  return [...out].sort();
}

/** How many containers a service should have. */
export function replicasOf(project: Project, service: string, scale?: Record<string, number>): number {
  const s = project.services[service]!;
  return scale?.[service] ?? s.deploy?.replicas ?? s.scale ?? 1;
}

export async function up(s: ComposeSession, project: Project, options: UpOptions = {}): Promise<UpResult> {
  const services = runServices(project, options.services, options.noDeps);
  for (const name of services) {
    const replicas = replicasOf(project, name, options.scale);
    if (project.services[name]!.container_name && replicas > 1) {
      throw new InvalidArgumentError(`services.${name}: can't set container_name and ${name} as container name must be unique: scale is ${replicas}`);
    }
    injectedFiles(project, project.services[name]!); // a secret whose variable is unset stops `up` before it changes anything
  }
  const observed = await projectContainers(s.engine, project.name, { oneoff: false });
  const orphans = observed.filter((c) => !project.services[c.service] && !project.disabledServices[c.service]);
  if (orphans.length > 0) {
    if (options.removeOrphans) await Promise.all(orphans.map((c) => stopAndRemove(s, c, { timeout: options.timeout })));
    else {
      s.warn(
        `Found orphan containers (${orphans.map((c) => c.name).join(', ')}) for this project. If you removed or renamed this service in your compose file, you can run this command with the --remove-orphans flag to clean it up.`,
      );
    }
  }
  await ensureNetworks(s, project, usedNetworks(project, services));
  await ensureVolumes(s, project, usedVolumes(project, services));
  const imageIds = await ensureImages(s, project, services, options);

  const existing = byService(observed);
  const result: UpResult = { containers: new Map(), changed: new Set() };
  const warned = new Set<string>();
  const containerOf = (service: string): string => {
    const list = result.containers.get(service) ?? existing.get(service) ?? [];
    const c = list.find((x) => x.state === 'running') ?? list[0];
    if (!c) throw new FailedPreconditionError(`service "${service}" has no container`);
    return c.name;
  };

  await visitServices(project, services, async (name) => {
    const service = project.services[name]!;
    for (const [dep, config] of Object.entries(service.depends_on ?? {})) {
      if (!options.noStart) await waitForDependency(s, dep, config, services.includes(dep) ? result.containers.get(dep) : undefined, { signal: options.signal });
    }
    const configHash = serviceConfigHash(service);
    const target = { replicas: replicasOf(project, name, options.scale), configHash, imageId: imageIds.get(name), recreate: options.recreate ?? 'diverged' };
    const plan = planService(target, existing.get(name) ?? []);
    const base = {
      project,
      serviceName: name,
      service,
      image: imageName(project, name, service),
      imageId: imageIds.get(name),
      configHash,
      containerOf,
      onWarning: (w: string) => {
        if (!warned.has(`${name}\0${w}`)) s.warn(`service "${name}": ${w}`);
        warned.add(`${name}\0${w}`);
      },
    };
    const nameOf = (n: number) => containerName(project.name, name, n, service.container_name);
    const containers = await convergeService(s, plan, {
      create: (n) => createContainer(s, { ...base, number: n, name: nameOf(n) }),
      recreate: (old) => recreateContainer(s, old, { ...base, number: old.number, name: nameOf(old.number) }, { timeout: options.timeout, renewAnonVolumes: options.renewAnonVolumes }),
      rolling: wantsRollingUpdate(service, plan.recreate.length) && !options.noStart,
      rollingUpdate: (replace) =>
        rollingUpdate(s, {
          service: name,
          replace,
          create: async (old) =>
            createContainer(s, {
              ...base,
              number: old.number,
              name: nameOf(old.number),
              anonymousVolumes: options.renewAnonVolumes ? {} : await anonymousVolumesOf(s, old.id),
              quiet: true,
            }),
          update: updatePolicy(service.deploy?.update_config),
          rollback: updatePolicy(service.deploy?.rollback_config),
          timeout: options.timeout,
          renewAnonVolumes: options.renewAnonVolumes,
        }),
      timeout: options.timeout,
    });
    if (plan.create.length > 0 || plan.recreate.length > 0) result.changed.add(name);
    // `restart: true`: a dependency that was recreated restarts this service's running containers.
    const restartFor = Object.entries(service.depends_on ?? {}).filter(([dep, c]) => c.restart && result.changed.has(dep));
    if (restartFor.length > 0 && !result.changed.has(name) && !options.noStart) {
      await Promise.all(
        containers
          .filter((c) => c.state === 'running')
          .map(async (c) => {
            const report = reporter(s.progress, 'Container', c.name);
            report.working('Restarting');
            await s.engine.restartContainer(c.id, { timeout: options.timeout });
            report.done('Restarted');
          }),
      );
    }
    if (!options.noStart) {
      await Promise.all(containers.filter((c) => c.state !== 'running' && c.state !== 'paused').map((c) => startContainer(s, c)));
    }
    result.containers.set(name, containers);
  });

  if (options.wait && !options.noStart) await waitForServices(s, project, result.containers, { timeoutMs: options.waitTimeoutMs, signal: options.signal });
  return result;
}

interface ConvergeSteps {
  create(number: number): Promise<ObservedContainer>;
  recreate(old: ObservedContainer): Promise<ObservedContainer>;
  /** Replace the diverged containers as a health-gated rolling update (deploy.update_config). */
  rolling: boolean;
  rollingUpdate(replace: ObservedContainer[]): Promise<ObservedContainer[]>;
  timeout?: number;
}

/** Applies one service's plan: extra replicas removed, diverged ones recreated, missing ones created. */
async function convergeService(s: ComposeSession, plan: ServicePlan, steps: ConvergeSteps): Promise<ObservedContainer[]> {
  await Promise.all(plan.remove.map((c) => stopAndRemove(s, c, { timeout: steps.timeout })));
  for (const c of plan.keep) if (c.state === 'running') reporter(s.progress, 'Container', c.name).done('Running');
  const created = await Promise.all(plan.create.map((n) => steps.create(n)));
  const replaced = steps.rolling ? await steps.rollingUpdate(plan.recreate) : await Promise.all(plan.recreate.map((c) => steps.recreate(c)));
  return [...plan.keep, ...replaced, ...created].sort((a, b) => a.number - b.number);
}
