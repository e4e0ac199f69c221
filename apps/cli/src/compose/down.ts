import { down as downProject, undeclare } from '@berth/compose-controller';
import { StatusError } from '../cli-errors.js';
import type { CommandContext } from '../context.js';
import type { ParsedArgs } from '../flags.js';
import { composeSession, projectTarget } from './session.js';

/** `compose down`: from the Compose file, or with `-p NAME` alone from the labels. */
export async function down(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  const rmi = p.values['rmi'] as string;
  if (rmi && rmi !== 'local' && rmi !== 'all') throw new StatusError(`invalid value for --rmi: "${rmi}": expected local or all`, 1);
  const target = await projectTarget(ctx, p);
  const s = composeSession(ctx);
  // Undeclared first, so the compose watcher does not bring back what down removes.
  if (p.args.length === 0) await undeclare(s, target.name);
  await downProject(s, target.name, target.model, {
    timeout: p.changed.has('timeout') ? (p.values['timeout'] as number) : undefined,
    volumes: p.values['volumes'] as boolean,
    removeOrphans: p.values['remove-orphans'] as boolean,
    rmi: (rmi || undefined) as 'local' | 'all' | undefined,
    services: p.args.length > 0 ? p.args : undefined,
  });
  return 0;
}
