import * as grpc from '@grpc/grpc-js';
import { FailedPreconditionError, NotFoundError } from '@berth/errors';
import { parseReference } from '@berth/oci';
import {
  addPlacementHints,
  BuilderClient,
  channelOptions,
  ComposeClient,
  ContainersClient,
  EventsClient,
  fromServiceError,
  grpcTarget,
  ImagesClient,
  NetworksClient,
  NodesClient,
  serverStream,
  unary,
  VolumesClient,
  writeMessage,
  type BuildInput,
  type BuildOptions,
  type ContainerSpec,
  type CreateNetworkRequest,
  type CreateVolumeRequest,
  type Filter,
  type PlacementHints,
  type ProjectDeclaration,
  type RegistryAuth,
  type TransferProgress,
} from '@berth/proto';
import { DockerConfig } from '@berth/registry-client';
import type { ContainerDetails, ContainerListOptions, Declaration, Engine, HealthAnswer, ImageDetails } from './engine.js';

const chunkSize = 256 * 1024;

const labelFilters = (labels: string[] = []): Filter[] => labels.map((value) => ({ key: 'label', value }));
const nameFilters = (names: string[] = []): Filter[] => names.map((value) => ({ key: 'name', value }));

/**
 * The Engine over the gateway's gRPC API (the address the CLI uses: `BERTH_HOST`, `-H`). Registry
 * credentials come from the client's Docker config file, as with `berth pull`.
 */
export class GatewayEngine implements Engine {
  private readonly containers: ContainersClient;
  private readonly networks: NetworksClient;
  private readonly volumes: VolumesClient;
  private readonly images: ImagesClient;
  private readonly builder: BuilderClient;
  private readonly eventsClient: EventsClient;
  private readonly compose: ComposeClient;
  private readonly nodes: NodesClient;
  private readonly dockerConfig: DockerConfig;

  /** `credentials`: the client's TLS ones for a TCP gateway (the CLI's `--tlsverify`); default: none (a unix socket). */
  constructor(address: string, options: { env?: NodeJS.ProcessEnv; credentials?: grpc.ChannelCredentials } = {}) {
    const target = grpcTarget(address);
    const credentials = options.credentials ?? grpc.credentials.createInsecure();
    this.containers = new ContainersClient(target, credentials, channelOptions);
    // One channel for all services: grpc-js shares subchannels between clients of one target.
    this.networks = new NetworksClient(target, credentials, channelOptions);
    this.volumes = new VolumesClient(target, credentials, channelOptions);
    this.images = new ImagesClient(target, credentials, channelOptions);
    this.builder = new BuilderClient(target, credentials, channelOptions);
    this.eventsClient = new EventsClient(target, credentials, channelOptions);
    this.compose = new ComposeClient(target, credentials, channelOptions);
    this.nodes = new NodesClient(target, credentials, channelOptions);
    this.dockerConfig = new DockerConfig(undefined, options.env ?? process.env);
  }

  close(): void {
    for (const c of [this.containers, this.networks, this.volumes, this.images, this.builder, this.eventsClient, this.compose, this.nodes]) c.close();
  }

  // ---- containers ------------------------------------------------------------------------------

  async listContainers(options: ContainerListOptions) {
    const c = this.containers;
    const res = await unary(c, c.list, { all: options.all ?? false, limit: 0, latest: false, filters: labelFilters(options.labels), size: false });
    return res.containers;
  }

  async inspectContainer(id: string): Promise<ContainerDetails> {
    const c = this.containers;
    return JSON.parse((await unary(c, c.inspect, { id })).json) as ContainerDetails;
  }

  async createContainer(spec: ContainerSpec, placement?: PlacementHints): Promise<string> {
    const c = this.containers;
    const metadata = addPlacementHints(new grpc.Metadata(), placement ?? {});
    return (await unary(c, c.create, { spec, start: false }, { metadata })).id;
  }

  async startContainer(id: string): Promise<void> {
    const c = this.containers;
    await unary(c, c.start, { id });
  }

  async stopContainer(id: string, options: { timeout?: number } = {}): Promise<void> {
    const c = this.containers;
    await unary(c, c.stop, { id, timeout: options.timeout, signal: '' });
  }

  async restartContainer(id: string, options: { timeout?: number } = {}): Promise<void> {
    const c = this.containers;
    await unary(c, c.restart, { id, timeout: options.timeout, signal: '' });
  }

  async killContainer(id: string, options: { signal?: string } = {}): Promise<void> {
    const c = this.containers;
    await unary(c, c.kill, { id, signal: options.signal ?? '' });
  }

  async removeContainer(id: string, options: { force?: boolean; volumes?: boolean } = {}): Promise<void> {
    const c = this.containers;
    await unary(c, c.remove, { id, force: options.force ?? false, volumes: options.volumes ?? false });
  }

