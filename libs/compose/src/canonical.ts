import { composeError, pathString } from './compose-error.js';
import { lineOf } from './interpolate.js';
import type { PathSegments } from './parse-yaml.js';
import { setOwn } from './parse-yaml.js';
import { parsePortSpec } from './port-spec.js';
import { parseVolumeSpec } from './volume-spec.js';

/**
 * Phase 4: short syntax → long syntax, on one schema-valid file, so that merging and everything
 * after it see one shape per field (compose-go `transform.Canonical`): `ports`, `volumes`,
 * `depends_on`, `environment` and the other key/value lists, `extra_hosts`, `devices`,
 * `secrets` / `configs`, `build`, `env_file`, `networks`, `extends`, `include`, legacy
 * `external: {name}`. Idempotent: applying it to its own output changes nothing.
 */

export interface CanonicalContext {
  file: string;
  lines?: Map<string, number>;
  /** Not interpolated (`config --no-interpolate`): short syntax still holding `$` stays as written. */
  lenient?: boolean;
}

type Dict = Record<string, unknown>;

const isDict = (v: unknown): v is Dict => v !== null && typeof v === 'object' && !Array.isArray(v);

function scalarText(v: unknown): string {
  return typeof v === 'string' ? v : String(v);
}

/** `["A=1", "B"]` or `{A: 1, B: null}` → `{A: "1", B: <missing>}` with `missing` for a bare key. */
export function keyValues(v: unknown, missing: null | string): Dict {
  const out: Dict = {};
  if (Array.isArray(v)) {
    for (const item of v) {
      const text = scalarText(item);
      const eq = text.indexOf('=');
      if (eq < 0) setOwn(out, text, missing);
      else setOwn(out, text.slice(0, eq), text.slice(eq + 1));
    }
  } else if (isDict(v)) {
    for (const [k, item] of Object.entries(v)) setOwn(out, k, item === null || item === undefined ? missing : scalarText(item));
  }
  return out;
}

/** `extra_hosts` in any form → host → addresses (`host=ip`, `host:ip`, `host=[::1]`, mapping of host → ip or list). */
export function hostsMap(v: unknown): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  const add = (host: string, ip: string) => {
    const clean = ip.startsWith('[') && ip.endsWith(']') ? ip.slice(1, -1) : ip;
    const list = Object.hasOwn(out, host) ? out[host]! : [];
    if (!list.includes(clean)) list.push(clean);
    setOwn(out as Dict, host, list);
  };
  if (Array.isArray(v)) {
    for (const item of v) {
      const text = scalarText(item);
      const eq = text.indexOf('=');
      const sep = eq >= 0 ? eq : text.indexOf(':');
      if (sep < 0) add(text, '');
      else add(text.slice(0, sep), text.slice(sep + 1));
    }
  } else if (isDict(v)) {
    for (const [host, ip] of Object.entries(v)) {
      if (Array.isArray(ip)) for (const one of ip) add(host, scalarText(one));
      else add(host, ip === null ? '' : scalarText(ip));
    }
  }
  return out;
}

const stringList = (v: unknown): unknown => (typeof v === 'string' ? [v] : v);

function envFiles(v: unknown): unknown {
  const list = typeof v === 'string' ? [v] : Array.isArray(v) ? v : [];
  return list.map((item) => {
    if (typeof item === 'string') return { path: item, required: true };
    if (isDict(item)) return { path: item.path, required: item.required ?? true, ...(item.format !== undefined ? { format: item.format } : {}) };
    return item;
  });
}

function dependsOn(v: unknown): unknown {
  if (Array.isArray(v)) {
    const out: Dict = {};
    for (const name of v) setOwn(out, scalarText(name), { condition: 'service_started', required: true });
    return out;
  }
  if (isDict(v)) {
    for (const [name, dep] of Object.entries(v)) {
      const d = isDict(dep) ? dep : {};
      v[name] = { condition: d.condition ?? 'service_started', ...(d.restart !== undefined ? { restart: d.restart } : {}), required: d.required ?? true, ...extensions(d) };
    }
  }
  return v;
}

function extensions(d: Dict): Dict {
  const out: Dict = {};
  for (const [k, v] of Object.entries(d)) if (k.startsWith('x-')) out[k] = v;
  return out;
}

function fileMounts(v: unknown): unknown {
  if (!Array.isArray(v)) return v;
  return v.map((item) => (typeof item === 'string' ? { source: item } : item));
}

function maybeExternal(v: unknown): unknown {
  if (!isDict(v)) return v ?? {};
  if (isDict(v.external)) {
    const legacy = v.external;
    v.external = true;
    if (legacy.name !== undefined && v.name === undefined) v.name = legacy.name;
  }
  for (const key of ['labels', 'driver_opts']) if (v[key] !== undefined) v[key] = keyValues(v[key], key === 'labels' ? '' : null);
  return v;
}

