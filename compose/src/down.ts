import { imageName, type Project, type ServiceConfig } from '@berth/compose';
import { NotFoundError, messageOf } from '@berth/errors';
import { removeContainer, stopContainer } from './container-ops.js';
import { Label, parseDependsOnLabel } from './labels.js';
import { projectContainers, type ObservedContainer } from './observed-state.js';
import { removeProjectNetworks, removeProjectVolumes } from './project-resources.js';
import { reporter } from './progress.js';
import { visitServices } from './service-graph.js';
import type { ComposeSession } from './session.js';

/**
 * `compose down`: stop and remove the project's containers (dependents before what they depend
 * on), then its networks, and with `-v` its volumes (named and anonymous), with `--rmi` its
 * images. Works from the Compose file or, without one, from the labels alone (`down -p name`).
 */

export interface DownOptions {
  /** Stop timeout in seconds. */
  timeout?: number;
  volumes?: boolean;
  removeOrphans?: boolean;
  rmi?: 'local' | 'all';
  /** Only these services' containers (networks, volumes and images stay). */
  services?: string[];
}

/** The dependency graph of the containers found, from their `depends_on` labels. */
export function servicesFromLabels(containers: ObservedContainer[]): Pick<Project, 'services'> {
  const services: Record<string, ServiceConfig> = {};
  for (const c of containers) {
    const deps = parseDependsOnLabel(c.labels[Label.dependsOn]);
    services[c.service] ??= { depends_on: Object.fromEntries(deps.map((d) => [d, { condition: 'service_started' as const, required: true }])) };
  }
  return { services };
}

/** Stops then removes the containers of the given services, dependents first. */
export async function removeServiceContainers(
  s: ComposeSession,
  graph: Pick<Project, 'services'>,
  containers: ObservedContainer[],
  options: { timeout?: number; volumes?: boolean },
): Promise<void> {
  const byService = new Map<string, ObservedContainer[]>();
  for (const c of containers) byService.set(c.service, [...(byService.get(c.service) ?? []), c]);
  const services = [...byService.keys()];
  const fullGraph: Pick<Project, 'services'> = { services: { ...Object.fromEntries(services.map((n) => [n, {}])), ...graph.services } };
  await visitServices(
    fullGraph,
    services,
    async (name) => {
      const list = byService.get(name) ?? [];
      await Promise.all(list.filter((c) => c.state === 'running' || c.state === 'paused' || c.state === 'restarting').map((c) => stopContainer(s, c, options)));
      await Promise.all(list.map((c) => removeContainer(s, c, options)));
    },
    { reverse: true },
  );
}

export async function down(s: ComposeSession, projectName: string, model: Project | undefined, options: DownOptions = {}): Promise<void> {
  const containers = await projectContainers(s.engine, projectName);
  const inModel = (c: ObservedContainer) => !model || model.services[c.service] !== undefined || model.disabledServices[c.service] !== undefined;
  const orphans = containers.filter((c) => !inModel(c));
  const selected = (c: ObservedContainer) => !options.services || options.services.includes(c.service);
  const targets = containers.filter((c) => (inModel(c) || options.removeOrphans) && selected(c));
  if (orphans.length > 0 && !options.removeOrphans && !options.services) {
    s.warn(
      `Found orphan containers (${orphans.map((c) => c.name).join(', ')}) for this project. If you removed or renamed this service in your compose file, you can run this command with the --remove-orphans flag to clean it up.`,
    );
  }
  const graph = model ? { services: { ...servicesFromLabels(containers).services, ...model.disabledServices, ...model.services } } : servicesFromLabels(containers);
  await removeServiceContainers(s, graph, targets, { timeout: options.timeout, volumes: options.volumes });
  if (options.services) return;
  if (orphans.length > 0 && !options.removeOrphans) return; // networks are still in use by the orphans
  await removeProjectNetworks(s, projectName);
  if (options.volumes) await removeProjectVolumes(s, projectName);
  if (options.rmi) await removeImages(s, projectName, model, containers, options.rmi);
}

async function removeImages(s: ComposeSession, projectName: string, model: Project | undefined, containers: ObservedContainer[], rmi: 'local' | 'all'): Promise<void> {
  const images = new Set<string>();
  if (model) {
    for (const [name, svc] of Object.entries({ ...model.services, ...model.disabledServices })) {
      if (rmi === 'all' || !svc.image) images.add(imageName(model, name, svc));
    }
  } else {
    for (const c of containers) {
      const image = c.summary.image;
      if (rmi === 'all' || image === `${projectName}-${c.service}`) images.add(image);
    }
  }
  for (const image of [...images].sort()) {
    const report = reporter(s.progress, 'Image', image);
    report.working('Removing');
    try {
      await s.engine.removeImage(image);
      report.done('Removed');
    } catch (err) {
      if (err instanceof NotFoundError) {
        report.done('Removed');
        continue;
      }
      report.failed('Error', messageOf(err));
      s.warn(`image ${image} could not be removed: ${messageOf(err)}`);
    }
  }
}
