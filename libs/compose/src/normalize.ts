import { posix } from 'node:path';

/**
 * Phase 6: normalization of the merged model, as compose-go's `Normalize` and
 * `SetDefaultValues`: the implicit `default` network (added to every service without `networks`
 * or `network_mode`, and declared when used), resource names `<project>_<key>` (external ones
 * keep their key), build defaults (`context: .`, `dockerfile: Dockerfile`), port / secret / bind
 * defaults, `pull_policy: if_not_present` → `missing`, clean volume targets, bare `environment`
 * and `build.args` entries taken from the project's variables, and the implicit dependencies of
 * `links`, `network_mode` / `ipc` / `pid` / `uts` / `cgroup: service:x` and `volumes_from`.
 */

type Dict = Record<string, unknown>;
const isDict = (v: unknown): v is Dict => v !== null && typeof v === 'object' && !Array.isArray(v);

export interface NormalizeOptions {
  projectName: string;
  /** The project's variables (shell over env files). */
  environment: Map<string, string>;
}

function implicitDependency(deps: Dict, name: string, restart: boolean): void {
  if (!Object.hasOwn(deps, name)) deps[name] = { condition: 'service_started', restart, required: true };
}

export function normalizeModel(model: Dict, options: NormalizeOptions): Dict {
  model.name = options.projectName;
  const services = isDict(model.services) ? model.services : {};
  model.services = services;
  const networks = isDict(model.networks) ? model.networks : {};
  let usesDefault = false;
  for (const service of Object.values(services)) {
    if (!isDict(service) || service.provider !== undefined || service.network_mode !== undefined) continue;
    if (!isDict(service.networks) || Object.keys(service.networks).length === 0) {
      service.networks = { default: null };
      usesDefault = true;
    } else if (Object.hasOwn(service.networks, 'default')) {
      usesDefault = true;
    }
  }
  if (usesDefault && !Object.hasOwn(networks, 'default')) networks.default = {};
  if (Object.keys(networks).length > 0) model.networks = networks;

  for (const service of Object.values(services)) {
    if (!isDict(service)) continue;
    if (service.pull_policy === 'if_not_present') service.pull_policy = 'missing';
    if (isDict(service.build)) {
      const b = service.build;
      if (b.context === undefined) b.context = '.';
      if (b.dockerfile === undefined && b.dockerfile_inline === undefined) b.dockerfile = 'Dockerfile';
      if (isDict(b.args)) {
        for (const [k, v] of Object.entries(b.args)) {
          if (v !== null) continue;
          const value = options.environment.get(k);
          if (value === undefined) delete b.args[k];
          else b.args[k] = value;
        }
      }
    }
    if (isDict(service.environment)) {
      for (const [k, v] of Object.entries(service.environment)) {
        if (v === null && options.environment.has(k)) service.environment[k] = options.environment.get(k);
      }
    }
    if (Array.isArray(service.ports)) {
      for (const p of service.ports) {
        if (!isDict(p)) continue;
        p.mode ??= 'ingress';
        p.protocol ??= 'tcp';
      }
    }
    if (Array.isArray(service.secrets)) {
      for (const s of service.secrets) if (isDict(s) && s.target === undefined) s.target = `/run/secrets/${String(s.source)}`;
    }
    const deps: Dict = isDict(service.depends_on) ? service.depends_on : {};
    if (Array.isArray(service.links)) {
      for (const link of service.links) implicitDependency(deps, String(link).split(':')[0]!, true);
    }
    for (const ns of ['network_mode', 'ipc', 'pid', 'uts', 'cgroup']) {
      const ref = service[ns];
      if (typeof ref === 'string' && ref.startsWith('service:')) implicitDependency(deps, ref.slice('service:'.length), true);
    }
    if (Array.isArray(service.volumes)) {
      for (const v of service.volumes) {
        if (!isDict(v)) continue;
        if (typeof v.target === 'string') v.target = posix.normalize(v.target).replace(/(.)\/$/, '$1');
        if (v.type === 'bind' && isDict(v.bind) && v.bind.create_host_path === undefined) v.bind.create_host_path = true;
      }
    }
    if (Array.isArray(service.volumes_from)) {
      for (const vf of service.volumes_from) {
        const text = String(vf);
        if (!text.startsWith('container:')) implicitDependency(deps, text.split(':')[0]!, false);
      }
    }
    if (Object.keys(deps).length > 0) service.depends_on = deps;
    for (const device of [
      ...(isDict(service.deploy) && isDict(service.deploy.resources) && isDict(service.deploy.resources.reservations) && Array.isArray(service.deploy.resources.reservations.devices)
        ? service.deploy.resources.reservations.devices
        : []),
      ...(Array.isArray(service.gpus) ? service.gpus : []),
    ]) {
      if (isDict(device) && device.count === undefined && device.device_ids === undefined) device.count = 'all';
    }
  }

  for (const kind of ['networks', 'volumes', 'configs', 'secrets']) {
    const top = model[kind];
    if (!isDict(top)) continue;
    for (const [key, r] of Object.entries(top)) {
      const resource = isDict(r) ? r : {};
      if (resource.name === undefined) resource.name = resource.external === true ? key : `${options.projectName}_${key}`;
      top[key] = resource;
    }
  }
  return model;
}
