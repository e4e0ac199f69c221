/**
 * The normalized Compose model: what `loadProject` returns and what `berth compose config` prints.
 * Field names are the Compose file's own (snake_case), every short syntax is in its long form,
 * defaults are filled in, paths are absolute, and variables are substituted, so a consumer (the
 * controller that runs `up`) never parses Compose syntax itself. Key order of every object is the
 * order Docker Compose prints (its Go structs); mappings keyed by user names are sorted.
 *
 * Stable contract: fields are only ever added. Durations are Go duration strings (`1m30s`), byte
 * sizes decimal strings of bytes (`"536870912"`), file modes octal strings (`"0440"`).
 */

/** A loaded project: the model plus how it was loaded. */
export interface Project {
  /** Project name (`-p`, `COMPOSE_PROJECT_NAME`, top-level `name`, or the directory name), normalized. */
  name: string;
  /** Project directory: relative paths were resolved against it. */
  workingDir: string;
  /** Absolute paths of the Compose files, in merge order (`-` for standard input). */
  composeFiles: string[];
  /** Variables used for interpolation (shell, then env files). Never print it: it may hold secrets. */
  environment: Record<string, string>;
  /** Enabled services by name, sorted. */
  services: Record<string, ServiceConfig>;
  networks: Record<string, NetworkConfig>;
  volumes: Record<string, VolumeConfig>;
  secrets: Record<string, FileObjectConfig>;
  configs: Record<string, FileObjectConfig>;
  /** Top-level `models` (AI models), kept as written. */
  models: Record<string, Record<string, unknown>>;
  /** Top-level `x-*` extensions, as written. */
  extensions: Record<string, unknown>;
  /** Services a profile disabled, by name (not started, not printed). */
  disabledServices: Record<string, ServiceConfig>;
  /** Profiles that were active (`--profile`, `COMPOSE_PROFILES`, or those of targeted services). */
  activeProfiles: string[];
  /** Non-fatal findings (unset variables, obsolete `version`), one sentence each. */
  warnings: string[];
}

export interface ServiceConfig {
  profiles?: string[];
  annotations?: Record<string, string>;
  attach?: boolean;
  build?: BuildConfig;
  develop?: Record<string, unknown>;
  blkio_config?: BlkioConfig;
  cap_add?: string[];
  cap_drop?: string[];
  cgroup_parent?: string;
  cgroup?: string;
  cpu_count?: number;
  cpu_percent?: number;
  cpu_period?: number;
  cpu_quota?: number;
  cpu_rt_period?: number;
  cpu_rt_runtime?: number;
  cpus?: number;
  cpuset?: string;
  cpu_shares?: number;
  /** Exec form; absent: the image's CMD; `[]`: none. */
  command?: string[] | null;
  configs?: ServiceFileReference[];
  container_name?: string;
  credential_spec?: Record<string, string>;
  /** Dependencies, explicit and implicit (links, `service:` namespaces, volumes_from). */
  depends_on?: Record<string, ServiceDependency>;
  deploy?: DeployConfig;
  device_cgroup_rules?: string[];
  devices?: DeviceMapping[];
  dns?: string[];
  dns_opt?: string[];
  dns_search?: string[];
  domainname?: string;
  entrypoint?: string[] | null;
  provider?: Record<string, unknown>;
  /** env_file contents merged under `environment`; null: declared without a value anywhere. */
  environment?: Record<string, string | null>;
  expose?: string[];
  external_links?: string[];
  /** `host=ip` entries, sorted. */
  extra_hosts?: string[];
  group_add?: string[];
  gpus?: Array<Record<string, unknown>>;
  hostname?: string;
  healthcheck?: HealthCheckConfig;
  image?: string;
  init?: boolean;
  ipc?: string;
  isolation?: string;
  labels?: Record<string, string>;
  links?: string[];
  logging?: { driver?: string; options?: Record<string, string> };
  mem_limit?: string;
  mem_reservation?: string;
  memswap_limit?: string;
  mem_swappiness?: string;
  mac_address?: string;
  models?: Record<string, unknown>;
  network_mode?: string;
  /** Networks the service joins; null for no per-network settings. */
  networks?: Record<string, ServiceNetworkConfig | null>;
  oom_kill_disable?: boolean;
  oom_score_adj?: number;
  pid?: string;
  pids_limit?: number;
  platform?: string;
  ports?: ServicePortConfig[];
  privileged?: boolean;
  pull_policy?: string;
  read_only?: boolean;
  restart?: string;
  runtime?: string;
  scale?: number;
  secrets?: ServiceFileReference[];
  security_opt?: string[];
  shm_size?: string;
  stdin_open?: boolean;
  stop_grace_period?: string;
  stop_signal?: string;
  storage_opt?: Record<string, string>;
  sysctls?: Record<string, string>;
  tmpfs?: string[];
  tty?: boolean;
  /** A single number sets soft and hard. */
  ulimits?: Record<string, number | { soft: number; hard: number }>;
  use_api_socket?: boolean;
  user?: string;
  userns_mode?: string;
  uts?: string;
  volume_driver?: string;
  volumes?: ServiceVolumeConfig[];
  volumes_from?: string[];
  working_dir?: string;
  post_start?: Array<Record<string, unknown>>;
  pre_stop?: Array<Record<string, unknown>>;
  pre_start?: Array<Record<string, unknown>>;
  [extension: `x-${string}`]: unknown;
}

