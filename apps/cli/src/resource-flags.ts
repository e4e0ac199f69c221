import { posix } from 'node:path';
import type { ContainerSpec, DeviceMapping, Ulimit } from '@berth/proto';
import type { FlagSpec, FlagValue } from './flags.js';
import { ramInBytes } from './units.js';

/**
 * The resource, namespace and kernel flags of `run` / `create` (and the resource ones of `update`):
 * `--memory-swap`, `--memory-reservation`, `--cpu-shares`, `--cpuset-cpus`, `--oom-kill-disable`,
 * `--ulimit`, `--device`, `--shm-size`, `--sysctl`, `--ipc`, `--pid`, `--uts`, `--cgroupns`,
 * `--group-add`, checked as the docker CLI checks them (opts/opts.go, opts/ulimit.go, container/opts.go).
 * The platform checks them again.
 */

/** go-units ParseUlimit's names. */
const ulimitNames = new Set(['core', 'cpu', 'data', 'fsize', 'locks', 'memlock', 'msgqueue', 'nice', 'nofile', 'nproc', 'rss', 'rtprio', 'rttime', 'sigpending', 'stack']);

/** go-units ParseUlimit: `name=soft[:hard]`; undefined message when valid. */
export function parseUlimit(value: string): Ulimit | string {
  const eq = value.indexOf('=');
  if (eq < 0) return `invalid ulimit argument: ${value}`;
  const name = value.slice(0, eq);
  if (!ulimitNames.has(name)) return `invalid ulimit type: ${name}`;
  const limits = value.slice(eq + 1).split(':');
  if (limits.length > 2) return `too many limit value arguments - ${value.slice(eq + 1)}, can only have up to two, \`soft[:hard]\``;
  const parse = (text: string): number | string =>
    /^[+-]?\d+$/.test(text) && Number.isSafeInteger(Number(text)) ? Number(text) : `strconv.ParseInt: parsing ${JSON.stringify(text)}: invalid syntax`;
  const soft = parse(limits[0]!);
  if (typeof soft === 'string') return soft;
  const hard = limits.length === 2 ? parse(limits[1]!) : soft;
  if (typeof hard === 'string') return hard;
  if (hard !== -1 && soft > hard) return `ulimit soft limit must be less than or equal to hard limit: ${soft} > ${hard}`;
  return { name, soft, hard };
}

/** docker's opts.ValidateSysctl. */
export function validateSysctl(value: string): string | undefined {
  const eq = value.indexOf('=');
  const key = eq < 0 ? '' : value.slice(0, eq);
  const allowed = ['kernel.msgmax', 'kernel.msgmnb', 'kernel.msgmni', 'kernel.sem', 'kernel.shmall', 'kernel.shmmax', 'kernel.shmmni', 'kernel.shm_rmid_forced'];
  if (key !== '' && (allowed.includes(key) || key.startsWith('net.') || key.startsWith('fs.mqueue.'))) return undefined;
  return `sysctl '${value}' is not allowed`;
}

function validDeviceMode(mode: string): boolean {
  return mode !== '' && /^[rwm]+$/.test(mode) && new Set(mode).size === mode.length;
}

/** docker's validateLinuxPath + parseLinuxDevice: `HOST[:CONTAINER][:MODE]`. */
export function parseDevice(value: string): DeviceMapping | string {
  if ((value.match(/:/g) ?? []).length > 2) return `bad format for path: ${value}`;
  const parts = value.split(':');
  if (parts[0] === '') return `bad format for path: ${value}`;
  let containerPath = parts[0]!;
  let permissions = 'rwm';
  if (parts.length === 2) {
    if (validDeviceMode(parts[1]!)) permissions = parts[1]!;
    else containerPath = parts[1]!;
  } else if (parts.length === 3) {
    containerPath = parts[1]!;
    if (!validDeviceMode(parts[2]!)) return `bad mode specified: ${parts[2]}`;
    permissions = parts[2]!;
  }
  if (!containerPath.startsWith('/')) return `${containerPath} is not an absolute path`;
  return { pathOnHost: parts[0]!, pathInContainer: posix.normalize(containerPath), cgroupPermissions: permissions };
}

