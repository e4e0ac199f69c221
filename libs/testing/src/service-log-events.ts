import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The events service `service` of the platform at `dataRoot` logged (`<dataRoot>/logs/<service>.log`,
 * one JSON object a line); lines that are not JSON (nats-server's, a service's readiness line) are left out.
 */
export function serviceLogEvents(dataRoot: string, service: string): Array<Record<string, unknown>> {
  return readFileSync(join(dataRoot, 'logs', `${service}.log`), 'utf8')
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as Record<string, unknown>];
      } catch {
        return []; // a line cut short (the disk filled while it was written)
      }
    });
}
