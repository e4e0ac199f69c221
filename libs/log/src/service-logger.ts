import { writeSync } from 'node:fs';
import { pino, type Logger as PinoLogger } from 'pino';
import { InvalidArgumentError, messageOf } from '@berth/errors';

/** The levels `--log-level` and `BERTH_LOG_LEVEL` accept, least severe first. */
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * Fields whose values never reach a log line, wherever they sit in an event (up to two objects
 * deep): registry passwords and tokens, auth headers, nkey seeds, a container's environment (`-e`
 * values: `env` of run options, `Env` of a container config). Keep it in step with what the
 * services log; service-logger.test.ts proves each one is censored.
 */
export const REDACTED_FIELDS = [
  'password',
  'Password',
  'token',
  'identitytoken',
  'IdentityToken',
  'registrytoken',
  'RegistryToken',
  'secret',
  'seed',
  'auth',
  'authorization',
  'Authorization',
  'credentials',
  'env',
  'Env',
];
const REDACT_PATHS = REDACTED_FIELDS.flatMap((f) => [f, `*.${f}`, `*.*.${f}`]);

/**
 * The level a service logs at: its `--log-level` flag, else `BERTH_LOG_LEVEL`, else info.
 * InvalidArgumentError naming the bad value and where it came from.
 */
export function logLevelOf(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): LogLevel {
  const [value, source] = flag !== undefined ? [flag, '--log-level'] : [env.BERTH_LOG_LEVEL, 'BERTH_LOG_LEVEL'];
  if (value === undefined || value === '') return 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(value)) {
    throw new InvalidArgumentError(`Invalid ${source} "${value}": expected one of ${LOG_LEVELS.join(', ')}`);
  }
  return value as LogLevel;
}

export interface ServiceLoggerOptions {
  level?: LogLevel;
  /** Where the lines go; default 1 (stdout: the file under `<data-root>/logs` that `platform up` gave it). */
  fd?: number;
}

/**
 * The logger of a platform service (`name`: runtime-agent, api, builder, registry, compose-watcher):
 * pino, one JSON line per event (`{"level":"warn","time":"…","service":"…","msg":"…",…}`), secrets
 * censored (REDACTED_FIELDS). Each line is written at once with writeSync: one that cannot be
 * written (the disk is full, as the data root may be; a closed stdout) is lost and the service goes
 * on, and logging resumes when space returns. A stream (console.log, pino's own destinations)
 * would instead be destroyed by the failed write, and its 'error' event end the process (the agent
 * died so on a full data root: test/full-disk.e2e.test.ts).
 */
export function serviceLogger(name: string, options: ServiceLoggerOptions = {}): PinoLogger<never> {
  const fd = options.fd ?? 1;
  return pino(
    {
      level: options.level ?? 'info',
      base: { service: name, pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      // An error as its message: a failed unmount needs what and why, not a stack per line.
      serializers: { err: (err: unknown) => messageOf(err) },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    },
    {
      write(line: string) {
        try {
          writeSync(fd, line);
        } catch {
          // ENOSPC (or a closed stdout): this line is lost, the service keeps running.
        }
      },
    },
  );
}

/**
 * The logger a service's main starts with: serviceLogger at the level of its `--log-level` flag
 * (logLevelOf). A bad level is printed on stderr and ends the process with status 2, as the
 * services' other flag errors do.
 */
export function serviceLoggerForFlag(name: string, levelFlag: string | undefined): PinoLogger<never> {
  let level: LogLevel;
  try {
    level = logLevelOf(levelFlag);
  } catch (err) {
    console.error(messageOf(err));
    process.exit(2);
  }
  return serviceLogger(name, { level });
}
