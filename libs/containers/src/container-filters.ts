import { InvalidArgumentError } from '@berth/errors';
import { FilterArgs, formatFilterValues, type FilterInput } from '@berth/filters';
import { statusOf } from './state.js';
import type { ContainerRecord } from './types.js';

/** The keys `ps --filter` accepts (moby's acceptedPsFilterTags). */
export const PS_FILTER_KEYS = [
  'ancestor',
  'before',
  'exited',
  'id',
  'isolation',
  'label',
  'name',
  'status',
  'health',
  'since',
  'volume',
  'network',
  'is-task',
  'publish',
  'expose',
];

const STATES = ['paused', 'restarting', 'running', 'dead', 'created', 'exited', 'removing'];
const HEALTH = ['starting', 'healthy', 'unhealthy', 'none'];

/** What a container's `ps` row says about its ports and networks (from the network manager). */
export interface ContainerLinks {
  Ports: Array<{ PrivatePort: number; PublicPort?: number; Type: string }>;
  /** By network name; `NetworkID` when known. */
  Networks: Record<string, { NetworkID?: string } | unknown>;
}

/** What the filter needs from outside the records. */
export interface PsFilterContext {
  /** Full id of a container by id, unique id prefix or name (before/since); NotFoundError. */
  resolve(idOrName: string): string;
  /** Image ids an `ancestor` names, each with the images built on it; unknown names are left out. */
  ancestors(refs: string[]): Promise<Set<string>>;
  /** Every container id (for the unique-prefix rule of `id`). */
  ids: string[];
}

/** A parsed, checked `ps --filter`: `all` says whether stopped containers count, `includes` decides. */
export interface PsFilter {
  /** A `status` filter lists every state (as `-a`). */
  all: boolean;
  /** `records` newest first, as `ps` lists them; `links` of one record. */
  apply(records: ContainerRecord[], links: (rec: ContainerRecord) => ContainerLinks | undefined): ContainerRecord[];
}

/** `80`, `80/udp`, `8000-8080/tcp` → the port keys it covers (`80/tcp`…), Docker's portOp. */
function portKeys(key: string, value: string): string[] {
  if (value.includes(':')) throw new InvalidArgumentError(`filter for '${key}' should not contain ':': ${value}`);
  const [range, proto = 'tcp'] = value.split('/') as [string, string?];
  const m = /^(\d+)(?:-(\d+))?$/.exec(range);
  const start = m ? Number(m[1]) : NaN;
  const end = m?.[2] !== undefined ? Number(m[2]) : start;
  if (!m || start > 65535 || end > 65535 || end < start) {
    throw new InvalidArgumentError(`error while looking up for ${key} ${value}: invalid port range: ${JSON.stringify(range)}`);
  }
  const keys: string[] = [];
  for (let p = start; p <= end; p++) keys.push(`${p}/${proto.toLowerCase()}`);
  return keys;
}

/**
 * Docker's `ps --filter` (moby daemon/list.go, includeContainerInList), with filters.Args rules:
 * different keys AND, values of one key OR, except `label`, every one of which must hold.
 * - `name` (with or without `/`) and `status`: exact or regular expression; `id`: a unique id
 *   prefix, then exact or regular expression; `isolation`: `default` on Linux;
 * - `exited=N` (stopped containers that ran and exited with N), `health` (`starting`, `healthy`,
 *   `unhealthy`, `none`), `is-task` (never: Berth has no swarm tasks);
 * - `before` / `since`: containers created before / after the one named (id, prefix or name);
 * - `ancestor`: created from the image or one built on it; `volume`: a mount by volume name, source
 *   or destination; `network`: by name or network id prefix; `publish` / `expose`: a published / a
 *   container port (`80`, `80/udp`, `8000-8080`).
 * Errors (InvalidArgumentError, Docker's text): `invalid filter 'x'`, `invalid filter 'status=x'`,
 * `Unrecognised filter value for health: x`, `strconv.Atoi: parsing "x": invalid syntax`, …;
 * NotFoundError for a `before`/`since` container that does not exist.
 */
