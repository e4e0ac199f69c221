import { type ContainersMethods, RemoveContainerRequest, RemoveContainerResponse } from '@berth/proto';
import type { CommandContext } from '../context.js';
import type { ParsedArgs } from '../flags.js';
import { bool } from '../flag-values.js';
import { forEachName } from './shared.js';
import { unaryClient, unaryMethod, type MethodsOf } from '../unary-clients.js';

/**
 * `rm`: a module of its own, as `ps` and `inspect`, so that its pack holds the code of its own
 * messages and its code cache what `rm` runs (bench/README.md, "ps, inspect, rm: a pack per command").
 */

export const Containers = {
  remove: unaryMethod('/berth.v1.Containers/Remove', RemoveContainerRequest, RemoveContainerResponse),
} satisfies MethodsOf<ContainersMethods>;

export async function rm(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  const c = unaryClient(ctx, Containers);
  return forEachName(ctx, p.args, (id) => c.remove({ id, force: bool(p, 'force'), volumes: bool(p, 'volumes') }));
}
