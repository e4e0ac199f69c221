import { arch, cpus, totalmem, type } from 'node:os';
import type { FastifyInstance } from 'fastify';
import { serverStream, unary, type DfResponse, type Event, type EventFilter } from '@berth/proto';
import { MAX_API_VERSION, MIN_API_VERSION } from './api-version.js';
import { filters, str, type Query } from './query.js';
import type { DockerApiContext } from './context.js';
import { streamReply } from './stream-reply.js';

const goArch = (a: string) => ({ x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386' })[a] ?? a;

/** System: `/_ping`, `/version`, `/info`, `/events`, `/system/df`, `/auth`. */
export function registerSystemRoutes(app: FastifyInstance, ctx: DockerApiContext): void {
  const { system, events } = ctx.clients;
  const ping = (_req: unknown, reply: import('fastify').FastifyReply) =>
    reply.header('Builder-Version', '1').header('Cache-Control', 'no-cache, no-store, must-revalidate').header('Pragma', 'no-cache').type('text/plain; charset=utf-8').send('OK');
  app.get('/_ping', ping);
  app.head('/_ping', ping);

  app.get('/version', async () => {
    const info = await unary(system, system.info, {});
    const engine = {
      Version: info.version,
      ApiVersion: MAX_API_VERSION,
      MinAPIVersion: MIN_API_VERSION,
      GitCommit: '',
      GoVersion: '',
      Os: 'linux',
      Arch: goArch(arch()),
      KernelVersion: info.kernelVersion,
      BuildTime: '',
    };
    return {
      Platform: { Name: 'Berth' },
      Components: [
        { Name: 'Engine', Version: info.version, Details: { ApiVersion: MAX_API_VERSION, MinAPIVersion: MIN_API_VERSION, Os: 'linux', Arch: engine.Arch, KernelVersion: info.kernelVersion } },
        { Name: info.runtime, Version: '', Details: {} },
      ],
      ...engine,
    };
  });

  app.get('/info', async () => {
    const info = await unary(system, system.info, {});
    return {
      ID: info.hostId,
      Containers: Number(info.containers),
      ContainersRunning: Number(info.containersRunning),
      ContainersPaused: Number(info.containersPaused),
      ContainersStopped: Number(info.containersStopped),
      Images: Number(info.images),
      Driver: 'overlay2',
      DriverStatus: [],
      Plugins: { Volume: ['local'], Network: ['bridge', 'host', 'null'], Authorization: null, Log: ['json-file', 'local', 'none'] },
      MemoryLimit: true,
      SwapLimit: true,
      CpuCfsPeriod: true,
      CpuCfsQuota: true,
      CPUShares: true,
      CPUSet: true,
      PidsLimit: true,
      IPv4Forwarding: true,
      Debug: false,
      NFd: 0,
      NGoroutines: 0,
      SystemTime: new Date().toISOString(),
      LoggingDriver: 'json-file',
      CgroupDriver: 'cgroupfs',
      CgroupVersion: info.cgroupVersion,
      NEventsListener: 0,
      KernelVersion: info.kernelVersion,
      OperatingSystem: `Berth ${info.version}`,
      OSVersion: '',
      OSType: 'linux',
      Architecture: arch() === 'x64' ? 'x86_64' : arch(),
      IndexServerAddress: 'https://index.docker.io/v1/',
      RegistryConfig: {
        InsecureRegistryCIDRs: ['127.0.0.0/8', '::1/128'],
        IndexConfigs: {
          'docker.io': { Name: 'docker.io', Mirrors: [], Secure: true, Official: true },
          ...(ctx.platformRegistry ? { [ctx.platformRegistry]: { Name: ctx.platformRegistry, Mirrors: [], Secure: false, Official: false } } : {}),
        },
        Mirrors: [],
      },
      NCPU: cpus().length,
      MemTotal: totalmem(),
      DockerRootDir: info.dataRoot,
      Name: info.hostname,
      Labels: [],
      ExperimentalBuild: false,
      ServerVersion: info.version,
      Runtimes: { [info.runtime]: { path: info.runtime } },
      DefaultRuntime: info.runtime,
      Swarm: { NodeID: '', NodeAddr: '', LocalNodeState: 'inactive', ControlAvailable: false, Error: '', RemoteManagers: null },
      LiveRestoreEnabled: true,
      Isolation: '',
      InitBinary: 'docker-init',
      SecurityOptions: ['name=seccomp,profile=builtin', 'name=no-new-privileges', `name=cgroupns`],
      Warnings: info.warnings,
      KernelMemoryTCP: false,
      Kernel: type(),
    };
  });

  app.get('/events', async (request, reply) => {
    const q = request.query as Query;
    const eventFilters: EventFilter[] = filters(q).map((f) => ({ key: f.key, value: f.value }));
    const call = events.subscribe({ since: str(q, 'since'), until: str(q, 'until'), filters: eventFilters });
    const out = streamReply(reply, 'application/json');
    out.signal.addEventListener('abort', () => call.cancel());
    try {
      for await (const e of serverStream<Event>(call)) await out.write(`${JSON.stringify(dockerEvent(e))}\n`);
    } catch {
      // the client went away (cancelled) or the stream failed after the headers: nothing left to tell
    }
    out.end();
  });

  app.get('/system/df', async () => dockerDf(await unary(system, system.df, { verbose: true })));
  app.post('/auth', async () => ({ Status: 'Login Succeeded', IdentityToken: '' }));
}

/** An event as docker's API sends it, with the legacy `status`/`id`/`from` of container events. */
export function dockerEvent(e: Event): Record<string, unknown> {
  const attributes = e.actor?.attributes ?? {};
  const id = e.actor?.id ?? '';
  const legacy = e.type === 'container' ? { status: e.action, id, from: attributes.image ?? '' } : e.type === 'image' ? { status: e.action, id } : {};
  return { ...legacy, Type: e.type, Action: e.action, Actor: { ID: id, Attributes: attributes }, scope: e.scope || 'local', time: Number(e.time), timeNano: Number(e.timeNano) };
}

function dockerDf(df: DfResponse): Record<string, unknown> {
  return {
    LayersSize: Number(df.rows.find((r) => r.type === 'Images')?.size ?? 0),
    Images: df.images.map((i) => ({
      Id: i.id,
      ParentId: '',
      RepoTags: i.repoTags,
      RepoDigests: [],
      Created: Number(i.created),
      Size: Number(i.size),
      SharedSize: Number(i.sharedSize),
      VirtualSize: Number(i.size),
      Labels: {},
      Containers: Number(i.containers),
    })),
    Containers: df.containers.map((c) => ({
      Id: c.id,
      Names: c.names.map((n) => (n.startsWith('/') ? n : `/${n}`)),
      Image: c.image,
      ImageID: '',
      Command: c.command,
      Created: Number(c.created),
      SizeRw: Number(c.sizeRw),
      SizeRootFs: 0,
      Labels: {},
      State: c.status.startsWith('Up') ? 'running' : c.status.startsWith('Created') ? 'created' : 'exited',
      Status: c.status,
      Mounts: [],
    })),
    Volumes: df.volumes.map((v) => ({
      Name: v.name,
      Driver: 'local',
      Mountpoint: '',
      Labels: {},
      Scope: 'local',
      Options: {},
      UsageData: { Size: Number(v.size), RefCount: Number(v.links) },
    })),
    BuildCache: df.buildCache.map((b) => ({
      ID: b.id,
      Parents: [],
      Type: b.type,
      Description: '',
      InUse: b.inUse,
      Shared: b.shared,
      Size: Number(b.size),
      CreatedAt: new Date(Number(b.createdAt) * 1000).toISOString(),
      LastUsedAt: b.lastUsedAt ? new Date(Number(b.lastUsedAt) * 1000).toISOString() : null,
      UsageCount: Number(b.usageCount),
    })),
  };
}
