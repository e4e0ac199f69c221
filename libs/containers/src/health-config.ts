import { InvalidArgumentError } from '@berth/errors';
import type { HealthConfig } from '@berth/oci';

/**
 * Docker's HealthConfig (@berth/oci), as a container config (`Config.Healthcheck`) carries it too, as
 * an image config does. Durations are in nanoseconds; 0 (or absent) means "inherit from the image" at
 * create and "the default" when probing. `Test`: `[]` inherit, `["NONE"]` disabled, `["CMD", arg…]`
 * exec, `["CMD-SHELL", command]` run by the container's shell (`/bin/sh -c` unless the image set SHELL).
 */
export type { HealthConfig };

/** Docker's defaults (moby daemon/health.go). */
export const healthDefaults = {
  intervalMs: 30_000,
  timeoutMs: 30_000,
  startPeriodMs: 0,
  startIntervalMs: 5_000,
  retries: 3,
} as const;

/** How a container is probed: the command and the timings (milliseconds) with defaults applied. */
export interface ProbeSettings {
  /** The argv to exec in the container. */
  command: string[];
  intervalMs: number;
  timeoutMs: number;
  startPeriodMs: number;
  startIntervalMs: number;
  retries: number;
}

const durationFields = ['Interval', 'Timeout', 'StartPeriod', 'StartInterval'] as const;

/**
 * Docker's merge of the user's healthcheck over the image's (daemon `merge`): no user healthcheck
 * takes the image's; otherwise an empty `Test` and every zero field is taken from the image.
 */
export function mergeHealthcheck(user: HealthConfig | undefined, image: HealthConfig | undefined): HealthConfig | undefined {
  if (user === undefined) return image === undefined ? undefined : compact(image);
  if (image === undefined) return compact(user);
  const merged: HealthConfig = { ...user };
  if (!user.Test || user.Test.length === 0) merged.Test = image.Test;
  for (const field of durationFields) if (!user[field]) merged[field] = image[field];
  if (!user.Retries) merged.Retries = image.Retries;
  return compact(merged);
}

/** Drops zero and empty fields, as Docker's JSON (`omitempty`) shows them. */
function compact(config: HealthConfig): HealthConfig {
  const out: HealthConfig = {};
  if (config.Test && config.Test.length > 0) out.Test = [...config.Test];
  for (const field of durationFields) if (config[field]) out[field] = config[field];
  if (config.Retries) out.Retries = config.Retries;
  return out;
}

/**
 * Docker's checks of a healthcheck at create (daemon `validateHealthCheck`), with its messages.
 * InvalidArgumentError, e.g. `Interval in Healthcheck cannot be less than 1ms`.
 */
export function checkHealthcheck(config: HealthConfig | undefined): void {
  if (config === undefined) return;
  for (const field of durationFields) {
    const value = config[field] ?? 0;
    if (value !== 0 && value < 1e6) throw new InvalidArgumentError(`${field} in Healthcheck cannot be less than 1ms`);
  }
  if ((config.Retries ?? 0) < 0) throw new InvalidArgumentError('Retries in Healthcheck cannot be negative');
  const kind = config.Test?.[0];
  if (kind === 'CMD' || kind === 'CMD-SHELL') {
    if (config.Test!.length < 2 || (kind === 'CMD-SHELL' && config.Test![1] === '')) {
      throw new InvalidArgumentError(`Healthcheck ${kind} needs a command: got ${JSON.stringify(config.Test)}`);
    }
  } else if (kind !== undefined && kind !== 'NONE') {
    throw new InvalidArgumentError(`Unknown healthcheck type "${kind}" in ${JSON.stringify(config.Test)}: expected CMD, CMD-SHELL or NONE`);
  }
}

/**
 * How to probe a container with this healthcheck (Docker's `getProbe` and timings), or undefined
 * when it is not probed: no healthcheck, an empty test, or `NONE`. `shell` is the container's
 * `Config.Shell` (default `/bin/sh -c`) for `CMD-SHELL`.
 */
export function probeSettings(config: HealthConfig | undefined, shell?: string[]): ProbeSettings | undefined {
  const test = config?.Test ?? [];
  let command: string[];
  if (test[0] === 'CMD') command = test.slice(1);
  else if (test[0] === 'CMD-SHELL') command = [...(shell && shell.length > 0 ? shell : ['/bin/sh', '-c']), ...test.slice(1)];
  else return undefined;
  if (command.length === 0) return undefined;
  const ms = (ns: number | undefined, fallback: number) => (ns ? ns / 1e6 : fallback);
  return {
    command,
    intervalMs: ms(config?.Interval, healthDefaults.intervalMs),
    timeoutMs: ms(config?.Timeout, healthDefaults.timeoutMs),
    startPeriodMs: ms(config?.StartPeriod, healthDefaults.startPeriodMs),
    startIntervalMs: ms(config?.StartInterval, healthDefaults.startIntervalMs),
    retries: config?.Retries && config.Retries > 0 ? config.Retries : healthDefaults.retries,
  };
}

/** Go's `time.Duration.String()` (`30s`, `1m30s`, `1h0m0s`, `500ms`, `1.5s`), for Docker's messages. */
export function goDurationString(ns: number): string {
  const u = Math.abs(Math.round(ns));
  if (u === 0) return '0s';
  const sign = ns < 0 ? '-' : '';
  if (u < 1e9) {
    const [unit, prec] = u < 1e3 ? ['ns', 0] : u < 1e6 ? ['µs', 3] : ['ms', 6];
    return `${sign}${fixed(u, prec as number)}${unit}`;
  }
  let text = `${fixed(u % 60e9, 9)}s`;
  const minutes = Math.floor(u / 60e9);
  if (minutes > 0) {
    text = `${minutes % 60}m${text}`;
    const hours = Math.floor(minutes / 60);
    if (hours > 0) text = `${hours}h${text}`;
  }
  return sign + text;
}

/** `value / 10^prec` without trailing zeros in the fraction. */
function fixed(value: number, prec: number): string {
  const scale = 10 ** prec;
  const whole = Math.floor(value / scale);
  const frac = value % scale;
  if (frac === 0) return String(whole);
  return `${whole}.${String(frac).padStart(prec, '0').replace(/0+$/, '')}`;
}
