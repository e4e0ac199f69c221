import { dirname, resolve } from 'node:path';
import { dependencyOrder, loadProject } from '@berth/compose';
import { InvalidArgumentError, isBerthError } from '@berth/errors';

/** One platform service, as `compose/platform/compose.yaml` describes it. */
export interface PlatformService {
  name: string;
  command: string[];
  dependsOn: string[];
  /** ["tcp", "host:port"] or ["grpc", address]: when the service answers (its `x-ready`). */
  healthcheck?: [kind: 'tcp' | 'grpc', target: string];
}

/** The provider type of a service run as a host process by libs/platform (not a container). */
export const HOST_PROCESS_PROVIDER = 'host-process';

/** A list as shell words, each single-quoted (the loader splits `command` strings as Compose does). */
function shellWords(items: string[]): string {
  return items.map((w) => `'${w.replaceAll("'", `'\\''`)}'`).join(' ');
}

/**
 * Loads the platform's Compose file with libs/compose (the loader `berth compose` uses: schema,
 * consistency, interpolation, `command` split into words) and returns its services as the
 * host-process backend runs them, in start order (dependencies first). `vars` are the whole
 * interpolation environment (not the shell's); a list is given as shell words, so `${NODE}` in a
 * command becomes zero or more arguments. Every service must be a `host-process` provider service;
 * a variable the file uses and `vars` lacks is an error naming it.
 */
export function loadPlatformFile(file: string, vars: Record<string, string | string[]>): PlatformService[] {
  const environment = Object.fromEntries(Object.entries(vars).map(([k, v]) => [k, Array.isArray(v) ? shellWords(v) : v]));
  const path = resolve(file);
  let project;
  try {
    project = loadProject({ cwd: dirname(path), configFiles: [path], environment, projectDirectory: dirname(path) });
  } catch (err) {
    if (isBerthError(err)) throw new InvalidArgumentError(`Cannot read platform file ${file}: ${err.message}`, { cause: err });
    throw err;
  }
  const unset = project.warnings.find((w) => /^The ".*" variable is not set/.test(w));
  if (unset) throw new InvalidArgumentError(`${file}: ${unset.replace('. Defaulting to a blank string.', '')}`);
  return dependencyOrder(project).map((name): PlatformService => {
    const s = project.services[name]!;
    const where = `${file}: services.${name}`;
    if ((s.provider as { type?: unknown } | undefined)?.type !== HOST_PROCESS_PROVIDER) {
      throw new InvalidArgumentError(`${where}.provider.type: the platform runs "${HOST_PROCESS_PROVIDER}" services only`);
    }
    if (!s.command || s.command.length === 0) throw new InvalidArgumentError(`${where}.command: expected a command`);
    const ready = (s as Record<string, unknown>)['x-ready'];
    let healthcheck: PlatformService['healthcheck'];
    if (ready !== undefined) {
      if (!Array.isArray(ready) || ready.length !== 2 || (ready[0] !== 'tcp' && ready[0] !== 'grpc')) {
        throw new InvalidArgumentError(`${where}.x-ready: expected [tcp|grpc, address]`);
      }
      healthcheck = [ready[0], String(ready[1])];
    }
    return { name, command: s.command, dependsOn: Object.keys(s.depends_on ?? {}), healthcheck };
  });
}
