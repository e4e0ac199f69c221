import { randomBytes } from 'node:crypto';
import { InvalidArgumentError } from '@berth/errors';

/** Docker's local driver: names start with an alphanumeric and go on with `[a-zA-Z0-9_.-]`. */
const validName = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

/**
 * A volume's name is a directory name under the data root, which Linux limits to 255 bytes (the
 * allowed characters are one byte each). Docker lets mkdir fail and shows the path in the error;
 * Berth refuses it up front, without revealing where its data lives.
 */
const maxNameLength = 255;

/**
 * Checks a volume name as Docker's local driver does, with its messages. Throws
 * InvalidArgumentError; `/host/path` style names are refused with the hint to use a bind mount.
 */
export function checkVolumeName(name: string): void {
  if (name.length > maxNameLength) {
    throw new InvalidArgumentError(`volume name "${name.slice(0, 40)}…" is too long: ${name.length} characters, the maximum is ${maxNameLength}`, {
      code: 'INVALID_VOLUME_NAME',
      detail: { name },
    });
  }
  if (name.length < 2) {
    throw new InvalidArgumentError(`volume name is too short, names should be at least two alphanumeric characters`, {
      code: 'INVALID_VOLUME_NAME',
      detail: { name },
    });
  }
  if (!validName.test(name)) {
    throw new InvalidArgumentError(
      `"${name}" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host directory, use absolute path`,
      { code: 'INVALID_VOLUME_NAME', detail: { name } },
    );
  }
}

/** The name of an anonymous volume: 64 random hex digits, like Docker's. */
export function randomVolumeName(): string {
  return randomBytes(32).toString('hex');
}
