import {
  removeContainer,
  servicesFromLabels,
  setDeclaredState,
  startContainer,
  stopContainer,
  visitServices,
  type ComposeSession,
  type ObservedContainer,
} from '@berth/compose-controller';
import type { Project } from '@berth/compose';
import { messageOf } from '@berth/errors';
import { StatusError } from '../cli-errors.js';
import type { CommandContext } from '../context.js';
import type { ParsedArgs } from '../flags.js';
import { bool } from '../flag-values.js';
import { confirm } from '../commands/shared.js';
import { composeSession, projectTarget, type ProjectTarget } from './session.js';
import { serviceContainers } from './targets.js';

/** start, stop, restart, rm, kill, pause and unpause of a project's services. */

const timeoutOf = (p: ParsedArgs) => (p.changed.has('timeout') ? (p.values['timeout'] as number) : undefined);

function graphOf(target: ProjectTarget, containers: ObservedContainer[]): Pick<Project, 'services'> {
  const fromLabels = servicesFromLabels(containers).services;
  return { services: { ...fromLabels, ...(target.model?.services ?? {}) } };
}

/** Runs `fn` on the containers of each service, in dependency order (or reversed). */
async function perService(
  target: ProjectTarget,
  containers: ObservedContainer[],
  fn: (c: ObservedContainer) => Promise<void>,
  options: { reverse?: boolean } = {},
): Promise<void> {
  const services = [...new Set(containers.map((c) => c.service))];
  await visitServices(graphOf(target, containers), services, (name) => Promise.all(containers.filter((c) => c.service === name).map(fn)).then(() => undefined), options);
}

async function context(ctx: CommandContext, p: ParsedArgs) {
  const target = await projectTarget(ctx, p);
  const s = composeSession(ctx);
  const containers = await serviceContainers(s, target, p.args);
  return { target, s, containers };
}

export async function start(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  const { target, s, containers } = await context(ctx, p);
  if (containers.length === 0) throw new StatusError(p.args.length > 0 ? `service "${p.args[0]}" has no container to start` : 'no containers to start', 1);
  await perService(target, containers, async (c) => {
    if (c.state !== 'running' && c.state !== 'paused') await startContainer(s, c);
  });
  await setDeclaredState(s, target.name, 'running');
  return 0;
}

export async function stop(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  const { target, s, containers } = await context(ctx, p);
  // A stopped project is not kept by the compose watcher until `start` or `up`.
  await setDeclaredState(s, target.name, 'stopped');
  await perService(target, containers, (c) => stopContainer(s, c, { timeout: timeoutOf(p) }), { reverse: true });
  return 0;
}

export async function restart(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  const { target, s, containers } = await context(ctx, p);
  await perService(target, containers, async (c) => {
    const report = (status: string, done: boolean) => s.progress({ kind: 'Container', name: c.name, status, done });
    report('Restarting', false);
    await s.engine.restartContainer(c.id, { timeout: timeoutOf(p) });
    report('Started', true);
  });
  await setDeclaredState(s, target.name, 'running');
  return 0;
}

export async function rm(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  const { s, containers } = await context(ctx, p);
  if (bool(p, 'stop')) await Promise.all(containers.filter((c) => c.state === 'running' || c.state === 'paused').map((c) => stopContainer(s, c)));
  const stopped = containers.filter((c) => bool(p, 'stop') || (c.state !== 'running' && c.state !== 'paused' && c.state !== 'restarting'));
  if (stopped.length === 0) {
    ctx.io.stderr.write('No stopped containers\n');
    return 0;
  }
  if (!bool(p, 'force')) {
    if (!(await confirm(ctx, `Going to remove ${stopped.map((c) => c.name).join(', ')}`))) return 0;
  } else ctx.io.stderr.write(`Going to remove ${stopped.map((c) => c.name).join(', ')}\n`);
  await Promise.all(stopped.map((c) => removeContainer(s, c, { volumes: bool(p, 'volumes') })));
  return 0;
}

/** One call per container with compose's progress words; errors are collected, the rest goes on. */
async function each(s: ComposeSession, containers: ObservedContainer[], words: [string, string], fn: (c: ObservedContainer) => Promise<void>): Promise<number> {
  const errors: string[] = [];
  await Promise.all(
    containers.map(async (c) => {
      s.progress({ kind: 'Container', name: c.name, status: words[0], done: false });
      try {
        await fn(c);
        s.progress({ kind: 'Container', name: c.name, status: words[1], done: true });
      } catch (err) {
        s.progress({ kind: 'Container', name: c.name, status: 'Error', done: true, error: true, detail: messageOf(err) });
        errors.push(messageOf(err));
      }
    }),
  );
  if (errors.length > 0) throw new StatusError(errors.join('\n'), 1);
  return 0;
}

export async function kill(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  const { s, containers } = await context(ctx, p);
  const running = containers.filter((c) => c.state === 'running' || c.state === 'restarting' || c.state === 'paused');
  if (running.length === 0) {
    ctx.io.stderr.write('no container to kill\n');
    return 0;
  }
  return each(s, running, ['Killing', 'Killed'], (c) => s.engine.killContainer(c.id, { signal: p.values['signal'] as string }));
}

export async function pause(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  const { s, containers } = await context(ctx, p);
  return each(s, containers.filter((c) => c.state === 'running'), ['Pausing', 'Paused'], (c) => s.engine.pauseContainer(c.id));
}

export async function unpause(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  const { s, containers } = await context(ctx, p);
  return each(s, containers.filter((c) => c.state === 'paused'), ['Unpausing', 'Unpaused'], (c) => s.engine.unpauseContainer(c.id));
}
