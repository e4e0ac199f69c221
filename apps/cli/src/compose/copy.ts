import { cp as copyFiles, splitCpArg } from '../commands/cp.js';
import { StatusError } from '../cli-errors.js';
import type { CommandContext } from '../context.js';
import type { ParsedArgs } from '../flags.js';
import { composeSession, projectTarget } from './session.js';
import { serviceContainer, serviceContainers } from './targets.js';

/**
 * `compose cp` (docker compose cp): `berth cp` between the local filesystem and a service's
 * container. From a service: its container `--index` (default: the first); to a service: that
 * container, or without `--index` every container of the service (compose v2), `--all` including
 * one-off ones.
 */
export async function cp(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  const [source, destination] = p.args as [string, string];
  const src = splitCpArg(source);
  const dst = splitCpArg(destination);
  if (src.container && dst.container) throw new StatusError('copying between services is not supported', 1);
  if (!src.container && !dst.container) throw new StatusError('unknown copy direction', 1);
  const service = src.container || dst.container;
  const target = await projectTarget(ctx, p);
  const s = composeSession(ctx);
  const index = p.changed.has('index') ? (p.values['index'] as number) : 0;
  let containers;
  if (index > 0) containers = [await serviceContainer(ctx, s, target, service, index)];
  else {
    containers = (await serviceContainers(s, target, [service], { oneoff: p.values['all'] as boolean })).sort((a, b) => a.number - b.number);
    if (containers.length === 0) throw new StatusError(`no container found for service "${service}"`, 1);
    if (src.container) containers = containers.slice(0, 1);
  }
  for (const c of containers) {
    const args = src.container ? [`${c.id}:${src.path}`, destination] : [source, `${c.id}:${dst.path}`];
    const code = await copyFiles(ctx, { ...p, args });
    if (code !== 0) return code;
  }
  return 0;
}