export function canonicalService(service: Dict, path: PathSegments, ctx: CanonicalContext): Dict {
  const fail = (sub: PathSegments, message: string) => {
    const p = [...path, ...sub];
    return composeError({ file: ctx.file, path: pathString(p), line: lineOf(ctx.lines, p) }, message);
  };
  if (typeof service.build === 'string') service.build = { context: service.build };
  if (isDict(service.build)) {
    const b = service.build;
    if (b.args !== undefined) b.args = keyValues(b.args, null);
    if (b.labels !== undefined) b.labels = keyValues(b.labels, '');
    if (b.additional_contexts !== undefined) b.additional_contexts = keyValues(b.additional_contexts, '');
    if (b.extra_hosts !== undefined) b.extra_hosts = hostsMap(b.extra_hosts);
    if (b.secrets !== undefined) b.secrets = fileMounts(b.secrets);
    for (const key of ['cache_from', 'cache_to', 'tags', 'platforms', 'no_cache_filter']) if (b[key] !== undefined) b[key] = stringList(b[key]);
  }
  if (service.depends_on !== undefined) service.depends_on = dependsOn(service.depends_on);
  if (service.env_file !== undefined) service.env_file = envFiles(service.env_file);
  if (service.label_file !== undefined) service.label_file = stringList(service.label_file);
  if (typeof service.extends === 'string') service.extends = { service: service.extends };
  if (Array.isArray(service.networks)) {
    const nets: Dict = {};
    for (const n of service.networks) setOwn(nets, scalarText(n), null);
    service.networks = nets;
  }
  if (service.environment !== undefined) service.environment = keyValues(service.environment, null);
  for (const key of ['labels', 'annotations']) if (service[key] !== undefined) service[key] = keyValues(service[key], '');
  if (service.sysctls !== undefined) service.sysctls = keyValues(service.sysctls, '');
  if (service.storage_opt !== undefined) service.storage_opt = keyValues(service.storage_opt, '');
  if (service.extra_hosts !== undefined) service.extra_hosts = hostsMap(service.extra_hosts);
  for (const key of ['dns', 'dns_search', 'tmpfs']) if (service[key] !== undefined) service[key] = stringList(service[key]);
  if (Array.isArray(service.expose)) service.expose = service.expose.map(scalarText);
  if (isDict(service.logging) && service.logging.options !== undefined) service.logging.options = keyValues(service.logging.options, '');
  if (isDict(service.deploy) && service.deploy.labels !== undefined) service.deploy.labels = keyValues(service.deploy.labels, '');
  if (service.secrets !== undefined) service.secrets = fileMounts(service.secrets);
  if (service.configs !== undefined) service.configs = fileMounts(service.configs);
  if (Array.isArray(service.devices)) {
    service.devices = service.devices.map((d, i) => {
      if (typeof d !== 'string') return d;
      const parts = d.split(':');
      if (parts.length > 3) throw fail(['devices', i], `invalid device ${JSON.stringify(d)}: use HOST_PATH:CONTAINER_PATH[:PERMISSIONS] or the long syntax`);
      return { source: parts[0], target: parts[1] ?? parts[0], permissions: parts[2] ?? 'rwm' };
    });
  }
  if (Array.isArray(service.ports)) {
    const ports: unknown[] = [];
    service.ports.forEach((p, i) => {
      if (isDict(p)) {
        ports.push({ ...p, ...(typeof p.published === 'number' ? { published: String(p.published) } : {}) });
        return;
      }
      try {
        ports.push(...parsePortSpec(scalarText(p)));
      } catch (e) {
        if (ctx.lenient && scalarText(p).includes('$')) {
          ports.push(p);
          return;
        }
        throw fail(['ports', i], `invalid port ${JSON.stringify(scalarText(p))}: ${(e as Error).message}`);
      }
    });
    service.ports = ports;
  }
  if (Array.isArray(service.volumes)) {
    service.volumes = service.volumes.map((v, i) => {
      if (typeof v !== 'string') return v;
      try {
        return parseVolumeSpec(v);
      } catch (e) {
        if (ctx.lenient && v.includes('$')) return v;
        throw fail(['volumes', i], `invalid volume ${JSON.stringify(v)}: ${(e as Error).message}`);
      }
    });
  }
  return service;
}

/** Canonicalizes a whole file's model in place and returns it. */
export function canonicalModel(model: Dict, ctx: CanonicalContext): Dict {
  if (isDict(model.services)) {
    for (const [name, s] of Object.entries(model.services)) {
      if (isDict(s)) canonicalService(s, ['services', name], ctx);
      else if (s === null) model.services[name] = {};
    }
  }
  for (const kind of ['volumes', 'networks', 'secrets', 'configs']) {
    if (!isDict(model[kind])) continue;
    const top = model[kind] as Dict;
    for (const [name, r] of Object.entries(top)) top[name] = maybeExternal(r);
  }
  if (isDict(model.networks)) {
    for (const net of Object.values(model.networks)) {
      if (isDict(net) && isDict(net.ipam) && net.ipam.options !== undefined) net.ipam.options = keyValues(net.ipam.options, '');
    }
  }
  if (Array.isArray(model.include)) {
    model.include = model.include.map((inc) => {
      if (typeof inc === 'string') return { path: [inc] };
      if (isDict(inc)) {
        return { ...inc, path: stringList(inc.path), ...(inc.env_file !== undefined ? { env_file: stringList(inc.env_file) } : {}) };
      }
      return inc;
    });
  }
  return model;
}
