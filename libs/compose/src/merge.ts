import type { PathSegments } from './parse-yaml.js';
import { setOwn } from './parse-yaml.js';
import { pathTable } from './tree-path.js';

/**
 * Phase 5: merging canonical models (`-f a -f b`, and a service over the one it `extends`) with
 * the rules of the specification's "Merge and override" section, as compose-go's `override.Merge`
 * applies them: mappings merge key by key, sequences append, `command` / `entrypoint` /
 * `healthcheck.test` are replaced, key/value fields (environment, labels, …) take the later value
 * of each key, `extra_hosts` unite, `logging` merges only for the same driver, IPAM pools merge by
 * subnet. Duplicates of unique sequences (ports, volumes, secrets, …) are then removed by
 * `enforceUnicity`, the later entry taking the earlier one's place.
 */

type Dict = Record<string, unknown>;
type Merger = (base: unknown, over: unknown, path: PathSegments) => unknown;

const isDict = (v: unknown): v is Dict => v !== null && typeof v === 'object' && !Array.isArray(v);

const replace: Merger = (_base, over) => over;

/** Later keys win, including a bare (null) one. */
const keyValueMerge: Merger = (base, over) => {
  if (!isDict(base) || !isDict(over)) return over;
  for (const [k, v] of Object.entries(over)) setOwn(base, k, v);
  return base;
};

const hostsMerge: Merger = (base, over) => {
  if (!isDict(base) || !isDict(over)) return over;
  for (const [host, ips] of Object.entries(over)) {
    const list = Object.hasOwn(base, host) && Array.isArray(base[host]) ? (base[host] as unknown[]) : [];
    for (const ip of ips as unknown[]) if (!list.includes(ip)) list.push(ip);
    setOwn(base, host, list);
  }
  return base;
};

const loggingMerge: Merger = (base, over, path) => {
  if (!isDict(base) || !isDict(over)) return over;
  if (base.driver === undefined || over.driver === undefined || base.driver === over.driver) return mergeMappings(base, over, path);
  return over;
};

const ulimitMerge: Merger = (base, over, path) => (isDict(base) && isDict(over) ? mergeMappings(base, over, path) : over);

const ipamConfigMerge: Merger = (base, over, path) => {
  if (!Array.isArray(base) || !Array.isArray(over)) return over;
  const out: Dict[] = base.filter(isDict).map((d) => d);
  for (const o of over) {
    if (!isDict(o)) continue;
    const i = out.findIndex((d) => d.subnet === o.subnet);
    if (i >= 0) out[i] = mergeMappings(out[i]!, o, path);
    else out.push(o);
  }
  return out;
};

const specialMergerAt = pathTable<Merger>([
  ['services.*.command', replace],
  ['services.*.entrypoint', replace],
  ['services.*.healthcheck.test', replace],
  ['services.*.environment', keyValueMerge],
  ['services.*.labels', keyValueMerge],
  ['services.*.annotations', keyValueMerge],
  ['services.*.sysctls', keyValueMerge],
  ['services.*.storage_opt', keyValueMerge],
  ['services.*.build.args', keyValueMerge],
  ['services.*.build.labels', keyValueMerge],
  ['services.*.build.additional_contexts', keyValueMerge],
  ['services.*.build.extra_hosts', hostsMerge],
  ['services.*.deploy.labels', keyValueMerge],
  ['services.*.logging.options', keyValueMerge],
  ['services.*.extra_hosts', hostsMerge],
  ['services.*.logging', loggingMerge],
  ['services.*.ulimits.*', ulimitMerge],
  ['services.*.volumes.[].volume.labels', keyValueMerge],
  ['networks.*.labels', keyValueMerge],
  ['networks.*.ipam.config', ipamConfigMerge],
  ['volumes.*.labels', keyValueMerge],
]);

function mergeMappings(base: Dict, over: Dict, path: PathSegments): Dict {
  for (const [k, v] of Object.entries(over)) {
    if (!Object.hasOwn(base, k) || k.startsWith('x-')) {
      setOwn(base, k, v);
      continue;
    }
    setOwn(base, k, mergeValues(base[k], v, [...path, k]));
  }
  return base;
}

