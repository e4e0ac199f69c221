import { isBerthError } from '@berth/errors';
import { timestampArg } from '@berth/filters';
import { StatusError } from './cli-errors.js';

/**
 * A `--since`/`--until` value as the Unix seconds sent to the platform, relative to this machine's
 * clock, as docker's client does ('' stays ''). A bad value fails here with the parser's message
 * after `prefix` (`logs` says `invalid value for "since": `, `events` nothing), exit 1.
 */
export function timeFlag(value: string, prefix = ''): string {
  if (!value) return '';
  try {
    return timestampArg(value);
  } catch (err) {
    if (isBerthError(err)) throw new StatusError(`${prefix}${err.message}`, 1);
    throw err;
  }
}
