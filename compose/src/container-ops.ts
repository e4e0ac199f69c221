import type { Project, ServiceConfig } from '@berth/compose';
import { FailedPreconditionError, NotFoundError, messageOf } from '@berth/errors';
import type { PlacementHints } from '@berth/proto';
import { containerPlan } from './container-spec.js';
import { injectedFiles, injectionTar } from './injected-files.js';
import { containerLabels } from './labels.js';
import type { ObservedContainer } from './observed-state.js';
import { reporter } from './progress.js';
import type { ComposeSession } from './session.js';

/**
 * The steps on one container that `up`, `run`, `scale` and the watcher share: create (with its
 * extra networks connected), recreate (stop, rename aside, create the new one, remove the old one,
 * keeping its anonymous volumes), start, and stop + remove.
 */

export interface NewContainer {
  project: Project;
  serviceName: string;
  service: ServiceConfig;
  number: number;
  name: string;
  image: string;
  imageId?: string;
  configHash: string;
  /** The name of a running container of another service (network_mode / volumes_from `service:`). */
  containerOf(service: string): string;
  anonymousVolumes?: Record<string, string>;
  oneoff?: { slug: string };
  /** Overrides for `run`: command, entrypoint, environment, … applied to the request. */
  adjust?: (plan: ReturnType<typeof containerPlan>) => void;
  serviceAliases?: boolean;
  publishPorts?: boolean;
  /** No progress events (a recreate reports its own). */
  quiet?: boolean;
  /** Called once per warning about the service's attributes (deduplicated by the caller). */
  onWarning?: (text: string) => void;
}

/** Where a replica may go in a cluster: `deploy.placement` (constraints, spread preferences, max replicas per node). */
function placementOf(service: ServiceConfig): PlacementHints | undefined {
  const p = service.deploy?.placement;
  if (!p) return undefined;
  return { constraints: p.constraints, preferences: p.preferences?.map((x) => `spread=${x.spread}`), maxReplicasPerNode: p.max_replicas_per_node };
}

/** Creates the container (not started) and connects its other networks. */
export async function createContainer(s: ComposeSession, c: NewContainer): Promise<ObservedContainer> {
  const labels = containerLabels(c.project, c.serviceName, c.service, {
    number: c.number,
    configHash: c.configHash,
    imageId: c.imageId,
    oneoff: c.oneoff !== undefined,
    slug: c.oneoff?.slug,
  });
  const plan = containerPlan({
    project: c.project,
    serviceName: c.serviceName,
    service: c.service,
    name: c.name,
    image: c.image,
    labels,
    containerOf: c.containerOf,
    anonymousVolumes: c.anonymousVolumes,
    serviceAliases: c.serviceAliases,
    publishPorts: c.publishPorts,
  });
  for (const w of plan.warnings) c.onWarning?.(w);
  const injected = injectedFiles(c.project, c.service);
  c.adjust?.(plan);
  // A recreate reports its own steps (Recreate, Recreated).
  const report = reporter(c.quiet ? () => undefined : s.progress, 'Container', c.name);
  report.working('Creating');
  let id: string;
  try {
    id = await s.engine.createContainer(plan.spec, placementOf(c.service));
  } catch (err) {
    report.failed('Error', messageOf(err));
    throw err;
  }
  try {
    for (const n of plan.extraNetworks) await s.engine.connectNetwork(n.network, id, { aliases: n.aliases, ipv4Address: n.ipv4Address });
    if (injected.length > 0) await s.engine.copyToContainer(id, '/', injectionTar(injected), { copyUidGid: injected.some((f) => f.keepOwners) });
  } catch (err) {
    await s.engine.removeContainer(id, { force: true, volumes: true }).catch(() => undefined); // the connect or copy error is what matters
    report.failed('Error', messageOf(err));
    throw err;
  }
  report.done('Created');
  return {
    id,
    name: c.name,
    service: c.serviceName,
    number: c.number,
    configHash: c.configHash,
    imageId: c.imageId ?? '',
    oneoff: c.oneoff !== undefined,
    state: 'created',
    status: 'Created',
    created: Math.floor(Date.now() / 1000),
    labels,
    summary: { id, names: [`/${c.name}`], image: c.image, imageId: c.imageId ?? '', command: '', created: 0, state: 'created', status: 'Created', labels, sizeRw: 0, sizeRootFs: 0, reservedMemory: 0, reservedNanoCpus: 0, mounts: [], ports: [], networks: [] },
  };
}