function validateMemorySwap(value: string): string | undefined {
  if (value === '-1') return undefined;
  try {
    ramInBytes(value);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

const reason = <T>(parse: (v: string) => T | string) => (v: string) => {
  const r = parse(v);
  return typeof r === 'string' ? r : undefined;
};

/** The resource flags `update` shares with `run`. */
export const updatableResourceFlags: FlagSpec[] = [
  { long: 'cpus', type: 'decimal', description: 'Number of CPUs' },
  { long: 'memory', short: 'm', type: 'bytes', description: 'Memory limit' },
  { long: 'pids-limit', type: 'int', description: 'Tune container pids limit (set -1 for unlimited)' },
  { long: 'cpu-shares', short: 'c', type: 'int', description: 'CPU shares (relative weight)' },
  { long: 'cpuset-cpus', type: 'string', description: 'CPUs in which to allow execution (0-3, 0,1)' },
  { long: 'memory-reservation', type: 'bytes', description: 'Memory soft limit' },
  { long: 'memory-swap', type: 'string', typeName: 'bytes', validate: validateMemorySwap, description: "Swap limit equal to memory plus swap: -1 to enable unlimited swap" },
];

export const resourceFlags: FlagSpec[] = [
  ...updatableResourceFlags,
  { long: 'oom-kill-disable', type: 'bool', description: 'Disable OOM Killer' },
  { long: 'ulimit', type: 'list', typeName: 'ulimit', validate: reason(parseUlimit), description: 'Ulimit options' },
  { long: 'device', type: 'list', validate: reason(parseDevice), description: 'Add a host device to the container' },
  { long: 'shm-size', type: 'bytes', description: 'Size of /dev/shm' },
  { long: 'sysctl', type: 'list', typeName: 'map', validate: validateSysctl, description: 'Sysctl options' },
  { long: 'ipc', type: 'string', description: 'IPC mode to use' },
  { long: 'pid', type: 'string', description: 'PID namespace to use' },
  { long: 'uts', type: 'string', description: 'UTS namespace to use' },
  {
    long: 'cgroupns',
    type: 'string',
    description:
      "Cgroup namespace to use (host|private)\n'host':    Run the container in the host's cgroup namespace\n'private': Run the container in its own private cgroup namespace\n'':        Use the cgroup namespace as configured by the\n           default-cgroupns-mode option on the daemon (default)",
  },
  { long: 'group-add', type: 'list', description: 'Add additional groups to join' },
];

/** `--memory-swap` as bytes (-1 unlimited, 0 unset). */
export function memorySwapOf(values: Record<string, FlagValue>): number {
  const text = (values['memory-swap'] as string | undefined) ?? '';
  if (text === '') return 0;
  return text === '-1' ? -1 : ramInBytes(text);
}

type HostFields = Pick<ContainerSpec, 'shmSize' | 'sysctls' | 'ipcMode' | 'pidMode' | 'utsMode' | 'cgroupnsMode' | 'groupAdd'>;

/**
 * The create request's extra resources and host fields; `invalid` makes the usage error to throw
 * (docker's `--pid: invalid PID mode`, …).
 */
export function resourceSpecFields(
  values: Record<string, FlagValue>,
  invalid: (message: string) => Error,
): { resources: Pick<ContainerSpec['resources'] & object, 'memorySwap' | 'memoryReservation' | 'cpuShares' | 'cpusetCpus' | 'oomKillDisable' | 'ulimits' | 'devices'> } & HostFields {
  const str = (name: string) => (values[name] as string | undefined) ?? '';
  const list = (name: string) => (values[name] as string[] | undefined) ?? [];
  const pid = str('pid');
  if (pid !== '' && pid !== 'host' && !/^container:.+/.test(pid)) throw invalid('--pid: invalid PID mode');
  const uts = str('uts');
  if (uts !== '' && uts !== 'host') throw invalid('--uts: invalid UTS mode');
  const cgroupns = str('cgroupns');
  if (!['', 'host', 'private'].includes(cgroupns)) throw invalid('--cgroupns: invalid CGROUP mode');
  const sysctls: Record<string, string> = {};
  for (const entry of list('sysctl')) {
    const eq = entry.indexOf('=');
    sysctls[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return {
    resources: {
      memorySwap: memorySwapOf(values),
      memoryReservation: (values['memory-reservation'] as number | undefined) ?? 0,
      cpuShares: (values['cpu-shares'] as number | undefined) ?? 0,
      cpusetCpus: str('cpuset-cpus'),
      oomKillDisable: (values['oom-kill-disable'] as boolean | undefined) ?? false,
      ulimits: list('ulimit').map((u) => parseUlimit(u) as Ulimit),
      devices: list('device').map((d) => parseDevice(d) as DeviceMapping),
    },
    shmSize: (values['shm-size'] as number | undefined) ?? 0,
    sysctls,
    ipcMode: str('ipc'),
    pidMode: pid,
    utsMode: uts,
    cgroupnsMode: cgroupns,
    groupAdd: list('group-add'),
  };
}
