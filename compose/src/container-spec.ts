import { parseBytes, parseDuration, type Project, type ServiceConfig, type ServiceFileReference, type ServiceNetworkConfig } from '@berth/compose';
import { InvalidArgumentError } from '@berth/errors';
import { ContainerMount, type ContainerSpec, type HealthConfig, type SecurityOptions } from '@berth/proto';
import { fileObject, fileTarget } from './injected-files.js';

/**
 * A service's container, as the gateway's create request: Compose's service attributes turned into
 * `docker run`'s options (what compose v2 does in `getCreateConfigs`). The first network is given at
 * create; the others are connected before the container starts (`extraNetworks`). Attributes the
 * platform cannot honour yet are named in `warnings` instead of being dropped silently.
 */

export interface ContainerSpecInput {
  project: Project;
  serviceName: string;
  service: ServiceConfig;
  /** The container's name (`<project>-<service>-<n>`, container_name, or a one-off's). */
  name: string;
  /** The image reference the container runs. */
  image: string;
  labels: Record<string, string>;
  /** The name of a running container of another service (`network_mode: service:x`, `volumes_from`). */
  containerOf(service: string): string;
  /** Anonymous volumes of the container this one replaces, by target path: kept across recreation. */
  anonymousVolumes?: Record<string, string>;
  /** false for `run` without `--use-aliases`: the service name is not given as an alias. */
  serviceAliases?: boolean;
  /** false for `run` without `--service-ports`. */
  publishPorts?: boolean;
}

export interface NetworkAttachment {
  /** The platform name of the network (`<project>_<key>`). */
  network: string;
  aliases: string[];
  ipv4Address?: string;
}

export interface ContainerPlan {
  spec: ContainerSpec;
  /** Networks to connect after create, before start. */
  extraNetworks: NetworkAttachment[];
  warnings: string[];
}

/** Attributes that have no counterpart in the platform's create request yet. */
const unsupported: Array<keyof ServiceConfig> = [
  'blkio_config',
  'cgroup_parent',
  'cpu_count',
  'cpu_percent',
  'cpu_period',
  'cpu_quota',
  'cpu_rt_period',
  'cpu_rt_runtime',
  'credential_spec',
  'device_cgroup_rules',
  'domainname',
  'gpus',
  'isolation',
  'mem_swappiness',
  'oom_score_adj',
  'runtime',
  'storage_opt',
  'userns_mode',
];

/** The networks of a service in compose's order: priority (highest first), then name. */
export function serviceNetworks(service: ServiceConfig): Array<[string, ServiceNetworkConfig | null]> {
  return Object.entries(service.networks ?? {}).sort(([a, ca], [b, cb]) => (cb?.priority ?? 0) - (ca?.priority ?? 0) || a.localeCompare(b));
}

function restartPolicy(service: ServiceConfig): { name: string; maximumRetryCount: number } {
  if (service.restart) {
    const [name, count] = service.restart.split(':') as [string, string | undefined];
    return { name, maximumRetryCount: name === 'on-failure' && count ? Number(count) : 0 };
  }
  const policy = service.deploy?.restart_policy;
  if (policy?.condition) {
    const name = { none: 'no', 'on-failure': 'on-failure', any: 'always' }[policy.condition] ?? 'no';
    return { name, maximumRetryCount: name === 'on-failure' ? (policy.max_attempts ?? 0) : 0 };
  }
  return { name: 'no', maximumRetryCount: 0 };
}

/** Compose's healthcheck as the create request's (durations in ns; `disable` is NONE). */
function healthConfig(service: ServiceConfig): HealthConfig | undefined {
  const h = service.healthcheck;
  if (!h) return undefined;
  const ns = (d: string | undefined) => (d === undefined ? 0 : parseDuration(d));
  return {
    test: h.disable ? ['NONE'] : (h.test ?? []),
    intervalNs: ns(h.interval),
    timeoutNs: ns(h.timeout),
    startPeriodNs: ns(h.start_period),
    startIntervalNs: ns(h.start_interval),
    retries: h.retries ?? 0,
  };
}

function securityOptions(service: ServiceConfig): SecurityOptions | undefined {
  if (!service.privileged && !service.cap_add && !service.cap_drop && !service.read_only && !service.security_opt) return undefined;
  return {
    privileged: service.privileged ?? false,
    capAdd: service.cap_add ?? [],
    capDrop: service.cap_drop ?? [],
    readOnly: service.read_only ?? false,
    securityOpt: service.security_opt ?? [],
  };
}

function seconds(duration: string | undefined): number | undefined {
  return duration === undefined ? undefined : Math.floor(parseDuration(duration) / 1e9);
}

function portSpec(p: NonNullable<ServiceConfig['ports']>[number]): string {
  const hostPart = p.host_ip ? `${p.host_ip.includes(':') ? `[${p.host_ip}]` : p.host_ip}:${p.published ?? ''}:` : p.published ? `${p.published}:` : '';
  return `${hostPart}${p.target}/${p.protocol}`;
}

