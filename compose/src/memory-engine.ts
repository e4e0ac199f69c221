import { randomBytes } from 'node:crypto';
import { AlreadyExistsError, ConflictError, NotFoundError } from '@berth/errors';
import type { ContainerSpec, ContainerSummary, CreateNetworkRequest, CreateVolumeRequest, NetworkSummary, PlacementHints, Volume } from '@berth/proto';
import type { ContainerDetails, ContainerListOptions, Declaration, Engine, HealthAnswer, ImageDetails } from './engine.js';

/**
 * An Engine in memory, for the controller's unit tests: containers, networks, volumes and images
 * as records, every call appended to `calls` (`create p-web-1`, `start p-web-1`, …) so a test can
 * assert what `up` did and in which order. `behaviour` decides what a started container does:
 * keep running (with a health status), or exit with a code. The real engine is GatewayEngine.
 */

interface MemoryContainer {
  id: string;
  name: string;
  spec: ContainerSpec;
  state: 'created' | 'running' | 'exited' | 'paused';
  exitCode: number;
  health?: string;
  created: number;
  networks: string[];
  mounts: Array<{ Type: string; Name?: string; Source?: string; Destination: string }>;
  /** Tars extracted into it (copyToContainer), by directory. */
  copied: Array<{ path: string; archive: Buffer; copyUidGid: boolean }>;
  waiters: Array<(code: number) => void>;
  /** The placement hints it was created with (deploy.placement). */
  placement?: PlacementHints;
}

export interface Behaviour {
  /** Exit right after start with this code (a one-shot job). */
  exitCode?: number;
  /** The health status inspect reports once running (none: no healthcheck). */
  health?: 'healthy' | 'unhealthy' | 'starting';
}

export class MemoryEngine implements Engine {
  readonly calls: string[] = [];
  readonly containers = new Map<string, MemoryContainer>();
  readonly networks = new Map<string, NetworkSummary>();
  readonly volumes = new Map<string, Volume>();
  readonly images = new Map<string, string>([['busybox', 'sha256:busybox1']]);
  readonly declarations = new Map<string, Declaration>();
  private revision = 0;
  behaviour: (name: string, spec: ContainerSpec) => Behaviour = () => ({});
  private clock = 1_000;

  private find(ref: string): MemoryContainer {
    const c = this.containers.get(ref) ?? [...this.containers.values()].find((x) => x.name === ref || x.id.startsWith(ref));
    if (!c) throw new NotFoundError(`No such container: ${ref}`);
    return c;
  }

  close(): void {}

  async listContainers(o: ContainerListOptions): Promise<ContainerSummary[]> {
    return [...this.containers.values()]
      .filter((c) => o.all || c.state === 'running' || c.state === 'paused')
      .filter((c) => (o.labels ?? []).every((l) => matchLabel(c.spec.labels, l)))
      .map((c) => ({
        id: c.id,
        names: [`/${c.name}`],
        image: c.spec.image,
        imageId: this.images.get(c.spec.image) ?? '',
        command: c.spec.cmd.join(' '),
        created: c.created,
        state: c.state,
        status: c.state === 'running' ? 'Up 1 second' : c.state === 'exited' ? `Exited (${c.exitCode}) 1 second ago` : 'Created',
        labels: c.spec.labels,
        sizeRw: 0,
        sizeRootFs: 0,
        reservedMemory: 0,
        reservedNanoCpus: 0,
        mounts: [],
        ports: [],
        networks: c.networks,
      }));
  }

  async inspectContainer(id: string): Promise<ContainerDetails> {
    const c = this.find(id);
    return {
      Id: c.id,
      Name: `/${c.name}`,
      Created: new Date(c.created * 1000).toISOString(),
      Image: this.images.get(c.spec.image) ?? '',
      State: {
        Status: c.state,
        Running: c.state === 'running' || c.state === 'paused',
        Paused: c.state === 'paused',
        Restarting: false,
        ExitCode: c.exitCode,
        ...(c.health && c.state === 'running' ? { Health: { Status: c.health } } : {}),
      },
      Config: { Labels: c.spec.labels, Image: c.spec.image },
      Mounts: c.mounts,
    };
  }

