import { composeError, type SourceLocation } from './compose-error.js';
import { hostsMap, keyValues } from './canonical.js';
import type { PathSegments } from './parse-yaml.js';
import { setOwn } from './parse-yaml.js';
import { splitShellWords } from './shell-words.js';
import { normalizeDuration, parseBytes } from './units.js';

/**
 * Phase 9: the canonical, normalized model turned into the typed model of ./model.ts: fields in
 * Docker Compose's print order, empty values dropped as its `omitempty` does, durations, sizes,
 * commands, file modes and host lists in their normalized forms. Extensions (`x-*`) stay, after
 * the known fields.
 */

type Dict = Record<string, unknown>;
type Convert = (value: unknown, path: PathSegments) => unknown;
export type Fail = (path: PathSegments, message: string) => Error;

const isDict = (v: unknown): v is Dict => v !== null && typeof v === 'object' && !Array.isArray(v);

export function makeFail(locate: (path: PathSegments) => SourceLocation): Fail {
  return (path, message) => composeError(locate(path), message);
}

let fail: Fail = (_p, m) => new Error(m);
/** Not interpolated: a value still holding `$` that does not parse is kept as written. */
let lenient = false;
const keepRaw = (v: unknown) => lenient && typeof v === 'string' && v.includes('$');

const str: Convert = (v) => (v === undefined || v === null || v === '' ? undefined : String(v));
const bool: Convert = (v) => (v === true ? true : undefined);
const boolPtr: Convert = (v) => (typeof v === 'boolean' ? v : undefined);
const num: Convert = (v) => (v === undefined || v === null || Number(v) === 0 ? undefined : Number(v));
const numPtr: Convert = (v) => (v === undefined || v === null ? undefined : Number(v));
const strList: Convert = (v) => {
  const list = typeof v === 'string' ? [v] : Array.isArray(v) ? v.map(String) : [];
  return list.length > 0 ? list : undefined;
};
const sortedMap =
  (missing: null | string): Convert =>
  (v) => {
    if (v === undefined || v === null) return undefined;
    const m = keyValues(v, missing);
    const keys = Object.keys(m).sort();
    if (keys.length === 0) return undefined;
    const out: Dict = {};
    for (const k of keys) setOwn(out, k, m[k]);
    return out;
  };
const labels = sortedMap('');
const options = sortedMap('');
const bytes: Convert = (v, path) => {
  if (v === undefined || v === null) return undefined;
  try {
    const n = parseBytes(v);
    return n === 0 ? undefined : String(n);
  } catch (e) {
    if (keepRaw(v)) return v;
    throw fail(path, (e as Error).message);
  }
};
const duration: Convert = (v, path) => {
  if (v === undefined || v === null) return undefined;
  try {
    return normalizeDuration(v);
  } catch (e) {
    if (keepRaw(v)) return v;
    throw fail(path, (e as Error).message);
  }
};
const shellCommand: Convert = (v, path) => {
  if (v === undefined) return undefined;
  if (v === null) return null;
  if (Array.isArray(v)) return v.map(String);
  try {
    return splitShellWords(String(v));
  } catch (e) {
    throw fail(path, `${(e as Error).message} in ${JSON.stringify(v)}`);
  }
};
const fileMode: Convert = (v, path) => {
  if (v === undefined || v === null) return undefined;
  const n = typeof v === 'number' ? v : /^[0-7]+$/.test(String(v)) ? parseInt(String(v), 8) : NaN;
  if ((!Number.isInteger(n) || n < 0) && keepRaw(v)) return v;
  if (!Number.isInteger(n) || n < 0) throw fail(path, `invalid file mode ${JSON.stringify(v)}: use an octal number such as 0440`);
  return `0${n.toString(8)}`;
};
const hostsList: Convert = (v) => {
  if (v === undefined || v === null) return undefined;
  const entries = Object.entries(hostsMap(v)).flatMap(([host, ips]) => ips.map((ip) => `${host}=${ip}`));
  entries.sort();
  return entries.length > 0 ? entries : undefined;
};
const ulimits: Convert = (v) => {
  if (!isDict(v)) return undefined;
  const out: Dict = {};
  for (const k of Object.keys(v).sort()) {
    const u = v[k];
    setOwn(out, k, isDict(u) ? { soft: Number(u.soft ?? 0), hard: Number(u.hard ?? 0) } : Number(u));
  }
  return Object.keys(out).length > 0 ? out : undefined;
};
const keep: Convert = (v) => (v === undefined ? undefined : v);

/** A struct: fields in `order`, each converted, empty ones dropped, `x-*` after them. */
function struct(order: Array<[string, Convert]>, omitEmpty = true): Convert {
  return (v, path) => {
    if (!isDict(v)) return undefined;
    const out: Dict = {};
    const known = new Set<string>();
    for (const [key, convert] of order) {
      known.add(key);
      const value = convert(v[key], [...path, key]);
      if (value !== undefined) setOwn(out, key, value);
    }
    for (const key of Object.keys(v).sort()) {
      if (known.has(key)) continue;
      if (key.startsWith('x-')) setOwn(out, key, v[key]);
      else if (v[key] !== undefined) setOwn(out, key, v[key]);
    }
    return omitEmpty && Object.keys(out).length === 0 ? undefined : out;
  };
}