/** Merges `over` onto `base` at `path` (mutating and returning `base` where it can). */
export function mergeValues(base: unknown, over: unknown, path: PathSegments): unknown {
  const merger = specialMergerAt(path);
  if (merger) return merger(base, over, path);
  if (over === null || over === undefined) return base;
  if (isDict(base) && isDict(over)) return mergeMappings(base, over, path);
  if (Array.isArray(base) && Array.isArray(over)) return [...base, ...over];
  return over;
}

/** Merges one file's canonical model onto the accumulated one. */
export function mergeModels(base: Dict, over: Dict): Dict {
  return mergeMappings(base, over, []);
}

/** Merges a service onto a copy of the service it extends (the `services.x` rules). */
export function extendService(base: Dict, over: Dict, name: string): Dict {
  return mergeMappings(base, over, ['services', name]);
}

type Indexer = (entry: unknown) => string;

const byText: Indexer = (e) => {
  const text = typeof e === 'string' ? e : JSON.stringify(e);
  const eq = text.indexOf('=');
  return eq >= 0 ? text.slice(0, eq) : text;
};
const byTarget: Indexer = (e) => (isDict(e) ? String(e.target) : String(e));
const mountBy =
  (dir: string): Indexer =>
  (e) =>
    isDict(e) ? (e.target !== undefined ? String(e.target) : `${dir}/${String(e.source)}`) : `${dir}/${String(e)}`;
const byPort: Indexer = (e) =>
  isDict(e) ? `${(e.host_ip as string) ?? '0.0.0.0'}:${(e.published as string) ?? ''}:${String(e.target)}/${(e.protocol as string) ?? 'tcp'}` : String(e);
const byPath: Indexer = (e) => (isDict(e) ? String(e.path) : String(e));

const uniqueKeyAt = pathTable<Indexer>([
  ['services.*.ports', byPort],
  ['services.*.volumes', byTarget],
  ['services.*.devices', byTarget],
  ['services.*.secrets', mountBy('/run/secrets')],
  ['services.*.configs', mountBy('')],
  ['services.*.build.secrets', mountBy('/run/secrets')],
  ['services.*.cap_add', byText],
  ['services.*.cap_drop', byText],
  ['services.*.dns', byText],
  ['services.*.dns_opt', byText],
  ['services.*.dns_search', byText],
  ['services.*.expose', byText],
  ['services.*.links', byText],
  ['services.*.profiles', byText],
  ['services.*.tmpfs', byText],
  ['services.*.env_file', byPath],
  ['services.*.label_file', byText],
  ['services.*.build.tags', byText],
  ['services.*.build.platforms', byText],
  ['services.*.networks.*.aliases', byText],
  ['services.*.networks.*.link_local_ips', byText],
]);

/** Removes redefinitions from the sequences whose entries are unique by a key. */
export function enforceUnicity(value: unknown, path: PathSegments = []): unknown {
  if (Array.isArray(value)) {
    const keyOf = uniqueKeyAt(path);
    if (!keyOf) return value;
    const seq: unknown[] = [];
    const seen = new Map<string, number>();
    for (const entry of value) {
      const key = keyOf(entry);
      const at = seen.get(key);
      if (at !== undefined) seq[at] = entry;
      else {
        seen.set(key, seq.length);
        seq.push(entry);
      }
    }
    return seq;
  }
  if (isDict(value)) {
    for (const [k, v] of Object.entries(value)) setOwn(value, k, enforceUnicity(v, [...path, k]));
  }
  return value;
}

/** Deletes `paths` (from `!reset` / `!override` of a later file) from an earlier model. */
export function applyResets(model: Dict, paths: PathSegments[]): void {
  for (const p of paths) {
    let node: unknown = model;
    for (let i = 0; i < p.length - 1 && node !== undefined; i++) {
      const seg = p[i]!;
      node = isDict(node) && typeof seg === 'string' ? node[seg] : Array.isArray(node) && typeof seg === 'number' ? node[seg] : undefined;
    }
    const last = p[p.length - 1];
    if (isDict(node) && typeof last === 'string') delete node[last];
  }
}
