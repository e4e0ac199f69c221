import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { FailedPreconditionError, InvalidArgumentError } from '@berth/errors';
import { hostCapabilities } from './host-capabilities.js';
import { hostDevices, type OciDevice } from './host-devices.js';
import { hostRlimits, rlimitNames, type HostRlimit } from './host-limits.js';
import type { OciDeviceCgroup, OciLinuxNamespace, OciLinuxResources, OciMount, OciRlimit, OciSpec } from './oci-spec.js';
import { convertSeccompProfile, dockerDefaultSeccompProfile, hostGoArch, type DockerSeccompProfile } from './seccomp.js';

/** Docker's default capability set (moby daemon/pkg/oci `DefaultCapabilities`). */
export const defaultCapabilities: readonly string[] = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
];

/** Every capability of Linux 5.9+ (numbers 0..40), for `ALL` and `privileged`. */
export const allCapabilities: readonly string[] = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL',
  'CAP_SETGID', 'CAP_SETUID', 'CAP_SETPCAP', 'CAP_LINUX_IMMUTABLE', 'CAP_NET_BIND_SERVICE',
  'CAP_NET_BROADCAST', 'CAP_NET_ADMIN', 'CAP_NET_RAW', 'CAP_IPC_LOCK', 'CAP_IPC_OWNER', 'CAP_SYS_MODULE',
  'CAP_SYS_RAWIO', 'CAP_SYS_CHROOT', 'CAP_SYS_PTRACE', 'CAP_SYS_PACCT', 'CAP_SYS_ADMIN', 'CAP_SYS_BOOT',
  'CAP_SYS_NICE', 'CAP_SYS_RESOURCE', 'CAP_SYS_TIME', 'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD', 'CAP_LEASE',
  'CAP_AUDIT_WRITE', 'CAP_AUDIT_CONTROL', 'CAP_SETFCAP', 'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG',
  'CAP_WAKE_ALARM', 'CAP_BLOCK_SUSPEND', 'CAP_AUDIT_READ', 'CAP_PERFMON', 'CAP_BPF', 'CAP_CHECKPOINT_RESTORE',
];

/** Docker's masked paths (without the per-CPU thermal_throttle entries, added at generation). */
export const defaultMaskedPaths: readonly string[] = [
  '/proc/acpi',
  '/proc/asound',
  '/proc/interrupts',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/sched_debug',
  '/proc/scsi',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/sys/devices/virtual/powercap',
  '/sys/firmware',
];

export const defaultReadonlyPaths: readonly string[] = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

export const defaultPath = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Where Debian's `tini` package puts its static build; mounted at /sbin/docker-init for `--init`. */
export const defaultInitPath = '/usr/bin/tini-static';

