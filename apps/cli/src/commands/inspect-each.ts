import { type BerthError, isBerthError } from '@berth/errors';
import { daemonMessage, StatusError } from '../cli-errors.js';
import type { CommandContext } from '../context.js';
import type { ParsedArgs } from '../flags.js';
import { compileFormat, executeFormat } from '../table-format.js';
import { goJson, out } from './shared.js';

export interface InspectEachOptions {
  /** One object by the name the user gave; throws a BerthError when it cannot be had. */
  fetch(name: string): Promise<unknown>;
  /** The error line for a name that failed (default: the daemon's message). */
  errorLine?(err: BerthError, name: string): string;
}

/**
 * docker's `inspect` of one kind or several (`inspect`, `network inspect`, `volume inspect`, …):
 * prints every object found — a JSON array, or `--format` per object — then one error line per
 * name that failed (`Error: No such network: x`) and exit status 1 if any did. A `--format` that
 * does not parse fails before anything is fetched.
 */
export async function inspectEach(ctx: CommandContext, p: ParsedArgs, options: InspectEachOptions): Promise<number> {
  const format = (p.values.format as string | undefined) ?? '';
  const template = format && format !== 'json' ? compileFormat(format) : undefined;
  const errorLine = options.errorLine ?? ((err: BerthError) => daemonMessage(err, ctx.host));
  const found: unknown[] = [];
  const errors: string[] = [];
  let rendered = '';
  for (const name of p.args) {
    let object: unknown;
    try {
      object = await options.fetch(name);
    } catch (err) {
      if (!isBerthError(err)) throw err;
      errors.push(errorLine(err, name));
      continue;
    }
    found.push(object);
    if (template) rendered += executeFormat(template, object) + '\n';
  }
  out(ctx, template ? rendered : `${goJson(found)}\n`);
  if (errors.length > 0) throw new StatusError(errors.join('\n'), 1);
  return 0;
}