export interface BuildConfig {
  /** Absolute directory, or a remote context (git URL, `docker-image://…`) as written. */
  context: string;
  /** Relative to the context, as written (default `Dockerfile`), unless dockerfile_inline is set. */
  dockerfile?: string;
  dockerfile_inline?: string;
  entitlements?: string[];
  /** null: declared without a value and not set in the project's variables (dropped). */
  args?: Record<string, string | null>;
  provenance?: string;
  sbom?: string;
  ssh?: string[];
  labels?: Record<string, string>;
  cache_from?: string[];
  cache_to?: string[];
  no_cache?: boolean;
  no_cache_filter?: string[];
  additional_contexts?: Record<string, string>;
  pull?: boolean;
  extra_hosts?: string[];
  isolation?: string;
  network?: string;
  target?: string;
  secrets?: ServiceFileReference[];
  shm_size?: string;
  tags?: string[];
  ulimits?: Record<string, number | { soft: number; hard: number }>;
  platforms?: string[];
  privileged?: boolean;
  [extension: `x-${string}`]: unknown;
}

export interface ServiceDependency {
  condition: 'service_started' | 'service_healthy' | 'service_completed_successfully';
  /** Restart this service when the dependency is updated by Compose. */
  restart?: boolean;
  /** false: only warn when the dependency is missing or fails. */
  required: boolean;
}

export interface DeployConfig {
  mode?: string;
  replicas?: number;
  labels?: Record<string, string>;
  update_config?: UpdateConfig;
  rollback_config?: UpdateConfig;
  resources?: { limits?: Resource; reservations?: Resource };
  restart_policy?: { condition?: string; delay?: string; max_attempts?: number; window?: string };
  placement?: { constraints?: string[]; preferences?: Array<{ spread: string }>; max_replicas_per_node?: number };
  endpoint_mode?: string;
}

export interface UpdateConfig {
  parallelism?: number;
  delay?: string;
  failure_action?: string;
  monitor?: string;
  max_failure_ratio?: number;
  order?: string;
}

export interface Resource {
  cpus?: number;
  memory?: string;
  pids?: number;
  devices?: Array<Record<string, unknown>>;
  generic_resources?: Array<Record<string, unknown>>;
}

export interface BlkioConfig {
  weight?: number;
  weight_device?: Array<{ path: string; weight: number }>;
  device_read_bps?: Array<{ path: string; rate: string }>;
  device_read_iops?: Array<{ path: string; rate: string }>;
  device_write_bps?: Array<{ path: string; rate: string }>;
  device_write_iops?: Array<{ path: string; rate: string }>;
}

export interface DeviceMapping {
  source: string;
  target: string;
  permissions: string;
}

export interface HealthCheckConfig {
  /** `["CMD", …]`, `["CMD-SHELL", "…"]` or `["NONE"]`. */
  test?: string[];
  timeout?: string;
  interval?: string;
  retries?: number;
  start_period?: string;
  start_interval?: string;
  disable?: boolean;
}

export interface ServiceNetworkConfig {
  aliases?: string[];
  driver_opts?: Record<string, string>;
  gw_priority?: number;
  interface_name?: string;
  ipv4_address?: string;
  ipv6_address?: string;
  link_local_ips?: string[];
  mac_address?: string;
  priority?: number;
}

export interface ServicePortConfig {
  name?: string;
  mode: string;
  host_ip?: string;
  target: number;
  /** A port or a `start-end` range; absent: any free port. */
  published?: string;
  protocol: string;
  app_protocol?: string;
}

export interface ServiceVolumeConfig {
  type: 'volume' | 'bind' | 'tmpfs' | 'image' | 'npipe' | 'cluster';
  /** Volume key (not its `<project>_` name), absolute host path, or image; absent: anonymous. */
  source?: string;
  target: string;
  read_only?: boolean;
  consistency?: string;
  bind?: { selinux?: string; propagation?: string; create_host_path?: boolean; recursive?: string };
  volume?: { labels?: Record<string, string>; nocopy?: boolean; subpath?: string };
  tmpfs?: { size?: string; mode?: number };
  image?: { subpath?: string };
}

/** A service's grant of a secret or config. */
export interface ServiceFileReference {
  source: string;
  /** Secrets default to `/run/secrets/<source>`; configs are mounted at `/<source>` when absent. */
  target?: string;
  uid?: string;
  gid?: string;
  /** Octal string, e.g. `"0440"`. */
  mode?: string;
}

export interface NetworkConfig {
  /** Platform name: `<project>_<key>` unless set, or the key when external. */
  name: string;
  driver?: string;
  driver_opts?: Record<string, string>;
  ipam?: { driver?: string; config?: Array<{ subnet?: string; gateway?: string; ip_range?: string; aux_addresses?: Record<string, string> }>; options?: Record<string, string> };
  external?: boolean;
  internal?: boolean;
  attachable?: boolean;
  labels?: Record<string, string>;
  enable_ipv4?: boolean;
  enable_ipv6?: boolean;
  [extension: `x-${string}`]: unknown;
}

export interface VolumeConfig {
  name: string;
  driver?: string;
  driver_opts?: Record<string, string>;
  external?: boolean;
  labels?: Record<string, string>;
  [extension: `x-${string}`]: unknown;
}

/** A top-level secret or config. `content` holds the resolved value of `environment` sources too. */
export interface FileObjectConfig {
  name: string;
  file?: string;
  environment?: string;
  content?: string;
  external?: boolean;
  labels?: Record<string, string>;
  driver?: string;
  driver_opts?: Record<string, string>;
  template_driver?: string;
  [extension: `x-${string}`]: unknown;
}
