import { InvalidArgumentError } from '@berth/errors';
import { composeError, pathString } from './compose-error.js';
import type { PathSegments } from './parse-yaml.js';
import { substitute } from './template.js';
import { pathTable } from './tree-path.js';

/**
 * Phase 2: interpolation of every string value of one file (keys are never interpolated), then the
 * type casts Compose applies to fields that may hold a variable: `replicas: ${N}` becomes a number
 * and `read_only: "${RO}"` a boolean, before the schema sees them (compose-go's
 * `interpolateTypeCastMapping`).
 */

type Cast = (value: string) => unknown;

function toInt(value: string): unknown {
  if (!/^[-+]?[0-9]+$/.test(value.trim())) throw new Error(`must be an integer, got ${JSON.stringify(value)}`);
  return Number(value.trim());
}

function toFloat(value: string): unknown {
  const v = value.trim();
  if (v === '' || !Number.isFinite(Number(v))) throw new Error(`must be a number, got ${JSON.stringify(value)}`);
  return Number(v);
}

function toBoolean(value: string): unknown {
  switch (value.toLowerCase()) {
    case 'true':
    case 'yes':
    case 'y':
    case 'on':
      return true;
    case 'false':
    case 'no':
    case 'n':
    case 'off':
      return false;
    default:
      throw new Error(`must be a boolean (true or false), got ${JSON.stringify(value)}`);
  }
}

const castAt = pathTable<Cast>([
  ['services.*.configs.[].mode', toInt],
  ['services.*.secrets.[].mode', toInt],
  ['services.*.cpu_count', toInt],
  ['services.*.cpu_percent', toFloat],
  ['services.*.cpu_period', toInt],
  ['services.*.cpu_quota', toInt],
  ['services.*.cpu_rt_period', toInt],
  ['services.*.cpu_rt_runtime', toInt],
  ['services.*.cpus', toFloat],
  ['services.*.cpu_shares', toInt],
  ['services.*.init', toBoolean],
  ['services.*.depends_on.*.required', toBoolean],
  ['services.*.depends_on.*.restart', toBoolean],
  ['services.*.deploy.replicas', toInt],
  ['services.*.deploy.update_config.parallelism', toInt],
  ['services.*.deploy.update_config.max_failure_ratio', toFloat],
  ['services.*.deploy.rollback_config.parallelism', toInt],
  ['services.*.deploy.rollback_config.max_failure_ratio', toFloat],
  ['services.*.deploy.restart_policy.max_attempts', toInt],
  ['services.*.deploy.placement.max_replicas_per_node', toInt],
  ['services.*.healthcheck.retries', toInt],
  ['services.*.healthcheck.disable', toBoolean],
  ['services.*.oom_kill_disable', toBoolean],
  ['services.*.oom_score_adj', toInt],
  ['services.*.pids_limit', toInt],
  ['services.*.ports.[].target', toInt],
  ['services.*.privileged', toBoolean],
  ['services.*.read_only', toBoolean],
  ['services.*.scale', toInt],
  ['services.*.stdin_open', toBoolean],
  ['services.*.tty', toBoolean],
  ['services.*.ulimits.*', toInt],
  ['services.*.ulimits.*.hard', toInt],
  ['services.*.ulimits.*.soft', toInt],
  ['services.*.volumes.[].read_only', toBoolean],
  ['services.*.volumes.[].volume.nocopy', toBoolean],
  ['services.*.attach', toBoolean],
  ['networks.*.external', toBoolean],
  ['networks.*.internal', toBoolean],
  ['networks.*.attachable', toBoolean],
  ['networks.*.enable_ipv4', toBoolean],
  ['networks.*.enable_ipv6', toBoolean],
  ['volumes.*.external', toBoolean],
  ['secrets.*.external', toBoolean],
  ['configs.*.external', toBoolean],
]);

export interface InterpolateOptions {
  /** The file being interpolated, for error messages. */
  file: string;
  /** Line of a field, by path, when known. */
  lines?: Map<string, number>;
  /** Variable values (shell environment over `.env`), undefined when unset. */
  lookup: (name: string) => string | undefined;
  /** Warnings for unset variables ("The "X" variable is not set. Defaulting to a blank string."). */
  warnings?: string[];
  /** false: leave strings as written (`config --no-interpolate`); the casts still apply. */
  interpolate?: boolean;
}

/** Interpolates a parsed file in place and returns it. */
export function interpolateModel<T>(value: T, options: InterpolateOptions): T {
  const warned = new Set<string>();
  const onUnset = (name: string) => {
    if (warned.has(name)) return;
    warned.add(name);
    options.warnings?.push(`The "${name}" variable is not set. Defaulting to a blank string.`);
  };
  const where = (path: PathSegments) => {
    const p = pathString(path);
    return { file: options.file, path: p, line: lineOf(options.lines, path) };
  };
  const visit = (v: unknown, path: PathSegments): unknown => {
    if (typeof v === 'string') {
      let text = v;
      if (options.interpolate !== false) {
        try {
          text = substitute(v, { lookup: options.lookup, onUnset });
        } catch (e) {
          if (e instanceof InvalidArgumentError) throw composeError(where(path), e.message, { cause: e });
          throw e;
        }
      }
      const cast = castAt(path);
      if (!cast) return text;
      if (options.interpolate === false && text.includes('$')) return text;
      try {
        return cast(text);
      } catch (e) {
        throw composeError(where(path), (e as Error).message);
      }
    }
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) v[i] = visit(v[i], [...path, i]);
      return v;
    }
    if (v !== null && typeof v === 'object') {
      const obj = v as Record<string, unknown>;
      for (const k of Object.keys(obj)) obj[k] = visit(obj[k], [...path, k]);
      return obj;
    }
    return v;
  };
  return visit(value, []) as T;
}

/** The line of `path`, or of its nearest ancestor the YAML reader saw. */
export function lineOf(lines: Map<string, number> | undefined, path: PathSegments): number | undefined {
  if (!lines) return undefined;
  for (let n = path.length; n > 0; n--) {
    const line = lines.get(pathString(path.slice(0, n)));
    if (line !== undefined) return line;
  }
  return undefined;
}
