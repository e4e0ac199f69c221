import { join } from 'node:path';
import { InvalidArgumentError } from '@berth/errors';
import type { ContainerRecord } from './types.js';

/**
 * Docker's logging drivers on Berth: `json-file` (the default: docker's JSON lines in
 * `<bundle>/<id>-json.log`, rotated by `max-size`/`max-file`, optionally gzip-compressed),
 * `local` (the same lines in `<bundle>/local-logs/container.log`, docker's defaults of 20 MB × 5
 * files, compressed) and `none` (nothing kept; `logs` refuses with docker's message).
 *
 * conmon writes the container's output to its k8s-file monitor log (`ctr.log`, bounded by
 * `--log-size-max`); the agent's log shipper (log-shipper.ts) turns it into the driver's file.
 * Records made before drivers existed say `k8s-file` and are read from the monitor log directly.
 */

export type LogDriverName = 'json-file' | 'local' | 'none' | 'k8s-file';

/** What a driver does with the output: where, and how it rotates. */
export interface LogFileSettings {
  path: string;
  /** Bytes per file; 0 = unbounded. */
  maxSize: number;
  /** Files kept, the current one included (1: truncate in place). */
  maxFiles: number;
  /** gzip the rotated files. */
  compress: boolean;
}

const jsonFileOpts = new Set(['max-file', 'max-size', 'compress', 'labels', 'labels-regex', 'env', 'env-regex', 'tag']);
const localOpts = new Set(['max-file', 'max-size', 'compress']);
const otherDrivers = new Set(['syslog', 'journald', 'gelf', 'fluentd', 'awslogs', 'splunk', 'etwlogs', 'gcplogs', 'logentries', 'loki']);

/** go-units FromHumanSize (decimal: `10m` = 10 000 000 bytes), as json-file reads `max-size`. */
export function fromHumanSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?) ?([kKmMgGtTpP])?[iI]?[bB]?$/.exec(text.trim());
  if (!m) throw new InvalidArgumentError(`invalid size: '${text}'`);
  const unit = { k: 1e3, m: 1e6, g: 1e9, t: 1e12, p: 1e15 }[(m[2] ?? '').toLowerCase() as 'k'] ?? 1;
  return Math.round(Number(m[1]) * unit);
}

/**
 * Checks `--log-driver` / `--log-opt` as docker's daemon does at create (logger.ValidateLogOpts),
 * with its messages. @returns the LogConfig to record (the type filled in).
 */
export function checkLogConfig(config: { Type: string; Config: Record<string, string> } | undefined): { Type: string; Config: Record<string, string> } {
  const type = config?.Type || 'json-file';
  const opts = config?.Config ?? {};
  if (type === 'none') {
    if (Object.keys(opts).length > 0) throw new InvalidArgumentError(`invalid logging opts for driver ${type}`);
  } else if (type === 'json-file' || type === 'local') {
    const allowed = type === 'json-file' ? jsonFileOpts : localOpts;
    for (const key of Object.keys(opts)) {
      if (!allowed.has(key)) throw new InvalidArgumentError(`unknown log opt '${key}' for ${type} log driver`);
    }
    fileSettings(type, opts, '/');
  } else if (otherDrivers.has(type)) {
    throw new InvalidArgumentError(`logging driver "${type}" is not supported on Berth: use json-file, local or none`);
  } else {
    throw new InvalidArgumentError(`logger: no log driver named '${type}' is registered`);
  }
  return { Type: type, Config: { ...opts } };
}

function fileSettings(type: 'json-file' | 'local', opts: Record<string, string>, bundle: string): LogFileSettings {
  const local = type === 'local';
  let maxSize = local ? 20 * 1000 * 1000 : 0;
  if (opts['max-size'] !== undefined && opts['max-size'] !== '-1') maxSize = fromHumanSize(opts['max-size']);
  let maxFiles = local ? 5 : 1;
  if (opts['max-file'] !== undefined) {
    if (!/^-?\d+$/.test(opts['max-file'])) throw new InvalidArgumentError(`strconv.Atoi: parsing "${opts['max-file']}": invalid syntax`);
    maxFiles = Number(opts['max-file']);
    if (maxFiles < 1) throw new InvalidArgumentError('max-file cannot be less than 1');
  }
  let compress = local;
  if (opts.compress !== undefined) {
    if (!['true', 'false', '1', '0'].includes(opts.compress)) throw new InvalidArgumentError(`strconv.ParseBool: parsing "${opts.compress}": invalid syntax`);
    compress = opts.compress === 'true' || opts.compress === '1';
    if (compress && maxFiles < 2 && !local) throw new InvalidArgumentError("compress cannot be true when max-file is less than 2");
  }
  const path = local ? join(bundle, 'local-logs', 'container.log') : join(bundle, `${bundle.split('/').pop()}-json.log`);
  return { path, maxSize, maxFiles, compress };
}

/** The driver of a record (records from before drivers: `k8s-file`, read from the monitor log). */
export function logDriverOf(rec: ContainerRecord): LogDriverName {
  const type = rec.HostConfig.LogConfig?.Type;
  return type === 'json-file' || type === 'local' || type === 'none' ? type : 'k8s-file';
}

/** Where and how a json-file or local container keeps its output; undefined for none and k8s-file. */
export function logFileSettings(rec: ContainerRecord): LogFileSettings | undefined {
  const driver = logDriverOf(rec);
  if (driver !== 'json-file' && driver !== 'local') return undefined;
  return fileSettings(driver, rec.HostConfig.LogConfig.Config ?? {}, rec.BundleDir);
}

/** inspect's LogPath: the driver's file (docker's `<id>-json.log`), '' for none. */
export function driverLogPath(rec: ContainerRecord): string {
  const driver = logDriverOf(rec);
  if (driver === 'none') return '';
  return logFileSettings(rec)?.path ?? rec.LogPath;
}
