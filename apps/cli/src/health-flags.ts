import { parseGoDuration } from '@berth/dockerfile';
import type { ContainerSpec, HealthConfig } from '@berth/proto';
import type { FlagSpec, FlagValue } from './flags.js';

/**
 * The healthcheck flags of `run` / `create` (docker's `--health-*`, `--no-healthcheck`) and the
 * HealthConfig they put in the create request, checked as the docker CLI checks them
 * (cli/command/container/opts.go): unset flags leave the image's HEALTHCHECK values in place.
 */
export const healthFlags: FlagSpec[] = [
  { long: 'health-cmd', type: 'string', description: 'Command to run to check health' },
  { long: 'health-interval', type: 'duration', description: 'Time between running the check (ms|s|m|h) (default 0s)' },
  { long: 'health-retries', type: 'int', description: 'Consecutive failures needed to report unhealthy' },
  {
    long: 'health-start-interval',
    type: 'duration',
    description: 'Time between running the check during the start period (ms|s|m|h) (default 0s)',
  },
  {
    long: 'health-start-period',
    type: 'duration',
    description: 'Start period for the container to initialize before starting health-retries countdown (ms|s|m|h) (default 0s)',
  },
  { long: 'health-timeout', type: 'duration', description: 'Maximum time to allow one check to run (ms|s|m|h) (default 0s)' },
  { long: 'no-healthcheck', type: 'bool', description: 'Disable any container-specified HEALTHCHECK' },
];

const durations = [
  ['health-interval', 'intervalNs'],
  ['health-timeout', 'timeoutNs'],
  ['health-start-period', 'startPeriodNs'],
  ['health-start-interval', 'startIntervalNs'],
] as const;

/** The create request's healthcheck from the parsed flags; `invalid` makes the usage error to throw. */
export function healthSpecFields(values: Record<string, FlagValue>, invalid: (message: string) => Error): Pick<ContainerSpec, 'healthcheck'> {
  const cmd = (values['health-cmd'] as string | undefined) ?? '';
  const retries = (values['health-retries'] as number | undefined) ?? 0;
  const health: HealthConfig = { test: [], intervalNs: 0, timeoutNs: 0, startPeriodNs: 0, startIntervalNs: 0, retries };
  for (const [flag, field] of durations) {
    const text = (values[flag] as string | undefined) ?? '';
    if (text === '') continue;
    const ns = parseGoDuration(text);
    if (ns === undefined) throw invalid(`invalid argument "${text}" for "--${flag}" flag: time: invalid duration "${text}"`);
    health[field] = ns;
  }
  const any = cmd !== '' || retries !== 0 || durations.some(([, field]) => health[field] !== 0);
  if (values['no-healthcheck']) {
    if (any) throw invalid('--no-healthcheck conflicts with --health-* options');
    return { healthcheck: { ...health, test: ['NONE'] } };
  }
  if (!any) return { healthcheck: undefined };
  for (const [flag, field] of durations) if (health[field] < 0) throw invalid(`--${flag} cannot be negative`);
  if (retries < 0) throw invalid('--health-retries cannot be negative');
  if (cmd !== '') health.test = ['CMD-SHELL', cmd];
  return { healthcheck: health };
}