/** Docker's cgroup device rules for an unprivileged container. */
const defaultDeviceRules: OciDeviceCgroup[] = [
  { allow: false, access: 'rwm' },
  { allow: true, type: 'c', access: 'm' },
  { allow: true, type: 'b', access: 'm' },
  { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' }, // /dev/null
  { allow: true, type: 'c', major: 1, minor: 5, access: 'rwm' }, // /dev/zero
  { allow: true, type: 'c', major: 1, minor: 7, access: 'rwm' }, // /dev/full
  { allow: true, type: 'c', major: 1, minor: 8, access: 'rwm' }, // /dev/random
  { allow: true, type: 'c', major: 1, minor: 9, access: 'rwm' }, // /dev/urandom
  { allow: true, type: 'c', major: 5, minor: 0, access: 'rwm' }, // /dev/tty
  { allow: true, type: 'c', major: 5, minor: 1, access: 'rwm' }, // /dev/console
  { allow: true, type: 'c', major: 5, minor: 2, access: 'rwm' }, // /dev/ptmx
  { allow: true, type: 'c', major: 136, access: 'rwm' }, // /dev/pts/*
  { allow: true, type: 'c', major: 10, minor: 200, access: 'rwm' }, // /dev/net/tun
  // Docker also lists a deny for /dev/fuse (10:229); cgroup v1 cannot express a deny after the
  // `c *:* m` wildcard, and the default deny already covers it.
];

/** A namespace of its own, the host's, or one to join by path. */
export type NamespaceMode = 'new' | 'host' | { path: string };

export interface SpecOptions {
  /** Container id: the cgroup is `/berth/<id>` under each controller. */
  id: string;
  /** Absolute path of the mounted root filesystem. */
  rootfs: string;
  readonlyRootfs?: boolean;
  /** The argv, as `resolveCommand` returns it. */
  args: string[];
  /** `KEY=value` entries (image Env then user Env). PATH, HOSTNAME, HOME and TERM are added as Docker does. */
  env?: string[];
  /** Working directory, default `/`. */
  cwd?: string;
  /** The process identity, as `resolveUser` returns it; default root. */
  user?: { uid: number; gid: number; additionalGids?: number[]; home?: string };
  /** Extra groups (`--group-add`), appended to the user's supplementary groups. */
  groupAdd?: number[];
  terminal?: boolean;
  /** With `terminal`: the console's size when the process starts (Docker's HostConfig.ConsoleSize). */
  consoleSize?: { height: number; width: number };
  hostname?: string;
  /** Caller's mounts (binds for volumes, /etc/hosts, /etc/hostname, /etc/resolv.conf, tmpfs ...). A mount on a default destination (e.g. /dev/shm) replaces the default one. */
  mounts?: OciMount[];
  /** `new` (default), `host` (share the host's), or the path of a namespace to join (e.g. /run/netns/x). */
  network?: 'new' | 'host' | { path: string };
  /** `--ipc`, `--pid`, `--uts`: a new namespace (default), the host's, or one to join (`/proc/<pid>/ns/ipc`). */
  ipc?: NamespaceMode;
  pid?: NamespaceMode;
  uts?: 'new' | 'host';
  /** `--cgroupns private`: a cgroup namespace of its own (default: the host's, as Docker on cgroup v1). */
  cgroupns?: 'host' | 'private';
  /**
   * /dev/shm: a tmpfs of `shmSize` (default), `none` (no /dev/shm: `--ipc none`), or a host path to
   * bind there (`--ipc host`: /dev/shm; `--ipc container:X`: X's, through /proc/<pid>/root/dev/shm).
   */
  shm?: 'tmpfs' | 'none' | { bind: string };
  /** `--device`: device nodes created in the container, each allowed in its device cgroup. */
  devices?: Array<OciDevice & { access: string }>;
  /** `--oom-kill-disable`. */
  oomKillDisable?: boolean;
  /** Memory limit in bytes (`--memory`). */
  memory?: number;
  /** Memory + swap in bytes (`--memory-swap`); default equal to `memory` (no swap); -1 unlimited. */
  memorySwap?: number;
  memoryReservation?: number;
  /** `--cpus`: quota = cpus × period, period 100000 µs. */
  cpus?: number;
  cpuShares?: number;
  cpusetCpus?: string;
  /** `--pids-limit`; 0 or negative means unlimited. */
  pidsLimit?: number;
  /** Size of /dev/shm in bytes, default 64 MiB. */
  shmSize?: number;
  /** `--cap-add` / `--cap-drop`, with or without the `CAP_` prefix, `ALL` allowed. */
  capAdd?: string[];
  capDrop?: string[];
  /** All capabilities and devices, no seccomp, no masked or read-only paths, rw /sys. */
  privileged?: boolean;
  /** Device nodes of a privileged container; default every device of the host's /dev (hostDevices). */
  hostDevices?: OciDevice[];
  /** The capabilities a container may get (`privileged`, `ALL`); default the agent's bounding set. */
  availableCapabilities?: readonly string[];
  /** Default true (the brief of this project; Docker's own default is false). */
  noNewPrivileges?: boolean;
  /** `default` (Docker's profile), `unconfined`, or a Docker-format profile. */
  seccomp?: 'default' | 'unconfined' | DockerSeccompProfile;
  /** `--ulimit`; hard limits above the host's hard limit are refused. */
  ulimits?: Array<{ name: string; soft: number; hard: number }>;
  sysctls?: Record<string, string>;
  oomScoreAdj?: number;
  /** `--init`: true for `defaultInitPath`, or the host path of a tini-compatible binary. */
  init?: boolean | string;
  annotations?: Record<string, string>;
  /** Host limits to respect; default read from /proc/self/limits (tests pass their own). */
  hostLimits?: Record<string, HostRlimit>;
}

/**
 * Builds the OCI runtime config for a container the way Docker does by default: Docker's capability
 * set, mounts, masked and read-only paths, device rules and seccomp profile, new pid/mount/uts/ipc
 * (and network) namespaces, cgroup `/berth/<id>` with the requested limits, and RLIMIT_NOFILE set to
 * min(1048576, host hard limit). Throws InvalidArgumentError for invalid options and
 * FailedPreconditionError when `init` is asked and the init binary is missing.
 */
export function generateSpec(options: SpecOptions): OciSpec {
  if (options.args.length === 0) throw new InvalidArgumentError('No command specified');
  const privileged = options.privileged ?? false;
  const available = options.availableCapabilities;
  const caps = privileged
    ? [...(available ?? hostCapabilities(allCapabilities))]
    : computeCapabilities(options.capAdd ?? [], options.capDrop ?? [], { available });
  const hostname = options.hostname ?? options.id.slice(0, 12);
  const user = options.user ?? { uid: 0, gid: 0 };

  const mounts = defaultMounts(options.shmSize ?? 64 * 1024 * 1024, privileged, options.shm ?? 'tmpfs');
  let args = options.args;
  if (options.init) {
    const initPath = typeof options.init === 'string' ? options.init : defaultInitPath;
    if (!existsSync(initPath)) {
      throw new FailedPreconditionError(`Cannot use --init: "${initPath}" not found (install Debian's tini package)`);
    }
    mounts.push({ destination: '/sbin/docker-init', type: 'bind', source: initPath, options: ['bind', 'ro'] });
    args = ['/sbin/docker-init', '--', ...args];
  }
  for (const m of options.mounts ?? []) {
    const i = mounts.findIndex((d) => d.destination === m.destination);
    if (i >= 0) mounts.splice(i, 1);
    mounts.push(m);
  }

  const namespaces: OciLinuxNamespace[] = [];
  const addNamespace = (type: OciLinuxNamespace['type'], mode: NamespaceMode) => {
    if (mode === 'new') namespaces.push({ type });
    else if (mode !== 'host') namespaces.push({ type, path: mode.path });
  };
  addNamespace('pid', options.pid ?? 'new');
  addNamespace('ipc', options.ipc ?? 'new');
  addNamespace('uts', options.uts ?? 'new');
  namespaces.push({ type: 'mount' });
  addNamespace('network', options.network ?? 'new');
  if (options.cgroupns === 'private') namespaces.push({ type: 'cgroup' });

  const spec: OciSpec = {
    ociVersion: '1.0.2-dev',
    process: {
      terminal: options.terminal ?? false,
      ...(options.terminal && options.consoleSize?.height && options.consoleSize.width ? { consoleSize: options.consoleSize } : {}),
      user: {
        uid: user.uid,
        gid: user.gid,
        // Docker's order: the primary gid, the user's groups, then --group-add.
        additionalGids: [...new Set([user.gid, ...(user.additionalGids ?? []), ...(options.groupAdd ?? [])])],
      },
      args,
      env: buildEnv(options, hostname),
      cwd: options.cwd || '/',
      capabilities: { bounding: [...caps], effective: [...caps], permitted: [...caps] },
      rlimits: buildRlimits(options.ulimits ?? [], options.hostLimits ?? hostRlimits()),
      noNewPrivileges: options.noNewPrivileges ?? true,
    },
    root: { path: options.rootfs, readonly: options.readonlyRootfs ?? false },
    // runc cannot set a hostname in the host's UTS namespace (`--uts host`).
    ...(options.uts === 'host' ? {} : { hostname }),
    mounts,
    linux: {
      namespaces,
      cgroupsPath: `/berth/${options.id}`,
      resources: buildResources(options, privileged),
    },
  };
  if (options.oomScoreAdj !== undefined) spec.process.oomScoreAdj = options.oomScoreAdj;
  if (options.annotations) spec.annotations = { ...options.annotations };
  if (options.sysctls && Object.keys(options.sysctls).length > 0) spec.linux.sysctl = { ...options.sysctls };
  if (privileged) spec.linux.devices = options.hostDevices ?? hostDevices();
  if (options.devices && options.devices.length > 0) {
    const nodes = spec.linux.devices ?? [];
    for (const { access, ...device } of options.devices) {
      const i = nodes.findIndex((d) => d.path === device.path);
      if (i >= 0) nodes.splice(i, 1);
      nodes.push(device);
      if (!privileged) spec.linux.resources!.devices!.push({ allow: true, type: device.type as 'c' | 'b', major: device.major, minor: device.minor, access });
    }
    spec.linux.devices = nodes;
  }
  if (!privileged) {
    spec.linux.maskedPaths = [...defaultMaskedPaths, ...thermalThrottlePaths()];
    spec.linux.readonlyPaths = [...defaultReadonlyPaths];
    const seccomp = options.seccomp ?? 'default';
    if (seccomp !== 'unconfined') {
      const profile = seccomp === 'default' ? dockerDefaultSeccompProfile() : seccomp;
      spec.linux.seccomp = convertSeccompProfile(profile, { goArch: hostGoArch(), capabilities: caps });
    }
  }
  return spec;
}

function defaultMounts(shmSize: number, privileged: boolean, shm: NonNullable<SpecOptions['shm']>): OciMount[] {
  const mounts: OciMount[] = [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    {
      destination: '/dev/pts',
      type: 'devpts',
      source: 'devpts',
      options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
    },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', privileged ? 'rw' : 'ro'] },
    { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: [privileged ? 'rw' : 'ro', 'nosuid', 'noexec', 'nodev'] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    {
      destination: '/dev/shm',
      type: 'tmpfs',
      source: 'shm',
      options: ['nosuid', 'noexec', 'nodev', 'mode=1777', `size=${Math.floor(shmSize / 1024)}k`],
    },
  ];
  if (shm === 'none') mounts.pop();
  else if (shm !== 'tmpfs') mounts[mounts.length - 1] = { destination: '/dev/shm', type: 'bind', source: shm.bind, options: ['rbind', 'rprivate'] };
  return mounts;
}

function thermalThrottlePaths(): string[] {
  return Array.from({ length: availableParallelism() }, (_, i) => `/sys/devices/system/cpu/cpu${i}/thermal_throttle`);
}

/** Docker's names and messages (oci/caps NormalizeLegacyCapabilities). */
function normalizeCap(cap: string, available: readonly string[]): string {
  const upper = cap.trim().toUpperCase();
  if (upper === 'ALL') return upper;
  const full = upper.startsWith('CAP_') ? upper : `CAP_${upper}`;
  if (!allCapabilities.includes(full)) throw new InvalidArgumentError(`unknown capability: "${full}"`);
  if (!available.includes(full)) {
    throw new InvalidArgumentError(`capability not supported by your kernel or not available in the current environment: "${full}"`);
  }
  return full;
}

/**
 * moby's `TweakCapabilities`: `--cap-add ALL` gives every available capability but the dropped ones;
 * `--cap-drop ALL` keeps only the added ones; otherwise the default set minus the dropped plus the
 * added. Names are case-insensitive, with or without `CAP_`. InvalidArgumentError `unknown
 * capability: "CAP_X"`, or Docker's "not available in the current environment" for one missing
 * from `available` (default: the agent's bounding set).
 */
export function computeCapabilities(capAdd: string[], capDrop: string[], options: { available?: readonly string[] } = {}): string[] {
  const available = options.available ?? hostCapabilities(allCapabilities);
  const add = capAdd.map((c) => normalizeCap(c, available));
  const drop = capDrop.map((c) => normalizeCap(c, available));
  let caps: string[];
  if (add.includes('ALL')) caps = available.filter((c) => !drop.includes(c));
  else if (drop.includes('ALL')) caps = add;
  else caps = [...defaultCapabilities.filter((c) => !drop.includes(c)), ...add];
  return [...new Set(caps)];
}

function buildEnv(options: SpecOptions, hostname: string): string[] {
  const env = new Map<string, string>();
  const put = (entry: string) => {
    const i = entry.indexOf('=');
    env.set(i < 0 ? entry : entry.slice(0, i), entry);
  };
  put(`PATH=${defaultPath}`);
  put(`HOSTNAME=${hostname}`);
  if (options.terminal) put('TERM=xterm');
  for (const e of options.env ?? []) put(e);
  if (!env.has('HOME')) put(`HOME=${options.user?.home || '/'}`);
  return [...env.values()];
}

function buildRlimits(ulimits: Array<{ name: string; soft: number; hard: number }>, host: Record<string, HostRlimit>): OciRlimit[] {
  const out = new Map<string, OciRlimit>();
  const nofileHard = host.RLIMIT_NOFILE?.hard ?? 1048576;
  const nofile = Math.min(1048576, nofileHard);
  out.set('RLIMIT_NOFILE', { type: 'RLIMIT_NOFILE', soft: nofile, hard: nofile });
  for (const u of ulimits) {
    const type = rlimitNames[u.name];
    if (!type) throw new InvalidArgumentError(`Invalid ulimit "${u.name}": expected one of ${Object.keys(rlimitNames).join(', ')}`);
    if (u.soft > u.hard) {
      throw new InvalidArgumentError(`Invalid ulimit "${u.name}": soft limit ${u.soft} is greater than hard limit ${u.hard}`);
    }
    const hostHard = host[type]?.hard ?? Infinity;
    if (u.hard > hostHard) {
      throw new InvalidArgumentError(`Invalid ulimit "${u.name}": hard limit ${u.hard} exceeds the host's hard limit ${hostHard}`);
    }
    out.set(type, { type, soft: u.soft, hard: u.hard });
  }
  return [...out.values()];
}

/**
 * The cgroup limits of `options` alone, without device rules: what `runc update` is given for a
 * running container (`docker update`). Same checks and messages as generateSpec.
 */
export function resourceLimits(
  options: Pick<SpecOptions, 'memory' | 'memorySwap' | 'memoryReservation' | 'cpus' | 'cpuShares' | 'cpusetCpus' | 'pidsLimit' | 'oomKillDisable'>,
): OciLinuxResources {
  const { devices: _devices, ...limits } = buildResources(options as SpecOptions, false);
  if (options.pidsLimit !== undefined && options.pidsLimit <= 0) limits.pids = { limit: -1 };
  return limits;
}

function buildResources(options: SpecOptions, privileged: boolean) {
  const resources: NonNullable<OciSpec['linux']['resources']> = {
    devices: privileged ? [{ allow: true, access: 'rwm' }] : defaultDeviceRules.map((d) => ({ ...d })),
  };
  if (options.memory !== undefined && options.memory > 0) {
    if (options.memory < 6 * 1024 * 1024) {
      throw new InvalidArgumentError('Minimum memory limit allowed is 6MB');
    }
    const swap = options.memorySwap ?? options.memory;
    if (swap > 0 && swap < options.memory) {
      throw new InvalidArgumentError('Minimum memoryswap limit should be larger than memory limit, see usage');
    }
    resources.memory = { limit: options.memory, swap };
  }
  if (options.memoryReservation !== undefined && options.memoryReservation > 0) {
    resources.memory = { ...resources.memory, reservation: options.memoryReservation };
  }
  if (options.oomKillDisable) resources.memory = { ...resources.memory, disableOOMKiller: true };
  if (options.cpus !== undefined || options.cpuShares !== undefined || options.cpusetCpus !== undefined) {
    resources.cpu = {};
    if (options.cpus !== undefined && options.cpus > 0) {
      const ncpu = availableParallelism();
      if (options.cpus > ncpu) {
        throw new InvalidArgumentError(`Range of CPUs is from 0.01 to ${ncpu}.00, as there are only ${ncpu} CPUs available`);
      }
      resources.cpu.period = 100000;
      resources.cpu.quota = Math.round(options.cpus * 100000);
    }
    if (options.cpuShares) resources.cpu.shares = options.cpuShares;
    if (options.cpusetCpus) resources.cpu.cpus = options.cpusetCpus;
  }
  if (options.pidsLimit !== undefined && options.pidsLimit > 0) resources.pids = { limit: options.pidsLimit };
  return resources;
}