/** A `file:` secret or config as a read-only bind; other sources are injected after create (injected-files.ts). */
function fileMount(kind: 'secret' | 'config', ref: ServiceFileReference, project: Project, warnings: string[]): ContainerMount[] {
  const object = fileObject(kind, ref, project);
  if (object.file === undefined) return [];
  // compose v2: a bind mount keeps the file's own owner and mode.
  if (ref.uid !== undefined || ref.gid !== undefined || ref.mode !== undefined) warnings.push(`${kind}s \`uid\`, \`gid\` and \`mode\` are not supported for file sources, they will be ignored`);
  return [mount({ type: 'bind', source: object.file, target: fileTarget(kind, ref), readOnly: true })];
}

function mount(m: Partial<ContainerMount> & { type: string; target: string }): ContainerMount {
  return ContainerMount.fromPartial(m);
}

function volumeMounts(input: ContainerSpecInput, warnings: string[]): { mounts: ContainerMount[]; binds: string[] } {
  const { project, service } = input;
  const mounts: ContainerMount[] = [];
  const binds: string[] = [];
  for (const v of service.volumes ?? []) {
    if (v.type === 'volume') {
      if (v.volume?.subpath) warnings.push(`volume subpath "${v.volume.subpath}" is not supported yet and is ignored`);
      const source = v.source ? (project.volumes[v.source]?.name ?? v.source) : (input.anonymousVolumes?.[v.target] ?? '');
      mounts.push(mount({ type: 'volume', source, target: v.target, readOnly: v.read_only ?? false, volumeNoCopy: v.volume?.nocopy ?? false }));
    } else if (v.type === 'bind') {
      // compose's short syntax creates a missing host path (as `docker run -v` does); --mount would refuse it.
      if (v.bind?.create_host_path && !v.bind.propagation) binds.push(`${v.source}:${v.target}${v.read_only ? ':ro' : ''}`);
      else mounts.push(mount({ type: 'bind', source: v.source ?? '', target: v.target, readOnly: v.read_only ?? false, bindPropagation: v.bind?.propagation ?? '' }));
    } else if (v.type === 'tmpfs') {
      mounts.push(mount({ type: 'tmpfs', target: v.target, tmpfsSizeBytes: v.tmpfs?.size ? parseBytes(v.tmpfs.size) : 0, tmpfsMode: v.tmpfs?.mode ?? 0 }));
    } else {
      throw new InvalidArgumentError(`service "${input.serviceName}": volumes of type "${v.type}" are not supported`);
    }
  }
  // Anonymous volumes the image declared (VOLUME) and the replaced container had: kept as well.
  const declared = new Set((service.volumes ?? []).map((v) => v.target));
  for (const [target, name] of Object.entries(input.anonymousVolumes ?? {})) {
    if (!declared.has(target)) mounts.push(mount({ type: 'volume', source: name, target }));
  }
  for (const ref of service.secrets ?? []) mounts.push(...fileMount('secret', ref, project, warnings));
  for (const ref of service.configs ?? []) mounts.push(...fileMount('config', ref, project, warnings));
  return { mounts, binds };
}

function volumesFrom(input: ContainerSpecInput): string[] {
  return (input.service.volumes_from ?? []).map((entry) => {
    if (entry.startsWith('container:')) return entry.slice('container:'.length);
    const [service, mode] = entry.split(':') as [string, string | undefined];
    return `${input.containerOf(service)}${mode ? `:${mode}` : ''}`;
  });
}

function networkMode(input: ContainerSpecInput): string | undefined {
  const mode = input.service.network_mode;
  if (!mode) return undefined;
  if (mode.startsWith('service:')) return `container:${input.containerOf(mode.slice('service:'.length))}`;
  return mode;
}

/** `ipc` / `pid` as `docker run` takes them: Compose's `service:NAME` is that service's container. */
function namespaceMode(input: ContainerSpecInput, mode: string | undefined): string {
  if (mode?.startsWith('service:')) return `container:${input.containerOf(mode.slice('service:'.length))}`;
  return mode ?? '';
}

/**
 * `links` and `external_links` as compose v2 gives them (on the first network's endpoint): on a
 * project network `SERVICE:ALIAS` makes ALIAS resolve, for this container, as the service's name
 * does (all its serving replicas); on the default bridge they are legacy links to one container.
 */
function serviceLinks(input: ContainerSpecInput, mode: string | undefined): string[] {
  const split = (link: string) => {
    const [name, alias] = link.split(':') as [string, string | undefined];
    return { name, alias: alias ?? name };
  };
  const own = (input.service.links ?? []).map(split);
  const external = (input.service.external_links ?? []).map(split);
  if (mode === undefined) return [...own, ...external].map((l) => `${l.name}:${l.alias}`);
  if (mode === 'bridge' || mode === 'default') return [...own.map((l) => ({ ...l, name: input.containerOf(l.name) })), ...external].map((l) => `${l.name}:${l.alias}`);
  return [];
}

