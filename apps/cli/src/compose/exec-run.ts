import { randomBytes } from 'node:crypto';
import { ContainersMethods } from '@berth/proto';
import { imageName, serviceConfigHash } from '@berth/compose';
import {
  createContainer,
  ensureImages,
  ensureNetworks,
  ensureVolumes,
  up as upProject,
  usedNetworks,
  usedVolumes,
  waitForDependency,
  projectContainers,
  byService,
} from '@berth/compose-controller';
import { StatusError } from '../cli-errors.js';
import { unaryClient } from '../unary-clients.js';
import type { CommandContext } from '../context.js';
import type { ParsedArgs } from '../flags.js';
import { str, bool, list } from '../flag-values.js';
import { keyValueMap } from '../key-value-map.js';
import { containerStream, relayStream, terminalSize } from '../commands/stream-relay.js';
import { composeSession, loadModel, projectTarget } from './session.js';
import { serviceContainer } from './targets.js';
import { buildSupport } from './up.js';

/** `compose exec` (a command in a service's running container) and `compose run` (a one-off container). */


/** `-e KEY=value` stays; a bare `-e KEY` takes the local value and is dropped when unset. */
function envEntries(ctx: CommandContext, words: string[]): string[] {
  return words.flatMap((w) => {
    if (w.includes('=')) return [w];
    const value = ctx.io.env[w];
    return value === undefined ? [] : [`${w}=${value}`];
  });
}

export async function exec(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  const [service, ...cmd] = p.args as [string, ...string[]];
  const target = await projectTarget(ctx, p);
  const s = composeSession(ctx);
  const container = await serviceContainer(ctx, s, target, service, p.values['index'] as number);
  if (container.state !== 'running') throw new StatusError(`service "${service}" is not running`, 1);
  const detach = bool(p, 'detach');
  const stdin = bool(p, 'interactive') && !detach;
  // compose allocates a terminal unless -T, when its input is one.
  const tty = !bool(p, 'no-TTY') && ctx.io.stdin.isTTY === true;
  const result = await relayStream(
    ctx,
    containerStream(ctx, 'exec'),
    {
      input: {
        $case: 'exec',
        value: {
          container: container.id,
          cmd,
          env: envEntries(ctx, list(p, 'env')),
          workingDir: str(p, 'workdir'),
          user: str(p, 'user'),
          tty,
          stdin,
          detach,
          privileged: bool(p, 'privileged'),
        },
      },
    },
    { stdin, tty },
  );
  if (detach) return 0;
  if (result.exitCode === undefined) throw new StatusError('the exec stream ended without an exit status', 1);
  return result.exitCode;
}

export async function run(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  const [serviceName, ...command] = p.args as [string, ...string[]];
  const project = await loadModel(ctx, p, [serviceName]);
  const service = project.services[serviceName];
  if (!service) throw new StatusError(`no such service: ${serviceName}`, 1);
  const s = composeSession(ctx);
  const builder = buildSupport(ctx);
  const pull = str(p, 'pull');
  const pullPolicy = pull && pull !== 'policy' ? (pull as 'always' | 'missing' | 'never' | 'build') : undefined;
  const deps = Object.keys(service.depends_on ?? {}).filter((d) => project.services[d]);
  if (!bool(p, 'no-deps') && deps.length > 0) {
    await upProject(s, project, { services: deps, builder, pull: pullPolicy, quietPull: bool(p, 'quiet-pull'), removeOrphans: bool(p, 'remove-orphans') });
  }
  const current = byService(await projectContainers(s.engine, project.name, { oneoff: false }));
  if (!bool(p, 'no-deps')) {
    for (const [dep, config] of Object.entries(service.depends_on ?? {})) await waitForDependency(s, dep, config, current.get(dep) ?? []);
  }
  await ensureNetworks(s, project, usedNetworks(project, [serviceName]));
  await ensureVolumes(s, project, usedVolumes(project, [serviceName]));
  const imageIds = await ensureImages(s, project, [serviceName], { builder, build: bool(p, 'build') ? 'always' : undefined, pull: pullPolicy, quietPull: bool(p, 'quiet-pull') });
  const slug = randomBytes(32).toString('hex');
  const name = str(p, 'name') || `${project.name}-${serviceName}-run-${slug.slice(0, 12)}`;
  const detach = bool(p, 'detach');
  const interactive = bool(p, 'interactive') && !detach;
  const tty = !bool(p, 'no-TTY') && ctx.io.stdin.isTTY === true;
  const container = await createContainer(s, {
    project,
    serviceName,
    service,
    number: 1,
    name,
    image: imageName(project, serviceName, service),
    imageId: imageIds.get(serviceName),
    configHash: serviceConfigHash(service),
    oneoff: { slug },
    containerOf: (svc) => {
      const c = current.get(svc)?.find((x) => x.state === 'running') ?? current.get(svc)?.[0];
      if (!c) throw new StatusError(`service "${svc}" has no container`, 1);
      return c.name;
    },
    serviceAliases: bool(p, 'use-aliases'),
    publishPorts: bool(p, 'service-ports'),
    onWarning: (w) => s.warn(`service "${serviceName}": ${w}`),
    adjust: ({ spec }) => {
      if (command.length > 0) spec.cmd = command;
      if (p.changed.has('entrypoint')) spec.entrypoint = { args: str(p, 'entrypoint') === '' ? [] : [str(p, 'entrypoint')] };
      spec.env.push(...envEntries(ctx, list(p, 'env')));
      if (str(p, 'user')) spec.user = str(p, 'user');
      if (str(p, 'workdir')) spec.workingDir = str(p, 'workdir');
      Object.assign(spec.labels, keyValueMap(list(p, 'label')));
      spec.publish.push(...list(p, 'publish'));
      spec.binds.push(...list(p, 'volume'));
      spec.tty = tty;
      spec.consoleSize = tty ? terminalSize(ctx) : undefined;
      spec.openStdin = interactive;
      spec.stdinOnce = interactive;
      spec.autoRemove = bool(p, 'rm');
      // A one-off container is not restarted (compose v2 run).
      spec.restartPolicy = { name: 'no', maximumRetryCount: 0 };
    },
  });
  const c = unaryClient(ctx, ContainersMethods);
  if (detach) {
    await s.engine.startContainer(container.id);
    ctx.io.stdout.write(`${container.name}\n`);
    return 0;
  }
  const result = await relayStream(
    ctx,
    containerStream(ctx, 'attach'),
    { input: { $case: 'attach', value: { container: container.id, stdin: interactive, logs: false, stream: true, start: true, create: undefined } } },
    { stdin: interactive, tty, onSignal: tty ? undefined : (signal) => void c.kill({ id: container.id, signal }).catch(() => undefined) },
  );
  if (result.exitCode === undefined) throw new StatusError(`the output stream of container ${container.name} ended without an exit status`, 1);
  return result.exitCode;
}