/** The anonymous volumes of a container by target path (64-hex names are anonymous). */
export async function anonymousVolumesOf(s: ComposeSession, id: string): Promise<Record<string, string>> {
  const details = await s.engine.inspectContainer(id);
  const out: Record<string, string> = {};
  for (const m of details.Mounts ?? []) if (m.Type === 'volume' && m.Name && /^[0-9a-f]{64}$/.test(m.Name)) out[m.Destination] = m.Name;
  return out;
}

/**
 * compose v2's recreate: stop the old container, rename it aside (`<id12>_<name>`), create the new
 * one under the name (inheriting anonymous volumes unless renewed), then remove the old one. When
 * the new one cannot be created, the old one gets its name back.
 */
export async function recreateContainer(
  s: ComposeSession,
  old: ObservedContainer,
  next: Omit<NewContainer, 'anonymousVolumes'>,
  options: { timeout?: number; renewAnonVolumes?: boolean } = {},
): Promise<ObservedContainer> {
  const report = reporter(s.progress, 'Container', old.name);
  report.working('Recreate');
  const inherited = options.renewAnonVolumes ? {} : await anonymousVolumesOf(s, old.id);
  await s.engine.stopContainer(old.id, { timeout: options.timeout });
  const aside = `${old.id.slice(0, 12)}_${old.name}`;
  await s.engine.renameContainer(old.id, aside);
  let created: ObservedContainer;
  try {
    created = await createContainer(s, { ...next, anonymousVolumes: inherited, quiet: true });
  } catch (err) {
    await s.engine.renameContainer(old.id, old.name).catch(() => undefined); // best effort: the create error is what matters
    report.failed('Error', messageOf(err));
    throw err;
  }
  await s.engine.removeContainer(old.id, { force: true, volumes: options.renewAnonVolumes ?? false });
  report.done('Recreated');
  return created;
}

export async function startContainer(s: ComposeSession, c: ObservedContainer): Promise<void> {
  const report = reporter(s.progress, 'Container', c.name);
  report.working('Starting');
  try {
    await s.engine.startContainer(c.id);
  } catch (err) {
    report.failed('Error', messageOf(err));
    throw new FailedPreconditionError(`Error response from daemon: failed to start container ${c.name}: ${messageOf(err)}`, { cause: err });
  }
  c.state = 'running';
  report.done('Started');
}

export async function stopContainer(s: ComposeSession, c: ObservedContainer, options: { timeout?: number } = {}): Promise<void> {
  const report = reporter(s.progress, 'Container', c.name);
  report.working('Stopping');
  try {
    await s.engine.stopContainer(c.id, { timeout: options.timeout });
  } catch (err) {
    if (!(err instanceof NotFoundError)) {
      report.failed('Error', messageOf(err));
      throw err;
    }
  }
  report.done('Stopped');
}

export async function removeContainer(s: ComposeSession, c: ObservedContainer, options: { volumes?: boolean } = {}): Promise<void> {
  const report = reporter(s.progress, 'Container', c.name);
  report.working('Removing');
  try {
    await s.engine.removeContainer(c.id, { force: true, volumes: options.volumes ?? false });
  } catch (err) {
    if (!(err instanceof NotFoundError)) {
      report.failed('Error', messageOf(err));
      throw err;
    }
  }
  report.done('Removed');
}

/** Stops then removes (scale down, orphans, `down`). */
export async function stopAndRemove(s: ComposeSession, c: ObservedContainer, options: { timeout?: number; volumes?: boolean } = {}): Promise<void> {
  if (c.state === 'running' || c.state === 'paused' || c.state === 'restarting') await stopContainer(s, c, options);
  await removeContainer(s, c, options);
}