/** The create request (and the networks to connect before start) for one container of a service. */
export function containerPlan(input: ContainerSpecInput): ContainerPlan {
  const { project, service, serviceName } = input;
  const warnings: string[] = [];
  for (const key of unsupported) if (service[key] !== undefined) warnings.push(`${key} is not supported by Berth yet and is ignored`);
  if (service.logging?.driver && !['json-file', 'local', 'none', 'k8s-file'].includes(service.logging.driver)) {
    warnings.push(`logging driver "${service.logging.driver}" is not supported: the platform keeps its own log`);
  }
  const limits = service.deploy?.resources?.limits;
  const memory = service.mem_limit ?? limits?.memory;
  const cpus = service.cpus ?? limits?.cpus;
  const swap = service.memswap_limit;
  const reservation = service.mem_reservation ?? service.deploy?.resources?.reservations?.memory;
  const { mounts, binds } = volumeMounts(input, warnings);
  const tmpfs: Record<string, string> = {};
  for (const entry of service.tmpfs ?? []) {
    const [path, options] = entry.split(/:(.*)/s) as [string, string | undefined];
    tmpfs[path] = options ?? '';
  }
  const mode = networkMode(input);
  const networks = mode ? [] : serviceNetworks(service);
  const attachments: NetworkAttachment[] = networks.map(([key, config]) => {
    const network = project.networks[key];
    if (!network) throw new InvalidArgumentError(`service "${serviceName}" refers to undefined network ${key}`);
    const aliases = [...(input.serviceAliases === false ? [] : [serviceName]), ...(config?.aliases ?? [])];
    return { network: network.name, aliases, ipv4Address: config?.ipv4_address };
  });
  const [first, ...others] = attachments;
  const spec: ContainerSpec = {
    image: input.image,
    name: input.name,
    cmd: service.command ?? [],
    entrypoint: service.entrypoint ? { args: service.entrypoint } : undefined,
    env: Object.entries(service.environment ?? {})
      .filter((e): e is [string, string] => e[1] !== null)
      .map(([k, v]) => `${k}=${v}`),
    workingDir: service.working_dir ?? '',
    user: service.user ?? '',
    hostname: service.hostname ?? '',
    labels: input.labels,
    tty: service.tty ?? false,
    openStdin: service.stdin_open ?? false,
    stdinOnce: false,
    autoRemove: false,
    init: service.init ?? false,
    restartPolicy: restartPolicy(service),
    resources: {
      memory: memory ? parseBytes(memory) : 0,
      nanoCpus: cpus ? Math.round(Number(cpus) * 1e9) : 0,
      pidsLimit: service.pids_limit ?? limits?.pids ?? 0,
      memorySwap: swap === undefined ? 0 : String(swap) === '-1' ? -1 : parseBytes(swap),
      memoryReservation: reservation ? parseBytes(reservation) : 0,
      cpuShares: service.cpu_shares ?? 0,
      cpusetCpus: service.cpuset ?? '',
      oomKillDisable: service.oom_kill_disable ?? false,
      ulimits: Object.entries(service.ulimits ?? {}).map(([name, v]) => (typeof v === 'number' ? { name, soft: v, hard: v } : { name, soft: v.soft, hard: v.hard })),
      devices: (service.devices ?? []).map((d) => ({ pathOnHost: d.source, pathInContainer: d.target || d.source, cgroupPermissions: d.permissions || 'rwm' })),
    },
    shmSize: service.shm_size ? parseBytes(service.shm_size) : 0,
    sysctls: service.sysctls ?? {},
    ipcMode: namespaceMode(input, service.ipc),
    pidMode: namespaceMode(input, service.pid),
    utsMode: service.uts ?? '',
    cgroupnsMode: service.cgroup ?? '',
    groupAdd: service.group_add ?? [],
    links: serviceLinks(input, mode),
    // json-file, local and none as `docker run --log-driver`; k8s-file (conmon's own) is the default's file.
    logConfig: ['json-file', 'local', 'none'].includes(service.logging?.driver ?? '') ? { type: service.logging!.driver!, config: service.logging!.options ?? {} } : undefined,
    platform: service.platform ?? '',
    containerIdFile: '',
    attach: [],
    consoleSize: undefined,
    stopSignal: service.stop_signal ?? '',
    stopTimeout: seconds(service.stop_grace_period),
    networkMode: mode ?? first?.network ?? '',
    publish: input.publishPorts === false ? [] : (service.ports ?? []).map(portSpec),
    publishAll: false,
    networkAliases: first?.aliases ?? [],
    dns: service.dns ?? [],
    dnsSearch: service.dns_search ?? [],
    dnsOptions: service.dns_opt ?? [],
    extraHosts: service.extra_hosts ?? [],
    ipv4Address: first?.ipv4Address ?? '',
    macAddress: service.mac_address ?? '',
    expose: service.expose ?? [],
    binds,
    mounts,
    tmpfs,
    volumesFrom: volumesFrom(input),
    healthcheck: healthConfig(service),
    security: securityOptions(service),
  };
  return { spec, extraNetworks: others, warnings };
}