export async function psFilter(input: FilterInput | undefined, ctx: PsFilterContext): Promise<PsFilter> {
  const f = FilterArgs.from(input).validate(PS_FILTER_KEYS);
  const exited = f.get('exited').map((v) => {
    if (!/^[+-]?\d+$/.test(v)) throw new InvalidArgumentError(`strconv.Atoi: parsing ${JSON.stringify(v)}: invalid syntax`);
    return Number(v);
  });
  for (const v of f.get('status')) if (!STATES.includes(v)) throw new InvalidArgumentError(`invalid filter 'status=${v}'`);
  let isTask: boolean | undefined;
  if (f.has('is-task')) {
    if (f.exactMatch('is-task', 'true')) isTask = true;
    else if (f.exactMatch('is-task', 'false')) isTask = false;
    else throw new InvalidArgumentError(`invalid filter 'is-task=${formatFilterValues(f.get('is-task'))}'`);
  }
  for (const v of f.get('health')) if (!HEALTH.includes(v)) throw new InvalidArgumentError(`Unrecognised filter value for health: ${v}`);
  const before = f.get('before').map((v) => ctx.resolve(v)).at(-1);
  const since = f.get('since').map((v) => ctx.resolve(v)).at(-1);
  const ancestors = f.has('ancestor') ? await ctx.ancestors(f.get('ancestor')) : undefined;
  const publish = new Set(f.get('publish').flatMap((v) => portKeys('publish', v)));
  const expose = new Set(f.get('expose').flatMap((v) => portKeys('expose', v)));
  // `id` looks containers up by prefix first: an ambiguous prefix finds none.
  const idCandidates = f.has('id')
    ? new Set(
        f.get('id').flatMap((v) => {
          const hits = ctx.ids.filter((id) => id.startsWith(v));
          return hits.length === 1 ? hits : ctx.ids.filter((id) => id === v);
        }),
      )
    : undefined;

  // `links` is asked for only by the filters that need it (network, publish, expose).
  const includes = (rec: ContainerRecord, links: () => ContainerLinks | undefined): boolean => {
    if (idCandidates && !idCandidates.has(rec.Id)) return false;
    if (!f.match('name', rec.Name) && !f.match('name', rec.Name.replace(/^\//, ''))) return false;
    if (!f.match('id', rec.Id)) return false;
    if (isTask === true) return false;
    if (!f.matchKVList('label', rec.Config.Labels)) return false;
    if (!f.match('isolation', 'default')) return false;
    if (exited.length > 0 && (rec.State.Running || isZeroTime(rec.State.StartedAt) || !exited.includes(rec.State.ExitCode))) return false;
    const status = rec.State.Status === 'removing' ? 'removing' : statusOf(rec.State);
    if (!f.match('status', status)) return false;
    if (!f.exactMatch('health', rec.State.Health?.Status ?? 'none')) return false;
    if (f.has('volume')) {
      const points = rec.MountPoints ?? [];
      const hit = f.get('volume').some((v) => points.some((m) => m.Destination === v || (m.Name ? m.Name === v : m.Source === v)));
      if (!hit) return false;
    }
    if (ancestors && !ancestors.has(rec.Image)) return false;
    if (f.has('network')) {
      const networks = Object.entries(links()?.Networks ?? {});
      const hit = f.get('network').some((v) =>
        networks.some(([name, settings]) => name === v || String((settings as { NetworkID?: string } | null)?.NetworkID ?? '').startsWith(v)),
      );
      if (!hit) return false;
    }
    if (publish.size > 0 || expose.size > 0) {
      const ports = links()?.Ports ?? [];
      const hit = ports.some((p) => publish.has(`${p.PublicPort ?? 0}/${p.Type}`) || expose.has(`${p.PrivatePort}/${p.Type}`));
      if (!hit) return false;
    }
    return true;
  };

  return {
    all: f.has('status'),
    apply(records, links) {
      let list = records;
      if (before !== undefined) {
        const at = list.findIndex((r) => r.Id === before);
        list = at < 0 ? [] : list.slice(at + 1);
      }
      if (since !== undefined) {
        const at = list.findIndex((r) => r.Id === since);
        list = at < 0 ? list : list.slice(0, at);
      }
      return list.filter((r) => includes(r, () => links(r)));
    },
  };
}

function isZeroTime(t: string | undefined): boolean {
  return !t || t.startsWith('0001-01-01');
}