const list =
  (item: Convert): Convert =>
  (v, path) => {
    if (!Array.isArray(v) || v.length === 0) return undefined;
    return v.map((x, i) => (isDict(x) ? (item(x, [...path, i]) ?? {}) : x));
  };

const sortedRecord =
  (item: Convert, nullable = false): Convert =>
  (v, path) => {
    if (!isDict(v)) return undefined;
    const keys = Object.keys(v).sort();
    if (keys.length === 0) return undefined;
    const out: Dict = {};
    for (const k of keys) {
      const value = v[k] === null && nullable ? null : item(v[k], [...path, k]);
      setOwn(out, k, value === undefined ? (nullable ? null : {}) : value);
    }
    return out;
  };

const fileReference = struct([
  ['source', str],
  ['target', str],
  ['uid', str],
  ['gid', str],
  ['mode', fileMode],
]);

const resource = struct([
  ['cpus', (v) => (v === undefined || v === null || Number(v) === 0 ? undefined : Number(v))],
  ['memory', bytes],
  ['pids', num],
  ['devices', keep],
  ['generic_resources', keep],
]);

const durationNonZero: Convert = (v, path) => {
  const d = duration(v, path);
  return d === '0s' ? undefined : d;
};

const updateConfig = struct([
  ['parallelism', numPtr],
  ['delay', durationNonZero],
  ['failure_action', str],
  ['monitor', durationNonZero],
  ['max_failure_ratio', num],
  ['order', str],
]);

const deploy = struct([
  ['mode', str],
  ['replicas', numPtr],
  ['labels', labels],
  ['update_config', updateConfig],
  ['rollback_config', updateConfig],
  ['resources', struct([['limits', resource], ['reservations', resource]])],
  ['restart_policy', struct([['condition', str], ['delay', duration], ['max_attempts', numPtr], ['window', duration]])],
  ['placement', struct([['constraints', strList], ['preferences', keep], ['max_replicas_per_node', num]])],
  ['endpoint_mode', str],
]);

const throttle = list(struct([['path', str], ['rate', bytes]], false));

const build = struct([
  ['context', str],
  ['dockerfile', str],
  ['dockerfile_inline', str],
  ['entitlements', strList],
  ['args', sortedMap(null)],
  ['provenance', (v) => (v === undefined ? undefined : String(v))],
  ['sbom', (v) => (v === undefined ? undefined : String(v))],
  ['ssh', strList],
  ['labels', labels],
  ['cache_from', strList],
  ['cache_to', strList],
  ['no_cache', bool],
  ['no_cache_filter', strList],
  ['additional_contexts', options],
  ['pull', bool],
  ['extra_hosts', hostsList],
  ['isolation', str],
  ['network', str],
  ['target', str],
  ['secrets', list(fileReference)],
  ['shm_size', bytes],
  ['tags', strList],
  ['ulimits', ulimits],
  ['platforms', strList],
  ['privileged', bool],
]);

const healthcheck = struct([
  ['test', (v) => (typeof v === 'string' ? ['CMD-SHELL', v] : Array.isArray(v) ? v.map(String) : undefined)],
  ['timeout', duration],
  ['interval', duration],
  ['retries', numPtr],
  ['start_period', duration],
  ['start_interval', duration],
  ['disable', bool],
]);

const serviceNetwork = struct([
  ['aliases', strList],
  ['driver_opts', options],
  ['gw_priority', num],
  ['interface_name', str],
  ['ipv4_address', str],
  ['ipv6_address', str],
  ['link_local_ips', strList],
  ['mac_address', str],
  ['priority', num],
]);

const port = struct([
  ['name', str],
  ['mode', str],
  ['host_ip', str],
  ['target', num],
  ['published', (v) => (v === undefined || v === null || v === '' ? undefined : String(v))],
  ['protocol', str],
  ['app_protocol', str],
]);

const volume = struct([
  ['type', str],
  ['source', str],
  ['target', str],
  ['read_only', bool],
  ['consistency', str],
  ['bind', struct([['selinux', str], ['propagation', str], ['create_host_path', boolPtr], ['recursive', str]], false)],
  ['volume', struct([['labels', labels], ['nocopy', bool], ['subpath', str]], false)],
  ['tmpfs', struct([['size', bytes], ['mode', num]], false)],
  ['image', struct([['subpath', str]], false)],
]);

const dependency = struct([
  ['condition', str],
  ['restart', bool],
  ['required', (v) => v !== false],
]);

