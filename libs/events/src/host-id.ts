import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The id of the host whose data root is `dataRoot` (`<dataRoot>/host-id`, a UUID made once). It
 * names the host in the `hosts` bucket and in its services' NATS subjects and permissions, so
 * `platform up` makes it before the agent first starts.
 */
export function readHostId(dataRoot: string): string {
  const file = join(dataRoot, 'host-id');
  if (!existsSync(file)) {
    mkdirSync(dataRoot, { recursive: true });
    try {
      writeFileSync(file, `${randomUUID()}\n`, { flag: 'wx', mode: 0o644 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err; // made meanwhile by another process
    }
  }
  return readFileSync(file, 'utf8').trim();
}