  async createContainer(spec: ContainerSpec, placement?: PlacementHints): Promise<string> {
    if ([...this.containers.values()].some((c) => c.name === spec.name)) throw new ConflictError(`Conflict. The container name "/${spec.name}" is already in use`);
    if (!this.images.has(spec.image)) throw new NotFoundError(`No such image: ${spec.image}`);
    const id = randomBytes(32).toString('hex');
    const mounts = spec.mounts
      .filter((m) => m.type === 'volume')
      .map((m) => {
        const name = m.source || randomBytes(32).toString('hex');
        if (!this.volumes.has(name)) this.volumes.set(name, { name, driver: 'local', mountpoint: '', createdAt: '', labels: {}, options: {}, scope: 'local' });
        return { Type: 'volume', Name: name, Destination: m.target };
      });
    this.containers.set(id, { id, name: spec.name, spec, state: 'created', exitCode: 0, created: this.clock++, networks: spec.networkMode ? [spec.networkMode] : [], mounts, copied: [], waiters: [], placement });
    this.calls.push(`create ${spec.name}`);
    return id;
  }

  async startContainer(id: string): Promise<void> {
    const c = this.find(id);
    this.calls.push(`start ${c.name}`);
    const b = this.behaviour(c.name, c.spec);
    c.state = 'running';
    c.health = b.health;
    if (b.exitCode !== undefined) this.exit(c, b.exitCode);
  }

  private exit(c: MemoryContainer, code: number): void {
    c.state = 'exited';
    c.exitCode = code;
    for (const w of c.waiters.splice(0)) w(code);
  }

  async stopContainer(id: string): Promise<void> {
    const c = this.find(id);
    this.calls.push(`stop ${c.name}`);
    if (c.state === 'running' || c.state === 'paused') this.exit(c, 0);
  }

  async restartContainer(id: string): Promise<void> {
    const c = this.find(id);
    this.calls.push(`restart ${c.name}`);
    c.state = 'running';
  }

  async killContainer(id: string): Promise<void> {
    const c = this.find(id);
    this.calls.push(`kill ${c.name}`);
    this.exit(c, 137);
  }

  async removeContainer(id: string, o: { force?: boolean; volumes?: boolean } = {}): Promise<void> {
    const c = this.find(id);
    if (c.state === 'running' && !o.force) throw new ConflictError(`cannot remove container ${c.name}: container is running`);
    this.calls.push(`remove ${c.name}`);
    if (o.volumes) for (const m of c.mounts) if (m.Name && /^[0-9a-f]{64}$/.test(m.Name)) this.volumes.delete(m.Name);
    this.containers.delete(c.id);
  }

  async renameContainer(id: string, name: string): Promise<void> {
    const c = this.find(id);
    this.calls.push(`rename ${c.name} ${name}`);
    c.name = name;
  }

  async copyToContainer(id: string, path: string, archive: Buffer, o: { copyUidGid?: boolean } = {}): Promise<void> {
    const c = this.find(id);
    if (c.state !== 'created') throw new ConflictError(`${c.name}: files are injected before the first start only`);
    this.calls.push(`copy ${c.name} ${path}`);
    c.copied.push({ path, archive, copyUidGid: o.copyUidGid ?? false });
  }

  async pauseContainer(id: string): Promise<void> {
    this.find(id).state = 'paused';
  }

  async unpauseContainer(id: string): Promise<void> {
    this.find(id).state = 'running';
  }

  waitContainer(id: string): Promise<number> {
    const c = this.find(id);
    if (c.state === 'exited') return Promise.resolve(c.exitCode);
    return new Promise((resolve) => c.waiters.push(resolve));
  }

  async waitHealth(id: string): Promise<HealthAnswer> {
    const c = this.containers.get(id) ?? [...this.containers.values()].find((x) => x.name === id);
    if (!c) return { status: 'none', state: 'removed', exitCode: 0, lastOutput: '' };
    const running = c.state === 'running';
    return { status: running ? (c.health ?? 'none') : c.health ? 'unhealthy' : 'none', state: c.state, exitCode: c.exitCode, lastOutput: '' };
  }

  async connectNetwork(network: string, container: string): Promise<void> {
    const c = this.find(container);
    this.calls.push(`connect ${c.name} ${network}`);
    c.networks.push(network);
  }

  async disconnectNetwork(network: string, container: string): Promise<void> {
    const c = this.find(container);
    c.networks = c.networks.filter((n) => n !== network);
  }

