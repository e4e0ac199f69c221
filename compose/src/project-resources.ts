import type { Project } from '@berth/compose';
import { ConflictError, NotFoundError, isBerthError, messageOf } from '@berth/errors';
import { Label, networkLabels, projectFilter, volumeLabels } from './labels.js';
import { reporter } from './progress.js';
import { serviceNetworks } from './container-spec.js';
import type { ComposeSession } from './session.js';

/**
 * A project's networks and volumes (compose v2's `ensureNetworks` / `ensureProjectVolumes`):
 * created with compose's labels when missing, checked when present, removed by `down`. An
 * external one must exist; one that exists with another project's labels is an error, as in
 * compose v2, and one without labels is used with a warning.
 */

/** The network keys the services use (network_mode services use none). */
export function usedNetworks(project: Project, services: string[]): string[] {
  const keys = new Set<string>();
  for (const name of services) for (const [key] of serviceNetworks(project.services[name]!)) if (!project.services[name]!.network_mode) keys.add(key);
  return [...keys].sort();
}

/** The volume keys the services mount. */
export function usedVolumes(project: Project, services: string[]): string[] {
  const keys = new Set<string>();
  for (const name of services) for (const v of project.services[name]!.volumes ?? []) if (v.type === 'volume' && v.source && project.volumes[v.source]) keys.add(v.source);
  return [...keys].sort();
}

export async function ensureNetworks(s: ComposeSession, project: Project, keys: string[]): Promise<void> {
  // On a cluster of several nodes a network without a driver is an overlay network, so that services
  // placed on different hosts reach each other (as `docker stack deploy` makes them); one host: bridge.
  const defaultDriver = keys.some((k) => !project.networks[k]!.external && !project.networks[k]!.driver) && ((await s.engine.readyNodes?.()) ?? 1) > 1 ? 'overlay' : '';
  await Promise.all(
    keys.map(async (key) => {
      const config = project.networks[key]!;
      const existing = (await s.engine.listNetworks({ names: [config.name] })).find((n) => n.name === config.name);
      if (config.external) {
        if (!existing) throw new NotFoundError(`network ${config.name} declared as external, but could not be found`);
        return;
      }
      if (existing) {
        const labels = existing.labels ?? {};
        if (labels[Label.network] === undefined && labels[Label.project] === undefined) {
          s.warn(`a network with name ${config.name} exists but was not created by compose.\nSet \`external: true\` to use an existing network`);
          return;
        }
        if (labels[Label.project] !== project.name) {
          throw new ConflictError(`network ${config.name} was found but has incorrect label ${Label.project} set to "${labels[Label.project] ?? ''}" (expected: "${project.name}")`);
        }
        if (labels[Label.network] !== key) {
          throw new ConflictError(`network ${config.name} was found but has incorrect label ${Label.network} set to "${labels[Label.network] ?? ''}" (expected: "${key}")`);
        }
        return;
      }
      const report = reporter(s.progress, 'Network', config.name);
      report.working('Creating');
      const ipam = config.ipam?.config?.[0];
      try {
        await s.engine.createNetwork({
          name: config.name,
          id: '',
          driver: config.driver || defaultDriver,
          subnet: ipam?.subnet ?? '',
          gateway: ipam?.gateway ?? '',
          ipRange: ipam?.ip_range ?? '',
          internal: config.internal ?? false,
          attachable: config.attachable ?? false,
          labels: networkLabels(project.name, key, config.labels),
          options: config.driver_opts ?? {},
        });
      } catch (err) {
        // Another `up` of the same project created it meanwhile: that is the network we want.
        if (isBerthError(err) && err.kind === 'already-exists') return report.done('Created');
        report.failed('Error', messageOf(err));
        throw err;
      }
      report.done('Created');
    }),
  );
}

export async function ensureVolumes(s: ComposeSession, project: Project, keys: string[]): Promise<void> {
  await Promise.all(
    keys.map(async (key) => {
      const config = project.volumes[key]!;
      const existing = (await s.engine.listVolumes({ names: [config.name] })).find((v) => v.name === config.name);
      if (config.external) {
        if (!existing) throw new NotFoundError(`external volume "${config.name}" not found`);
        return;
      }
      if (existing) {
        const labels = existing.labels ?? {};
        if (labels[Label.project] === undefined) {
          s.warn(`volume "${config.name}" already exists but was not created by Docker Compose. Use \`external: true\` to use an existing volume`);
        } else if (labels[Label.project] !== project.name) {
          s.warn(`volume "${config.name}" already exists but was created for project "${labels[Label.project]}" (expected "${project.name}"). Use \`external: true\` to use an existing volume`);
        }
        return;
      }
      const report = reporter(s.progress, 'Volume', config.name);
      report.working('Creating');
      try {
        await s.engine.createVolume({ name: config.name, driver: config.driver ?? '', labels: volumeLabels(project.name, key, config.labels), driverOpts: config.driver_opts ?? {} });
      } catch (err) {
        report.failed('Error', messageOf(err));
        throw err;
      }
      report.done('Created');
    }),
  );
}

/** Removes the project's networks (those carrying its label), as `down` does. */
export async function removeProjectNetworks(s: ComposeSession, projectName: string, options: { only?: string[] } = {}): Promise<void> {
  const networks = await s.engine.listNetworks({ labels: [projectFilter(projectName)] });
  await Promise.all(
    networks
      .filter((n) => !options.only || options.only.includes(n.name))
      .map((n) => removeReported(s, { kind: 'Network', name: n.name }, () => s.engine.removeNetwork(n.id))),
  );
}

/** Removes the project's volumes (those carrying its label): `down -v`. */
export async function removeProjectVolumes(s: ComposeSession, projectName: string): Promise<void> {
  const volumes = await s.engine.listVolumes({ labels: [projectFilter(projectName)] });
  await Promise.all(volumes.map((v) => removeReported(s, { kind: 'Volume', name: v.name }, () => s.engine.removeVolume(v.name))));
}

/**
 * Removes one network or volume with its progress line, as compose's `down` does: one already gone
 * counts as removed, and one that cannot go (still in use) is a warning, not a failed `down`.
 */
async function removeReported(s: ComposeSession, object: { kind: 'Network' | 'Volume'; name: string }, remove: () => Promise<unknown>): Promise<void> {
  const report = reporter(s.progress, object.kind, object.name);
  report.working('Removing');
  try {
    await remove();
  } catch (err) {
    if (err instanceof NotFoundError) return report.done('Removed');
    report.failed('Error', messageOf(err));
    s.warn(`${object.kind.toLowerCase()} ${object.name} could not be removed: ${messageOf(err)}`);
    return;
  }
  report.done('Removed');
}
