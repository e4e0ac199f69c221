import { type InfoResponse, RegistryMethods, SystemMethods } from '@berth/proto';
import { isBerthError } from '@berth/errors';
import { berthVersion } from '../version.js';
import { daemonMessage, StatusError } from '../cli-errors.js';
import { unaryClient } from '../unary-clients.js';
import type { CommandContext } from '../context.js';
import type { ParsedArgs } from '../flags.js';
import { str } from '../flag-values.js';
import { dfDefaultTable, dfHeader, dfRow } from '../row-contexts.js';
import { compileFormat as template, executeFormat as execute, renderListing, resolveFormat } from '../table-format.js';
import { errOut, out } from './shared.js';

/** system df, info, version and events. */


const apiVersion = 'berth.v1';

export async function df(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  const c = unaryClient(ctx, SystemMethods);
  if (p.values.verbose === true && !str(p, 'format')) {
    const { renderVerboseDf } = await import('../df-verbose.js');
    out(ctx, renderVerboseDf(await c.df({ verbose: true })));
    return 0;
  }
  const res = await c.df({});
  const source = resolveFormat({ format: str(p, 'format'), defaultTable: dfDefaultTable });
  out(ctx, renderListing(source, res.rows.map(dfRow), dfHeader));
  return 0;
}

/**
 * Where the platform registry listens (`127.0.0.1:5000`), asked of the registry itself through the
 * gateway; undefined when no registry answers within 2 s (then `info` has no Registry line).
 */
async function platformRegistry(ctx: CommandContext): Promise<string | undefined> {
  const c = unaryClient(ctx, RegistryMethods);
  try {
    return (await c.info({}, { deadline: Date.now() + 2000 })).address || undefined;
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
  const c = unaryClient(ctx, SystemMethods);
  const format = str(p, 'format');
  if (format) {
    const wantsRegistry = format === 'json' || format.includes('PlatformRegistry');
    const [res, registry] = await Promise.all([c.info({}), wantsRegistry ? platformRegistry(ctx) : undefined]);
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
    res = await c.info({});
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
  const c = unaryClient(ctx, SystemMethods);
  const format = str(p, 'format');
  let server: InfoResponse | undefined;
  let failure: unknown;
  try {
    server = await c.info({});
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
