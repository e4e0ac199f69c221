import { shortName } from '@berth/compose-controller';
import type { CommandContext } from '../context.js';
import type { ParsedArgs } from '../flags.js';
import { timeFlag } from '../time-flags.js';
import { LogPrinter, streamLogs } from './log-printer.js';
import { composeSession, projectTarget } from './session.js';
import { serviceContainers } from './targets.js';

/** `compose logs`: every container of the services (or one replica with --index), interleaved. */
export async function logs(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  const target = await projectTarget(ctx, p);
  const s = composeSession(ctx);
  const index = p.values['index'] as number;
  const containers = (await serviceContainers(s, target, p.args)).filter((c) => !index || c.number === index);
  const timestamps = p.values['timestamps'] as boolean;
  // Read here, on this machine's clock, as docker's client does (a bad value fails before any call).
  const since = timeFlag(p.values['since'] as string, 'invalid value for "since": ');
  const until = timeFlag(p.values['until'] as string, 'invalid value for "until": ');
  const printer = new LogPrinter(ctx.io.stdout, ctx.io.stderr, {
    color: ctx.io.stdout.isTTY === true && !(p.values['no-color'] as boolean),
    prefix: !(p.values['no-log-prefix'] as boolean),
    timestamps,
  });
  const label = (name: string) => shortName(target.name, name);
  for (const c of containers) printer.add(label(c.name));
  const controller = new AbortController();
  const stop = () => controller.abort();
  ctx.io.signals?.once('SIGINT', stop);
  ctx.cleanup.push(() => ctx.io.signals?.off('SIGINT', stop));
  await Promise.all(
    containers.map((c) =>
      streamLogs(ctx, printer, { id: c.id, label: label(c.name) }, {
        follow: p.values['follow'] as boolean,
        since,
        until,
        tail: p.values['tail'] as string,
        timestamps,
        signal: controller.signal,
      }),
    ),
  );
  return 0;
}