const serviceFields: Array<[string, Convert]> = [
  ['profiles', strList],
  ['annotations', labels],
  ['attach', boolPtr],
  ['build', build],
  ['develop', keep],
  ['blkio_config', struct([
    ['weight', num],
    ['weight_device', list(struct([['path', str], ['weight', num]], false))],
    ['device_read_bps', throttle],
    ['device_read_iops', throttle],
    ['device_write_bps', throttle],
    ['device_write_iops', throttle],
  ])],
  ['cap_add', strList],
  ['cap_drop', strList],
  ['cgroup_parent', str],
  ['cgroup', str],
  ['cpu_count', num],
  ['cpu_percent', num],
  ['cpu_period', num],
  ['cpu_quota', num],
  ['cpu_rt_period', num],
  ['cpu_rt_runtime', num],
  ['cpus', num],
  ['cpuset', str],
  ['cpu_shares', num],
  ['command', shellCommand],
  ['configs', list(fileReference)],
  ['container_name', str],
  ['credential_spec', keep],
  ['depends_on', sortedRecord(dependency)],
  ['deploy', deploy],
  ['device_cgroup_rules', strList],
  ['devices', list(struct([['source', str], ['target', str], ['permissions', str]]))],
  ['dns', strList],
  ['dns_opt', strList],
  ['dns_search', strList],
  ['domainname', str],
  ['entrypoint', shellCommand],
  ['provider', keep],
  ['environment', sortedMap(null)],
  ['expose', strList],
  ['external_links', strList],
  ['extra_hosts', hostsList],
  ['group_add', strList],
  ['gpus', keep],
  ['hostname', str],
  ['healthcheck', healthcheck],
  ['image', str],
  ['init', boolPtr],
  ['ipc', str],
  ['isolation', str],
  ['labels', labels],
  ['links', strList],
  ['logging', struct([['driver', str], ['options', options]])],
  ['mem_limit', bytes],
  ['mem_reservation', bytes],
  ['memswap_limit', bytes],
  ['mem_swappiness', bytes],
  ['mac_address', str],
  ['models', keep],
  ['network_mode', str],
  ['networks', sortedRecord(serviceNetwork, true)],
  ['oom_kill_disable', bool],
  ['oom_score_adj', num],
  ['pid', str],
  ['pids_limit', num],
  ['platform', str],
  ['ports', list(port)],
  ['privileged', bool],
  ['pull_policy', str],
  ['read_only', bool],
  ['restart', str],
  ['runtime', str],
  ['scale', numPtr],
  ['secrets', list(fileReference)],
  ['security_opt', strList],
  ['shm_size', bytes],
  ['stdin_open', bool],
  ['stop_grace_period', duration],
  ['stop_signal', str],
  ['storage_opt', options],
  ['sysctls', options],
  ['tmpfs', strList],
  ['tty', bool],
  ['ulimits', ulimits],
  ['use_api_socket', bool],
  ['user', str],
  ['userns_mode', str],
  ['uts', str],
  ['volume_driver', str],
  ['volumes', list(volume)],
  ['volumes_from', strList],
  ['working_dir', str],
  ['post_start', keep],
  ['pre_stop', keep],
  ['pre_start', keep],
];

/** Fields `config` never prints (resolved into others, or consumed by the loader). */
const dropped = new Set(['env_file', 'label_file', 'extends']);

const serviceStruct = struct(serviceFields.filter(([k]) => !dropped.has(k)), false);

export function convertService(service: Dict, path: PathSegments, f: Fail, options: { lenient?: boolean } = {}): Dict {
  fail = f;
  lenient = options.lenient ?? false;
  const copy: Dict = {};
  for (const [k, v] of Object.entries(service)) if (!dropped.has(k)) setOwn(copy, k, v);
  return serviceStruct(copy, path) as Dict;
}

const network = struct(
  [
    ['name', str],
    ['driver', str],
    ['driver_opts', options],
    ['ipam', struct([['driver', str], ['config', list(struct([['subnet', str], ['gateway', str], ['ip_range', str], ['aux_addresses', options]], false))], ['options', options]])],
    ['external', bool],
    ['internal', bool],
    ['attachable', bool],
    ['labels', labels],
    ['enable_ipv4', boolPtr],
    ['enable_ipv6', boolPtr],
  ],
  false,
);

const volumeConfig = struct(
  [
    ['name', str],
    ['driver', str],
    ['driver_opts', options],
    ['external', bool],
    ['labels', labels],
  ],
  false,
);

const fileObject = struct(
  [
    ['name', str],
    ['file', str],
    ['environment', str],
    ['content', (v) => (v === undefined ? undefined : String(v))],
    ['external', bool],
    ['labels', labels],
    ['driver', str],
    ['driver_opts', options],
    ['template_driver', str],
  ],
  false,
);

export function convertResource(kind: 'networks' | 'volumes' | 'secrets' | 'configs', value: Dict, path: PathSegments, f: Fail): Dict {
  fail = f;
  const convert = kind === 'networks' ? network : kind === 'volumes' ? volumeConfig : fileObject;
  return convert(value, path) as Dict;
}
