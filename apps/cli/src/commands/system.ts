import { serverStream, unary, type Event, type InfoResponse, EventsClient, RegistryClient, SystemClient } from '@berth/proto';
import { isBerthError } from '@berth/errors';
import { berthVersion } from '../version.js';
import { daemonMessage, StatusError } from '../cli-errors.js';
import { client } from '../clients.js';
import type { CommandContext } from '../context.js';
import type { ParsedArgs } from '../flags.js';
import { str, list } from '../flag-values.js';
import { dfDefaultTable, dfHeader, dfRow } from '../row-contexts.js';
import { compileFormat as template, executeFormat as execute, renderListing, resolveFormat } from '../table-format.js';
import { timeFlag } from '../time-flags.js';
import { rfc3339NanoFixed } from '../units.js';
import { errOut, out } from './shared.js';

/** system df, info, version and events. */


const apiVersion = 'berth.v1';

export async function df(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  const c = client(ctx, SystemClient);
  if (p.values.verbose === true && !str(p, 'format')) {
    const { renderVerboseDf } = await import('../df-verbose.js');
    out(ctx, renderVerboseDf(await unary(c, c.df, { verbose: true })));
    return 0;
  }
  const res = await unary(c, c.df, {});
  const source = resolveFormat({ format: str(p, 'format'), defaultTable: dfDefaultTable });
  out(ctx, renderListing(source, res.rows.map(dfRow), dfHeader));
  return 0;
}

/**
 * Where the platform registry listens (`127.0.0.1:5000`), asked of the registry itself through the
 * gateway; undefined when no registry answers within 2 s (then `info` has no Registry line).
 */
async function platformRegistry(ctx: CommandContext): Promise<string | undefined> {
  const c = client(ctx, RegistryClient);
  try {
    return (await unary(c, c.info, {}, { deadline: Date.now() + 2000 })).address || undefined;
  } catch {
    return undefined; // no registry running (or an older one without Info): nothing to print
  }
}

/** The Info answer under the field names of docker's system.Info, for --format. */
function infoObject(info: InfoResponse, registry?: string): Record<string, unknown> {
  return {
    ID: info.hostId,
    Name: info.hostname,
    ServerVersion: info.version,
    Containers: info.containers,
    ContainersRunning: info.containersRunning,
    ContainersPaused: info.containersPaused,
    ContainersStopped: info.containersStopped,
    Images: info.images,
    Driver: 'overlayfs',
    DefaultRuntime: info.runtime,
    KernelVersion: info.kernelVersion,
    CgroupVersion: info.cgroupVersion,
    DockerRootDir: info.dataRoot,
    PlatformRegistry: registry ?? '',
    Warnings: info.warnings,
  };
}

export async function info(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  const c = client(ctx, SystemClient);
  const format = str(p, 'format');
  if (format) {
    const wantsRegistry = format === 'json' || format.includes('PlatformRegistry');
    const [res, registry] = await Promise.all([unary(c, c.info, {}), wantsRegistry ? platformRegistry(ctx) : undefined]);
    out(ctx, `${execute(template(format === 'json' ? '{{json .}}' : format), infoObject(res, registry))}\n`);
    return 0;
  }
  out(ctx, `Client:
 Version:    ${berthVersion()}
 Context:    ${ctx.contextName ?? 'default'}

`);
  const registry = platformRegistry(ctx);
  let res: InfoResponse;
  try {
    res = await unary(c, c.info, {});
  } catch (err) {
    if (!isBerthError(err)) throw err;
    out(ctx, 'Server:\n');
    throw new StatusError(`ERROR: ${daemonMessage(err, ctx.host)}\nerrors pretty printing info`, 1);
  }
  const address = await registry;
  out(
    ctx,
    [
      'Server:',
      ` Containers: ${res.containers}`,
      `  Running: ${res.containersRunning}`,
      `  Paused: ${res.containersPaused}`,
      `  Stopped: ${res.containersStopped}`,
      ` Images: ${res.images}`,
      ` Server Version: ${res.version}`,
      ' Storage Driver: overlayfs',
      ` Cgroup Version: ${res.cgroupVersion}`,
      ` Runtimes: ${res.runtime}`,
      ` Default Runtime: ${res.runtime}`,
      ` Kernel Version: ${res.kernelVersion}`,
      ` Name: ${res.hostname}`,
      ` ID: ${res.hostId}`,
      ` Berth Root Dir: ${res.dataRoot}`,
      ...(address !== undefined ? [` Registry: ${address}`] : []),
      '',
    ].join('\n'),
  );
  for (const warning of res.warnings) errOut(ctx, `WARNING: ${warning}\n`);
  return 0;
}