  async renameContainer(id: string, name: string): Promise<void> {
    const c = this.containers;
    await unary(c, c.rename, { id, name });
  }

  async copyToContainer(id: string, path: string, archive: Buffer, options: { copyUidGid?: boolean } = {}): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      const call = this.containers.copyTo((err) => (err ? reject(fromServiceError(err)) : resolve()));
      call.write({ input: { $case: 'spec', value: { id, path, noOverwriteDirNonDir: true, copyUidGid: options.copyUidGid ?? false } } });
      for (let i = 0; i < archive.length; i += chunkSize) call.write({ input: { $case: 'data', value: archive.subarray(i, i + chunkSize) } });
      call.end();
    });
  }

  async pauseContainer(id: string): Promise<void> {
    const c = this.containers;
    await unary(c, c.pause, { id });
  }

  async unpauseContainer(id: string): Promise<void> {
    const c = this.containers;
    await unary(c, c.unpause, { id });
  }

  waitContainer(id: string, options: { condition?: string; signal?: AbortSignal } = {}): Promise<number> {
    return new Promise((resolve, reject) => {
      const call = this.containers.wait({ id, condition: options.condition ?? '' }, (err, res) => {
        options.signal?.removeEventListener('abort', cancel);
        if (err) reject(fromServiceError(err));
        else resolve(res.statusCode);
      });
      const cancel = () => call.cancel();
      options.signal?.addEventListener('abort', cancel, { once: true });
    });
  }

  waitHealth(id: string, options: { until?: string[]; timeoutMs?: number; signal?: AbortSignal } = {}): Promise<HealthAnswer> {
    return new Promise((resolve, reject) => {
      const call = this.containers.waitHealth({ id, until: options.until ?? [], timeoutMs: options.timeoutMs ?? 0 }, (err, res) => {
        options.signal?.removeEventListener('abort', cancel);
        if (err) reject(fromServiceError(err));
        else resolve({ status: res.status, state: res.state, exitCode: res.exitCode, lastOutput: res.lastOutput });
      });
      const cancel = () => call.cancel();
      options.signal?.addEventListener('abort', cancel, { once: true });
    });
  }

  async connectNetwork(network: string, container: string, options: { aliases?: string[]; ipv4Address?: string } = {}): Promise<void> {
    const c = this.networks;
    await unary(c, c.connect, { network, container, aliases: options.aliases ?? [], ipv4Address: options.ipv4Address ?? '' });
  }

  async disconnectNetwork(network: string, container: string): Promise<void> {
    const c = this.networks;
    await unary(c, c.disconnect, { network, container, force: true });
  }

  // ---- networks and volumes --------------------------------------------------------------------

  async listNetworks(options: { labels?: string[]; names?: string[] }) {
    const c = this.networks;
    return (await unary(c, c.list, { filters: [...labelFilters(options.labels), ...nameFilters(options.names)] })).networks;
  }

  async createNetwork(request: CreateNetworkRequest): Promise<string> {
    const c = this.networks;
    return (await unary(c, c.create, request)).id;
  }

  async removeNetwork(id: string): Promise<void> {
    const c = this.networks;
    await unary(c, c.remove, { id });
  }

  async readyNodes(): Promise<number> {
    const c = this.nodes;
    try {
      return (await unary(c, c.list, {})).nodes.filter((n) => n.status === 'ready').length;
    } catch (err) {
      // A gateway without the Nodes service is one host.
      if ((err as { cause?: { code?: number } }).cause?.code === grpc.status.UNIMPLEMENTED) return 1;
      throw err;
    }
  }

  async listVolumes(options: { labels?: string[]; names?: string[] }) {
    const c = this.volumes;
    return (await unary(c, c.list, { filters: [...labelFilters(options.labels), ...nameFilters(options.names)] })).volumes;
  }

  async createVolume(request: CreateVolumeRequest) {
    const c = this.volumes;
    return unary(c, c.create, request);
  }

  async removeVolume(name: string, options: { force?: boolean } = {}): Promise<void> {
    const c = this.volumes;
    await unary(c, c.remove, { name, force: options.force ?? false });
  }

  // ---- images ----------------------------------------------------------------------------------

  async inspectImage(ref: string): Promise<ImageDetails | undefined> {
    const c = this.images;
    try {
      return JSON.parse((await unary(c, c.inspect, { ref })).json) as ImageDetails;
    } catch (err) {
      if (err instanceof NotFoundError) return undefined;
      throw err;
    }
  }

  private async registryAuth(ref: string): Promise<RegistryAuth | undefined> {
    const credentials = await this.dockerConfig.get(parseReference(ref).domain).catch(() => undefined); // no saved credentials: anonymous
    return credentials ? { username: credentials.username, password: credentials.password } : undefined;
  }

  async pullImage(ref: string, onProgress?: (m: TransferProgress) => void): Promise<TransferProgress | undefined> {
    const call = this.images.pull({ ref, platform: '', allTags: false, registryAuth: await this.registryAuth(ref) });
    let last: TransferProgress | undefined;
    for await (const m of serverStream(call)) {
      onProgress?.(m);
      last = m;
    }
    return last;
  }

  async pushImage(ref: string, onProgress?: (m: TransferProgress) => void): Promise<void> {
    const call = this.images.push({ ref, allTags: false, registryAuth: await this.registryAuth(ref) });
    for await (const m of serverStream(call)) onProgress?.(m);
  }

  async buildImage(options: BuildOptions, context: AsyncIterable<Buffer>, onLine?: (line: string) => void): Promise<string> {
    const call = this.builder.build();
    const sending = (async () => {
      const write = (m: BuildInput) => writeMessage(call, m);
      await write({ input: { $case: 'options', value: options } });
      for await (const chunk of context) {
        for (let i = 0; i < chunk.length; i += chunkSize) await write({ input: { $case: 'context', value: chunk.subarray(i, i + chunkSize) } });
      }
      call.end();
    })();
    sending.catch(() => call.cancel());
    let imageId = '';
    for await (const message of serverStream(call)) {
      if (message.output?.$case === 'line') onLine?.(message.output.value);
      else if (message.output?.$case === 'imageId') imageId = message.output.value;
    }
    await sending;
    return imageId;
  }

  async removeImage(ref: string, options: { force?: boolean } = {}) {
    const c = this.images;
    return (await unary(c, c.remove, { ref, force: options.force ?? false, noPrune: false })).items;
  }

  // ---- events ----------------------------------------------------------------------------------

  async *events(options: { filters?: Array<{ key: string; value: string }>; since?: string; signal?: AbortSignal }) {
    const call = this.eventsClient.subscribe({ since: options.since ?? '', until: '', filters: options.filters ?? [] });
    const cancel = () => call.cancel();
    options.signal?.addEventListener('abort', cancel, { once: true });
    try {
      for await (const event of serverStream(call)) yield event;
    } catch (err) {
      if (options.signal?.aborted) return;
      throw err;
    } finally {
      options.signal?.removeEventListener('abort', cancel);
      call.cancel();
    }
  }

  // ---- declarations ----------------------------------------------------------------------------

  async putDeclaration(d: Omit<Declaration, 'revision' | 'updatedAt'>, options: { expectedRevision?: number } = {}): Promise<Declaration> {
    const c = this.compose;
    const res = await unary(c, c.putProject, { declaration: { ...d, revision: 0, updatedAt: '' }, expectedRevision: options.expectedRevision }).catch(unimplemented);
    return declarationOf(res);
  }

  async getDeclaration(name: string): Promise<Declaration | undefined> {
    const c = this.compose;
    try {
      return declarationOf(await unary(c, c.getProject, { name }).catch(unimplemented));
    } catch (err) {
      if (err instanceof NotFoundError) return undefined;
      throw err;
    }
  }

  async listDeclarations(): Promise<Declaration[]> {
    const c = this.compose;
    return (await unary(c, c.listProjects, {}).catch(unimplemented)).projects.map(declarationOf);
  }

  async deleteDeclaration(name: string): Promise<void> {
    const c = this.compose;
    await unary(c, c.deleteProject, { name }).catch(unimplemented);
  }

  async *watchDeclarations(signal?: AbortSignal) {
    const call = this.compose.watchProjects({});
    const cancel = () => call.cancel();
    signal?.addEventListener('abort', cancel, { once: true });
    try {
      for await (const change of serverStream(call)) {
        yield { operation: change.operation === 'put' ? ('put' as const) : ('delete' as const), name: change.name, declaration: change.declaration ? declarationOf(change.declaration) : undefined };
      }
    } catch (err) {
      if (signal?.aborted) return;
      throw err;
    } finally {
      signal?.removeEventListener('abort', cancel);
      call.cancel();
    }
  }
}

/** A gateway older than the Compose service answers UNIMPLEMENTED: say what to do about it. */
function unimplemented(err: unknown): never {
  const cause = (err as { cause?: { code?: number } }).cause;
  if (cause?.code === grpc.status.UNIMPLEMENTED) {
    throw new FailedPreconditionError('the platform does not keep Compose declarations (its gateway predates them): restart it with `berth platform down && berth platform up`', {
      cause: err,
      code: 'COMPOSE_DECLARATIONS_UNAVAILABLE',
    });
  }
  throw err;
}

function declarationOf(d: ProjectDeclaration): Declaration {
  const state = d.state === 'stopped' || d.state === 'updating' ? d.state : 'running';
  return { name: d.name, modelJson: d.modelJson, state, revision: d.revision, updatedAt: d.updatedAt, updatedBy: d.updatedBy };
}
