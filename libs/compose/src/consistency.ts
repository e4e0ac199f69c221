import { composeError, type SourceLocation } from './compose-error.js';
import type { PathSegments } from './parse-yaml.js';
import { isIpAddress } from './port-spec.js';
import { parseBytes } from './units.js';

/**
 * Phase 8: the specification's consistency rules on the normalized model, after profiles have
 * disabled services (compose-go `checkConsistency` and `validation.Validate`): references to
 * undefined networks, volumes, secrets, configs and services (or to services a profile disabled),
 * dependency cycles, a service with neither image nor build, `network_mode` with `networks`,
 * `dockerfile` with `dockerfile_inline`, external resources with other attributes, conflicting
 * `scale` / `deploy.replicas` and resource limits, `container_name` with several replicas or used
 * twice, secrets without a source, and placement constraints and preferences Berth's placement
 * does not know (apps/api placement.ts has the same grammar).
 */

type Dict = Record<string, unknown>;
const isDict = (v: unknown): v is Dict => v !== null && typeof v === 'object' && !Array.isArray(v);

export interface ConsistencyContext {
  locate: (path: PathSegments) => SourceLocation;
  /** Services disabled by profiles, with their profiles (to say which one to enable). */
  disabled: Map<string, string[]>;
}

export function checkConsistency(model: Dict, ctx: ConsistencyContext): void {
  const fail = (path: PathSegments, message: string) => composeError(ctx.locate(path), message);
  const services = isDict(model.services) ? model.services : {};
  const has = (kind: string, name: string) => isDict(model[kind]) && Object.hasOwn(model[kind] as Dict, name);

  for (const kind of ['networks', 'volumes', 'secrets', 'configs']) {
    const top = model[kind];
    if (!isDict(top)) continue;
    for (const [name, r] of Object.entries(top)) {
      if (!isDict(r) || r.external !== true) continue;
      for (const key of Object.keys(r)) {
        if (key !== 'name' && key !== 'external' && !key.startsWith('x-')) {
          throw fail([kind, name, key], `conflicting parameters "external" and "${key}" specified for ${kind.slice(0, -1)} "${name}": an external resource may only set "name"`);
        }
      }
    }
  }
  for (const [kind, keys] of [
    ['secrets', ['file', 'environment']],
    ['configs', ['file', 'environment', 'content']],
  ] as const) {
    const top = model[kind];
    if (!isDict(top)) continue;
    for (const [name, r] of Object.entries(top)) {
      if (!isDict(r)) continue;
      const set = keys.filter((k) => r[k] !== undefined);
      if (set.length > 1) throw fail([kind, name], `${keys.join(', ')} are mutually exclusive, got ${set.join(' and ')}`);
      if (set.length === 0 && r.external !== true && r.driver === undefined) {
        throw fail([kind, name], `${kind.slice(0, -1)} "${name}" must declare one of ${keys.join(', ')} (or be external)`);
      }
    }
  }

  const containerNames = new Map<string, string>();
  for (const [name, s] of Object.entries(services)) {
    if (!isDict(s)) continue;
    const at = (...sub: PathSegments) => ['services', name, ...sub];
    if (s.image === undefined && s.build === undefined && s.provider === undefined) {
      throw fail(at(), `service "${name}" has neither an image nor a build context specified: add "image:" or "build:"`);
    }
    if (isDict(s.build) && s.build.dockerfile !== undefined && s.build.dockerfile_inline !== undefined) {
      throw fail(at('build'), `service "${name}" declares mutually exclusive "dockerfile" and "dockerfile_inline"`);
    }
    if (isDict(s.build) && Array.isArray(s.build.platforms) && s.platform !== undefined && !s.build.platforms.includes(s.platform)) {
      throw fail(at('build', 'platforms'), `must include the service's platform ${JSON.stringify(s.platform)}`);
    }
    if (s.network_mode !== undefined && isDict(s.networks) && Object.keys(s.networks).length > 0) {
      throw fail(at('network_mode'), `service "${name}" declares mutually exclusive "network_mode" and "networks"`);
    }
    for (const ns of ['network_mode', 'ipc', 'pid', 'uts', 'cgroup']) {
      const ref = s[ns];
      if (typeof ref === 'string' && ref.startsWith('service:')) checkServiceRef(ref.slice(8), at(ns), `${ns} of service "${name}"`);
    }
    if (isDict(s.networks)) {
      for (const net of Object.keys(s.networks)) {
        if (!has('networks', net)) throw fail(at('networks', net), `service "${name}" refers to undefined network "${net}": declare it under the top-level "networks"`);
      }
    }
    if (isDict(s.healthcheck) && Array.isArray(s.healthcheck.test) && s.healthcheck.test.length > 0) {
      if (!['CMD', 'CMD-SHELL', 'NONE'].includes(String(s.healthcheck.test[0]))) {
        throw fail(at('healthcheck', 'test'), `must start with "CMD", "CMD-SHELL" or "NONE", got ${JSON.stringify(s.healthcheck.test[0])}`);
      }
    }
    (Array.isArray(s.volumes) ? s.volumes : []).forEach((v, i) => {
      if (!isDict(v)) return;
      if (v.type === 'volume' && typeof v.source === 'string' && v.source !== '' && !has('volumes', v.source)) {
        throw fail(at('volumes', i), `service "${name}" refers to undefined volume "${v.source}": declare it under the top-level "volumes"`);
      }
      if (v.type === 'bind' && (v.source === undefined || v.source === '')) throw fail(at('volumes', i), 'a bind mount needs a "source"');
      if (typeof v.target !== 'string' || v.target === '') throw fail(at('volumes', i), 'a mount needs a "target"');
    });
    for (const [kind, list] of [
      ['secrets', s.secrets],
      ['configs', s.configs],
      ['secrets', isDict(s.build) ? s.build.secrets : undefined],
    ] as const) {
      (Array.isArray(list) ? list : []).forEach((ref, i) => {
        const source = isDict(ref) ? String(ref.source) : String(ref);
        const field = list === s.secrets || list === s.configs ? at(kind, i) : at('build', 'secrets', i);
        if (!has(kind, source)) throw fail(field, `service "${name}" refers to undefined ${kind.slice(0, -1)} "${source}": declare it under the top-level "${kind}"`);
      });
    }
    (Array.isArray(s.ports) ? s.ports : []).forEach((p, i) => {
      if (!isDict(p)) return;
      if (p.target === undefined) throw fail(at('ports', i), 'missing required property "target"');
      if (typeof p.host_ip === 'string' && p.host_ip !== '' && !isIpAddress(p.host_ip)) throw fail(at('ports', i, 'host_ip'), `invalid IP address ${JSON.stringify(p.host_ip)}`);
    });
    for (const [i, link] of (Array.isArray(s.links) ? s.links : []).entries()) checkServiceRef(String(link).split(':')[0]!, at('links', i), `link of service "${name}"`);
    for (const [i, vf] of (Array.isArray(s.volumes_from) ? s.volumes_from : []).entries()) {
      const text = String(vf);
      if (!text.startsWith('container:')) checkServiceRef(text.split(':')[0]!, at('volumes_from', i), `volumes_from of service "${name}"`);
    }
    if (isDict(s.depends_on)) {
      for (const [dep, cfg] of Object.entries(s.depends_on)) {
        if (dep === name) throw fail(at('depends_on', dep), `service "${name}" depends on itself`);
        if (Object.hasOwn(services, dep)) continue;
        const required = !isDict(cfg) || cfg.required !== false;
        const profiles = ctx.disabled.get(dep);
        if (profiles) {
          if (!required) continue;
          throw fail(
            at('depends_on', dep),
            `service "${name}" depends on service "${dep}", which is disabled: enable one of its profiles (${profiles.map((p) => JSON.stringify(p)).join(', ')})`,
          );
        }
        throw fail(at('depends_on', dep), `service "${name}" depends on undefined service "${dep}"`);
      }
    }
    const deploy = isDict(s.deploy) ? s.deploy : undefined;
    if (s.scale !== undefined && deploy?.replicas !== undefined && s.scale !== deploy.replicas) {
      throw fail(at('scale'), `can't set distinct values on "scale" (${String(s.scale)}) and "deploy.replicas" (${String(deploy.replicas)})`);
    }
    const placement = deploy && isDict(deploy.placement) ? deploy.placement : undefined;
    (Array.isArray(placement?.constraints) ? placement.constraints : []).forEach((c, i) => {
      if (!/^\s*(node\.labels\.[^=!\s]+|node\.hostname|node\.id|node\.role|node\.platform\.os|node\.platform\.arch)\s*(==|!=)/.test(String(c))) {
        throw fail(
          at('deploy', 'placement', 'constraints', i),
          `invalid constraint ${JSON.stringify(c)}: expected node.labels.KEY==VALUE, node.hostname!=NAME, node.id==ID, node.role==manager or node.platform.os==linux (== or !=)`,
        );
      }
    });
    (Array.isArray(placement?.preferences) ? placement.preferences : []).forEach((p, i) => {
      if (!isDict(p) || typeof p.spread !== 'string' || !/^node\.labels\.\S+$/.test(p.spread)) {
        throw fail(at('deploy', 'placement', 'preferences', i), 'a placement preference is "spread: node.labels.KEY"');
      }
    });
    const limits = deploy && isDict(deploy.resources) && isDict(deploy.resources.limits) ? deploy.resources.limits : undefined;
    const reservations = deploy && isDict(deploy.resources) && isDict(deploy.resources.reservations) ? deploy.resources.reservations : undefined;
    const bytes = (v: unknown) => {
      try {
        return parseBytes(v);
      } catch {
        // reported by the model conversion with its path
        return undefined;
      }
    };
    if (s.cpus !== undefined && limits?.cpus !== undefined && Number(s.cpus) !== Number(limits.cpus)) {
      throw fail(at('cpus'), `can't set distinct values on "cpus" and "deploy.resources.limits.cpus"`);
    }
    if (s.mem_limit !== undefined && limits?.memory !== undefined && bytes(s.mem_limit) !== bytes(limits.memory)) {
      throw fail(at('mem_limit'), `can't set distinct values on "mem_limit" and "deploy.resources.limits.memory"`);
    }
    if (s.mem_reservation !== undefined && reservations?.memory !== undefined && bytes(s.mem_reservation) !== bytes(reservations.memory)) {
      throw fail(at('mem_reservation'), `can't set distinct values on "mem_reservation" and "deploy.resources.reservations.memory"`);
    }
    if (s.pids_limit !== undefined && limits?.pids !== undefined && Number(s.pids_limit) !== Number(limits.pids)) {
      throw fail(at('pids_limit'), `can't set distinct values on "pids_limit" and "deploy.resources.limits.pids"`);
    }
    const scale = (s.scale as number | undefined) ?? (deploy?.replicas as number | undefined) ?? 1;
    if (typeof s.container_name === 'string') {
      if (scale > 1) {
        throw fail(at('container_name'), `can't set container_name and ${s.scale !== undefined ? 'scale' : 'deploy.replicas'} (${scale}): container names must be unique`);
      }
      const other = containerNames.get(s.container_name);
      if (other) throw fail(at('container_name'), `container name ${JSON.stringify(s.container_name)} is already used by service "${other}"`);
      containerNames.set(s.container_name, name);
    }
  }
  checkCycles(services, ctx);

  function checkServiceRef(ref: string, path: PathSegments, what: string): void {
    if (Object.hasOwn(services, ref)) return;
    const profiles = ctx.disabled.get(ref);
    if (profiles) throw fail(path, `${what} refers to service "${ref}", which is disabled: enable one of its profiles (${profiles.map((p) => JSON.stringify(p)).join(', ')})`);
    throw fail(path, `${what} refers to undefined service "${ref}"`);
  }
}

function checkCycles(services: Dict, ctx: ConsistencyContext): void {
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (name: string) => {
    const st = state.get(name);
    if (st === 'done') return;
    if (st === 'visiting') {
      const cycle = [...stack.slice(stack.indexOf(name)), name];
      throw composeError(ctx.locate(['services', cycle[0]!, 'depends_on', cycle[1]!]), `dependency cycle detected: ${cycle.join(' -> ')}`);
    }
    state.set(name, 'visiting');
    stack.push(name);
    const s = services[name];
    if (isDict(s) && isDict(s.depends_on)) for (const dep of Object.keys(s.depends_on).sort()) if (Object.hasOwn(services, dep)) visit(dep);
    stack.pop();
    state.set(name, 'done');
  };
  for (const name of Object.keys(services).sort()) visit(name);
}