function goArch(): string {
  return ({ x64: 'amd64', ia32: '386', arm64: 'arm64', arm: 'arm' } as Record<string, string>)[process.arch] ?? process.arch;
}

export async function version(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  const clientInfo = { Version: berthVersion(), ApiVersion: apiVersion, NodeVersion: process.version, Os: process.platform, Arch: goArch() };
  const c = client(ctx, SystemClient);
  const format = str(p, 'format');
  let server: InfoResponse | undefined;
  let failure: unknown;
  try {
    server = await unary(c, c.info, {});
  } catch (err) {
    if (!isBerthError(err)) throw err;
    failure = err;
  }
  if (format) {
    const serverInfo = server && { Version: server.version, ApiVersion: apiVersion, KernelVersion: server.kernelVersion, Runtime: server.runtime, Hostname: server.hostname };
    out(ctx, `${execute(template(format === 'json' ? '{{json .}}' : format), { Client: clientInfo, Server: serverInfo ?? null })}\n`);
  } else {
    out(
      ctx,
      [
        'Client:',
        ` Version:           ${clientInfo.Version}`,
        ` API version:       ${clientInfo.ApiVersion}`,
        ` Node version:      ${clientInfo.NodeVersion}`,
        ` OS/Arch:           ${clientInfo.Os}/${clientInfo.Arch}`,
        '',
      ].join('\n'),
    );
    if (server) {
      out(
        ctx,
        [
          '',
          'Server:',
          ' Berth:',
          `  Version:          ${server.version}`,
          `  API version:      ${apiVersion}`,
          `  Kernel Version:   ${server.kernelVersion}`,
          `  Host:             ${server.hostname}`,
          ` ${server.runtime}:`,
          `  Cgroup Version:   ${server.cgroupVersion}`,
          '',
        ].join('\n'),
      );
    }
  }
  if (failure) throw new StatusError(daemonMessage(failure, ctx.host), 1);
  return 0;
}

/** An event under docker's field names (events.Message), for --format; `{{json .}}` gives docker's JSON. */
class EventMessage {
  readonly Status: string;
  readonly ID: string;
  readonly From: string;
  readonly Type: string;
  readonly Action: string;
  readonly Actor: { ID: string; Attributes: Record<string, string> };
  readonly Scope: string;
  readonly Time: number;
  readonly TimeNano: number;

  constructor(event: Event) {
    const attributes = event.actor?.attributes ?? {};
    this.Type = event.type;
    this.Action = event.action;
    this.Actor = { ID: event.actor?.id ?? '', Attributes: attributes };
    this.Scope = event.scope || 'local';
    this.Time = event.time;
    this.TimeNano = Number(event.timeNano || 0);
    // docker's deprecated fields, still filled for containers and images
    const legacy = event.type === 'container' || event.type === 'image';
    this.Status = legacy ? event.action : '';
    this.ID = legacy ? this.Actor.ID : '';
    this.From = event.type === 'container' ? (attributes.image ?? '') : '';
  }

  toJSON(): Record<string, unknown> {
    return {
      ...(this.Status ? { status: this.Status, id: this.ID, from: this.From } : {}),
      Type: this.Type,
      Action: this.Action,
      Actor: this.Actor,
      scope: this.Scope,
      time: this.Time,
      timeNano: this.TimeNano,
    };
  }
}

/** docker's event line: `<time> container start <id> (image=busybox, name=web)`. */
export function formatEvent(event: Event): string {
  const nanos = event.timeNano || String(BigInt(event.time) * 1_000_000_000n);
  let line = `${rfc3339NanoFixed(nanos)} ${event.type} ${event.action} ${event.actor?.id ?? ''}`;
  const attributes = event.actor?.attributes ?? {};
  const keys = Object.keys(attributes).sort();
  if (keys.length > 0) line += ` (${keys.map((k) => `${k}=${attributes[k]}`).join(', ')})`;
  return `${line}\n`;
}

export async function events(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  const c = client(ctx, EventsClient);
  const format = str(p, 'format');
  const t = format ? template(format === 'json' ? '{{json .}}' : format) : undefined;
  const filters = list(p, 'filter').map((f) => {
    const eq = f.indexOf('=');
    return { key: f.slice(0, eq), value: f.slice(eq + 1) };
  });
  const call = c.subscribe({ since: timeFlag(str(p, 'since')), until: timeFlag(str(p, 'until')), filters });
  ctx.cleanup.push(() => call.cancel());
  for await (const event of serverStream(call)) {
    out(ctx, t ? `${execute(t, new EventMessage(event))}\n` : formatEvent(event));
  }
  return 0;
}
