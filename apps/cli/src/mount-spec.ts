import { resolve } from 'node:path';
import { ContainerMount, type ContainerSpec } from '@berth/proto';
import type { FlagValue } from './flags.js';
import { keyValueMap } from './key-value-map.js';
import { ramInBytes } from './units.js';

/**
 * What the volume and mount flags of `run` / `create` (mount-flags.ts) put in the create request:
 * `--mount` and `--tmpfs` parsed as the docker CLI does (cli/opts/mount.go). Apart from the flag
 * table, so that the command table (loaded by every command) does not load the protobuf code.
 */

function parseBoolValue(key: string, value: string): boolean {
  if (/^(1|t|true)$/i.test(value)) return true;
  if (/^(0|f|false)$/i.test(value)) return false;
  throw new Error(`invalid value for ${key}: ${value}`);
}

/** One `--mount` value (`type=bind,source=/x,target=/y,readonly`). Throws Error with docker's text. */
export function parseMountFlag(value: string): ContainerMount {
  const mount = ContainerMount.fromPartial({});
  let volumeOptions = false;
  let bindOptions = false;
  let tmpfsOptions = false;
  for (const field of value.split(',')) {
    if (field === '') continue;
    const eq = field.indexOf('=');
    const key = (eq < 0 ? field : field.slice(0, eq)).toLowerCase();
    const val = eq < 0 ? undefined : field.slice(eq + 1);
    if (val === undefined && !['readonly', 'ro', 'volume-nocopy'].includes(key)) {
      throw new Error(`invalid field '${field}' must be a key=value pair`);
    }
    switch (key) {
      case 'type':
        mount.type = val!.toLowerCase();
        break;
      case 'source':
      case 'src':
        mount.source = val!;
        break;
      case 'target':
      case 'dst':
      case 'destination':
        mount.target = val!;
        break;
      case 'readonly':
      case 'ro':
        mount.readOnly = val === undefined ? true : parseBoolValue(key, val);
        break;
      case 'consistency':
        break; // macOS-only in docker; nothing to do on Linux
      case 'bind-propagation':
        bindOptions = true;
        mount.bindPropagation = val!.toLowerCase();
        break;
      case 'volume-nocopy':
        volumeOptions = true;
        mount.volumeNoCopy = val === undefined ? true : parseBoolValue(key, val);
        break;
      case 'volume-label': {
        volumeOptions = true;
        const i = val!.indexOf('=');
        mount.volumeLabels[i < 0 ? val! : val!.slice(0, i)] = i < 0 ? '' : val!.slice(i + 1);
        break;
      }
      case 'volume-driver':
        volumeOptions = true;
        if (val !== 'local') throw new Error(`volume driver "${val}" is not supported: only "local" exists`);
        break;
      case 'tmpfs-size':
        tmpfsOptions = true;
        try {
          mount.tmpfsSizeBytes = ramInBytes(val!);
        } catch {
          throw new Error(`invalid value for ${key}: ${val}`);
        }
        break;
      case 'tmpfs-mode': {
        tmpfsOptions = true;
        if (!/^[0-7]+$/.test(val!)) throw new Error(`invalid value for ${key}: ${val}`);
        mount.tmpfsMode = parseInt(val!, 8);
        break;
      }
      default:
        throw new Error(`unexpected key '${key}' in '${field}'`);
    }
  }
  if (mount.type === '') throw new Error('type is required');
  if (mount.target === '') throw new Error('target is required');
  if (volumeOptions && mount.type !== 'volume') throw new Error(`cannot mix 'volume-*' options with mount type '${mount.type}'`);
  if (bindOptions && mount.type !== 'bind') throw new Error(`cannot mix 'bind-*' options with mount type '${mount.type}'`);
  if (tmpfsOptions && mount.type !== 'tmpfs') throw new Error(`cannot mix 'tmpfs-*' options with mount type '${mount.type}'`);
  return mount;
}

/**
 * docker CLI 23+: a `-v` source starting with `.` is a host path relative to the working directory,
 * sent as an absolute path (any other relative source is a volume name).
 */
export function absoluteBind(value: string, cwd: string = process.cwd()): string {
  const colon = value.indexOf(':');
  if (colon < 0 || !value.startsWith('.')) return value;
  return resolve(cwd, value.slice(0, colon)) + value.slice(colon);
}

/** `--tmpfs /path[:options]` values as the map the platform takes. */
export function parseTmpfsFlags(values: string[]): Record<string, string> {
  return keyValueMap(values, ':');
}

/**
 * The ContainerSpec fields of the mount flags. `fail` turns a message into the error to throw
 * (docker's `invalid argument "…" for "--mount" flag: …`).
 */
export function mountSpecFields(
  values: Record<string, FlagValue>,
  fail: (message: string) => Error,
): Pick<ContainerSpec, 'binds' | 'mounts' | 'tmpfs' | 'volumesFrom'> {
  const list = (name: string) => (values[name] as string[] | undefined) ?? [];
  const mounts = list('mount').map((value) => {
    try {
      return parseMountFlag(value);
    } catch (err) {
      throw fail(`invalid argument "${value}" for "--mount" flag: ${(err as Error).message}`);
    }
  });
  for (const m of mounts) if (m.type === 'bind' && m.source.startsWith('.')) m.source = resolve(m.source);
  return { binds: list('volume').map((v) => absoluteBind(v)), mounts, tmpfs: parseTmpfsFlags(list('tmpfs')), volumesFrom: list('volumes-from') };
}
