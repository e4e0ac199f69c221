import { projectContainers, type ObservedContainer } from '@berth/compose-controller';
import { StatusError } from '../cli-errors.js';
import type { CommandContext } from '../context.js';
import type { ComposeSession } from '@berth/compose-controller';
import type { ProjectTarget } from './session.js';

/**
 * The containers a compose command acts on: the project's (not one-off ones unless asked), of the
 * named services (all when none is named). A service the Compose file does not define is an error,
 * as in compose v2.
 */
export async function serviceContainers(
  s: ComposeSession,
  target: ProjectTarget,
  services: string[],
  options: { oneoff?: boolean } = {},
): Promise<ObservedContainer[]> {
  if (target.model) {
    for (const name of services) {
      if (!target.model.services[name] && !target.model.disabledServices[name]) throw new StatusError(`no such service: ${name}`, 1);
    }
  }
  const all = await projectContainers(s.engine, target.name, { oneoff: options.oneoff ? undefined : false });
  return all.filter((c) => services.length === 0 || services.includes(c.service));
}

/** One container of a service by its replica index (`--index`, default 1; exec, port, logs). */
export async function serviceContainer(
  ctx: CommandContext,
  s: ComposeSession,
  target: ProjectTarget,
  service: string,
  index: number,
): Promise<ObservedContainer> {
  void ctx;
  const list = await serviceContainers(s, target, [service]);
  if (list.length === 0) throw new StatusError(`service "${service}" is not running`, 1);
  const c = list.find((x) => x.number === index);
  if (!c) throw new StatusError(`service "${service}" is not running container #${index}`, 1);
  return c;
}
