import { InternalError, InvalidArgumentError } from '@berth/errors';
import { runCommand } from '@berth/subprocess';

/**
 * The options of Docker's `local` volume driver (`--opt type=tmpfs --opt device=tmpfs --opt o=size=64m`,
 * `--opt type=none --opt o=bind --opt device=/srv/data`): with them, the volume's `_data` directory is
 * the mountpoint of that filesystem instead of a plain directory.
 */
export interface LocalMountOptions {
  type: string;
  device: string;
  /** Comma-separated mount options (`o`), '' for none. */
  o: string;
}

const validKeys = new Set(['type', 'device', 'o', 'size']);

/**
 * Validates driver options (Docker's messages) and returns the mount they describe, or undefined
 * when there are none (a plain directory). InvalidArgumentError for an unknown key or a missing one.
 */
export function parseLocalOptions(options: Record<string, string>): LocalMountOptions | undefined {
  for (const key of Object.keys(options)) {
    if (!validKeys.has(key)) throw new InvalidArgumentError(`invalid option key: "${key}"`, { code: 'INVALID_VOLUME_OPTION' });
  }
  if (Object.keys(options).length === 0) return undefined;
  if (options.size !== undefined) {
    throw new InvalidArgumentError(`quota size requested but no quota support: use --opt type=tmpfs --opt o=size=${options.size}`, {
      code: 'INVALID_VOLUME_OPTION',
    });
  }
  if (!options.type) throw new InvalidArgumentError(`missing required option: "type"`, { code: 'INVALID_VOLUME_OPTION' });
  if (!options.device) throw new InvalidArgumentError(`missing required option: "device"`, { code: 'INVALID_VOLUME_OPTION' });
  const o = options.o ?? '';
  if (/(^|,)bind(,|$)/.test(o) && !options.device.startsWith('/')) {
    throw new InvalidArgumentError(`invalid device "${options.device}" for a bind volume: expected an absolute host path`, {
      code: 'INVALID_VOLUME_OPTION',
    });
  }
  return { type: options.type, device: options.device, o };
}

/** Mounts `options` on `target` (`mount -t type -o o device target`). InternalError with mount's message. */
export async function mountLocal(options: LocalMountOptions, target: string): Promise<void> {
  const args = ['-t', options.type, ...(options.o ? ['-o', options.o] : []), '--', options.device, target];
  const res = await runCommand('mount', args).catch((err: Error) => ({ code: -1, stderr: err.message }));
  if (res.code !== 0) {
    throw new InternalError(`error while mounting volume '${target}': ${res.stderr.toString().trim() || `mount exited with ${res.code}`}`);
  }
}
