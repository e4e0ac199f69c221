import { StreamKind, ContainersClient, serverStream } from '@berth/proto';
import { StatusError } from '../cli-errors.js';
import { client } from '../clients.js';
import type { CommandContext } from '../context.js';
import type { ParsedArgs } from '../flags.js';
import { bool, str } from '../flag-values.js';
import { logDetails } from '../log-details.js';
import { timeFlag } from '../time-flags.js';
import { writeChunks } from './shared.js';

/** The container commands whose answer streams (logs, export): over grpc-js (clients.ts), apart from containers.ts's unary ones. */

export async function logs(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  const c = client(ctx, ContainersClient);
  const timestamps = bool(p, 'timestamps');
  const since = timeFlag(str(p, 'since'), 'invalid value for "since": ');
  const until = timeFlag(str(p, 'until'), 'invalid value for "until": ');
  const call = c.logs({
    id: p.args[0]!,
    follow: bool(p, 'follow'),
    stdout: true,
    stderr: true,
    since,
    until,
    tail: str(p, 'tail'),
    timestamps,
  });
  ctx.cleanup.push(() => call.cancel());
  const details = bool(p, 'details') ? await logDetails(ctx, p.args[0]!) : '';
  for await (const entry of serverStream(call)) {
    const target = entry.stream === StreamKind.STREAM_KIND_STDERR ? ctx.io.stderr : ctx.io.stdout;
    // The time comes in its own field; the data never carries it.
    if (timestamps && entry.time) target.write(`${entry.time} `);
    if (details) target.write(details);
    target.write(entry.data);
  }
  return 0;
}

export async function exportContainer(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  const c = client(ctx, ContainersClient);
  const output = str(p, 'output');
  if (!output && ctx.io.stdout.isTTY) throw new StatusError('cowardly refusing to save to a terminal. Use the -o flag or redirect', 1);
  const call = c.export({ id: p.args[0]! });
  ctx.cleanup.push(() => call.cancel());
  await writeChunks(ctx, serverStream(call), output);
  return 0;
}