  async listNetworks(o: { labels?: string[]; names?: string[] }): Promise<NetworkSummary[]> {
    return [...this.networks.values()].filter((n) => (!o.names || o.names.includes(n.name)) && (o.labels ?? []).every((l) => matchLabel(n.labels, l)));
  }

  async createNetwork(r: CreateNetworkRequest): Promise<string> {
    if (this.networks.has(r.name)) throw new AlreadyExistsError(`network with name ${r.name} already exists`);
    this.calls.push(`network create ${r.name}`);
    const id = randomBytes(32).toString('hex');
    this.networks.set(r.name, { id, name: r.name, driver: 'bridge', scope: 'local', created: '', internal: r.internal, labels: r.labels, subnet: '', gateway: '', ipv6: false });
    return id;
  }

  async removeNetwork(id: string): Promise<void> {
    const n = [...this.networks.values()].find((x) => x.id === id || x.name === id);
    if (!n) throw new NotFoundError(`network ${id} not found`);
    this.calls.push(`network rm ${n.name}`);
    this.networks.delete(n.name);
  }

  async listVolumes(o: { labels?: string[]; names?: string[] }): Promise<Volume[]> {
    return [...this.volumes.values()].filter((v) => (!o.names || o.names.includes(v.name)) && (o.labels ?? []).every((l) => matchLabel(v.labels, l)));
  }

  async createVolume(r: CreateVolumeRequest): Promise<Volume> {
    this.calls.push(`volume create ${r.name}`);
    const v: Volume = { name: r.name, driver: 'local', mountpoint: '', createdAt: '', labels: r.labels, options: r.driverOpts, scope: 'local' };
    this.volumes.set(r.name, v);
    return v;
  }

  async removeVolume(name: string): Promise<void> {
    if (!this.volumes.has(name)) throw new NotFoundError(`get ${name}: no such volume`);
    this.calls.push(`volume rm ${name}`);
    this.volumes.delete(name);
  }

  async inspectImage(ref: string): Promise<ImageDetails | undefined> {
    const id = this.images.get(ref);
    return id ? { Id: id, RepoTags: [ref] } : undefined;
  }

  async pullImage(ref: string) {
    this.calls.push(`pull ${ref}`);
    if (!this.images.has(ref)) throw new NotFoundError(`pull access denied for ${ref}, repository does not exist`);
    return undefined;
  }

  async pushImage(ref: string): Promise<void> {
    this.calls.push(`push ${ref}`);
  }

  async buildImage(options: { tags: string[] }): Promise<string> {
    const id = `sha256:${randomBytes(32).toString('hex')}`;
    for (const tag of options.tags) this.images.set(tag, id);
    this.calls.push(`build ${options.tags[0]}`);
    return id;
  }

  async removeImage(ref: string) {
    if (!this.images.delete(ref)) throw new NotFoundError(`No such image: ${ref}`);
    this.calls.push(`rmi ${ref}`);
    return [{ untagged: ref, deleted: '' }];
  }

  async *events() {}

  async putDeclaration(d: Omit<Declaration, 'revision' | 'updatedAt'>, o: { expectedRevision?: number } = {}): Promise<Declaration> {
    const current = this.declarations.get(d.name);
    if (o.expectedRevision !== undefined && (current?.revision ?? 0) !== o.expectedRevision) throw new ConflictError(`project "${d.name}" was changed meanwhile`);
    const stored = { ...d, revision: ++this.revision, updatedAt: new Date().toISOString() };
    this.declarations.set(d.name, stored);
    this.calls.push(`declare ${d.name} ${d.state}`);
    return stored;
  }

  async getDeclaration(name: string): Promise<Declaration | undefined> {
    return this.declarations.get(name);
  }

  async listDeclarations(): Promise<Declaration[]> {
    return [...this.declarations.values()];
  }

  async deleteDeclaration(name: string): Promise<void> {
    this.calls.push(`undeclare ${name}`);
    this.declarations.delete(name);
  }

  async *watchDeclarations() {}
}

function matchLabel(labels: Record<string, string>, filter: string): boolean {
  const eq = filter.indexOf('=');
  if (eq < 0) return Object.hasOwn(labels, filter);
  return labels[filter.slice(0, eq)] === filter.slice(eq + 1);
}
