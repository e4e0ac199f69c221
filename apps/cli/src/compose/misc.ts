import { down as downProject, Label, projectFilter } from '@berth/compose-controller';
import { unary, ContainersClient } from '@berth/proto';
import { StatusError } from '../cli-errors.js';
import { client } from '../clients.js';
import type { CommandContext } from '../context.js';
import type { ParsedArgs } from '../flags.js';
import { tabwrite } from '../tabwriter.js';
import { berthVersion } from '../version.js';
import { composeSession, projectTarget } from './session.js';
import { serviceContainer, serviceContainers } from './targets.js';

/** `compose top`, `port`, `wait`, `events` and `version`. */

export async function top(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  const target = await projectTarget(ctx, p);
  const s = composeSession(ctx);
  const containers = (await serviceContainers(s, target, p.args)).filter((c) => c.state === 'running').sort((a, b) => a.name.localeCompare(b.name));
  const c = client(ctx, ContainersClient);
  const blocks: string[] = [];
  for (const container of containers) {
    const res = await unary(c, c.top, { id: container.id, psArgs: '' });
    const lines = [res.titles.join('\t'), ...res.processes.map((row) => row.columns.join('\t'))];
    blocks.push(`${container.name}\n${tabwrite(`${lines.join('\n')}\n`, { minWidth: 0, padding: 3 })}`);
  }
  ctx.io.stdout.write(blocks.join('\n'));
  return 0;
}

export async function port(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  const [service, privatePort] = p.args as [string, string];
  const target = await projectTarget(ctx, p);
  const s = composeSession(ctx);
  const container = await serviceContainer(ctx, s, target, service, p.values['index'] as number);
  const protocol = (p.values['protocol'] as string) || 'tcp';
  const found = container.summary.ports.find((x) => String(x.privatePort) === privatePort && x.type === protocol && x.publicPort);
  if (!found) throw new StatusError(`no port ${privatePort}/${protocol} for container ${container.name}: port is not published`, 1);
  ctx.io.stdout.write(`${found.ip || '0.0.0.0'}:${found.publicPort}\n`);
  return 0;
}

/** Blocks until the first container of the services stops; exits with its status. */
export async function wait(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  const target = await projectTarget(ctx, p);
  const s = composeSession(ctx);
  const containers = await serviceContainers(s, target, p.args);
  if (containers.length === 0) throw new StatusError(`no containers for services ${p.args.join(', ')}`, 1);
  const controller = new AbortController();
  const code = await Promise.race(containers.map((c) => s.engine.waitContainer(c.id, { signal: controller.signal })));
  controller.abort();
  if (p.values['down-project']) await downProject({ ...s, progress: () => undefined }, target.name, target.model, {});
  ctx.io.stdout.write(`${code}\n`);
  return code;
}

/** compose v2's event line: `2024-05-01 10:00:00.123456 container start <id> (image=…, name=…)`. */
export async function events(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  const target = await projectTarget(ctx, p);
  const s = composeSession(ctx);
  const controller = new AbortController();
  const stop = () => controller.abort();
  ctx.io.signals?.once('SIGINT', stop);
  ctx.cleanup.push(() => ctx.io.signals?.off('SIGINT', stop));
  const json = p.values['json'] as boolean;
  for await (const e of s.engine.events({ filters: [{ key: 'label', value: projectFilter(target.name) }], signal: controller.signal })) {
    const attributes = { ...(e.actor?.attributes ?? {}) };
    const service = attributes[Label.service] ?? '';
    if (p.args.length > 0 && !p.args.includes(service)) continue;
    for (const key of Object.keys(attributes)) if (key.startsWith('com.docker.compose.')) delete attributes[key];
    const nanos = BigInt(e.timeNano || `${e.time}000000000`);
    const time = new Date(Number(nanos / 1_000_000n));
    if (json) {
      ctx.io.stdout.write(`${JSON.stringify({ time: time.toISOString(), type: e.type, action: e.action, id: e.actor?.id ?? '', service, attributes })}\n`);
      continue;
    }
    const micros = String(nanos % 1_000_000_000n).padStart(9, '0').slice(0, 6);
    const stamp = `${time.toISOString().slice(0, 10)} ${time.toISOString().slice(11, 19)}.${micros}`;
    const attrs = Object.keys(attributes)
      .sort()
      .map((k) => `${k}=${attributes[k]}`)
      .join(', ');
    ctx.io.stdout.write(`${stamp} ${e.type} ${e.action} ${e.actor?.id ?? ''}${attrs ? ` (${attrs})` : ''}\n`);
  }
  return 0;
}

export async function version(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  const v = berthVersion();
  const format = (p.values['format'] as string) || 'pretty';
  if (p.values['short']) ctx.io.stdout.write(`${v}\n`);
  else if (format === 'json') ctx.io.stdout.write(`${JSON.stringify({ version: `v${v}` })}\n`);
  else if (format === 'pretty') ctx.io.stdout.write(`Berth Compose version v${v}\n`);
  else throw new StatusError(`format value "${format}" could not be parsed: use pretty or json`, 1);
  return 0;
}
