import { readFileSync } from 'node:fs';
import { load as loadYaml } from 'js-yaml';
import { InvalidArgumentError } from '@berth/errors';

/** One platform service, as `compose/platform.yaml` describes it. */
export interface PlatformService {
  name: string;
  command: string[];
  dependsOn: string[];
  /** ["tcp", "host:port"] or ["grpc", address] */
  healthcheck?: [kind: 'tcp' | 'grpc', target: string];
}

/**
 * Reads a platform file (a Compose-shaped YAML: services with command, depends_on, healthcheck)
 * and fills in `${VAR}`s. Services come back in start order (dependencies first).
 * A command element that is exactly "${VAR}" where VAR is a list expands to its items, none or
 * several (`${REGISTRY}`: node, its V8 flags and the bundle or the source through tsx).
 */
export function loadPlatformFile(file: string, vars: Record<string, string | string[]>): PlatformService[] {
  let doc: unknown;
  try {
    doc = loadYaml(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new InvalidArgumentError(`Cannot read platform file ${file}: ${(err as Error).message}`, { cause: err });
  }
  const services = (doc as { services?: Record<string, unknown> })?.services;
  if (!services || typeof services !== 'object') throw new InvalidArgumentError(`${file}: services: expected a mapping of services`);
  const interpolate = (s: string, where: string): string =>
    s.replace(/\$\{([A-Z_]+)\}/g, (_, name: string) => {
      const value = vars[name];
      if (value === undefined) throw new InvalidArgumentError(`${file}: ${where}: unknown variable \${${name}}`);
      return Array.isArray(value) ? value.join(' ') : value;
    });
  const parsed = Object.entries(services).map(([name, raw]): PlatformService => {
    const svc = raw as { command?: unknown; depends_on?: unknown; healthcheck?: { test?: unknown } };
    if (!Array.isArray(svc.command) || svc.command.length === 0)
      throw new InvalidArgumentError(`${file}: services.${name}.command: expected a non-empty list`);
    const command = svc.command.flatMap((arg: unknown, i: number) => {
      const where = `services.${name}.command[${i}]`;
      const whole = /^\$\{([A-Z_]+)\}$/.exec(String(arg));
      if (whole && Array.isArray(vars[whole[1]!])) return vars[whole[1]!] as string[];
      return [interpolate(String(arg), where)];
    });
    const test = svc.healthcheck?.test;
    let healthcheck: PlatformService['healthcheck'];
    if (test !== undefined) {
      if (!Array.isArray(test) || test.length !== 2 || (test[0] !== 'tcp' && test[0] !== 'grpc'))
        throw new InvalidArgumentError(`${file}: services.${name}.healthcheck.test: expected [tcp|grpc, target]`);
      healthcheck = [test[0], interpolate(String(test[1]), `services.${name}.healthcheck.test[1]`)];
    }
    const dependsOn = (svc.depends_on ?? []) as string[];
    return { name, command, dependsOn, healthcheck };
  });
  return startOrder(parsed, file);
}

function startOrder(services: PlatformService[], file: string): PlatformService[] {
  const byName = new Map(services.map((s) => [s.name, s]));
  const ordered: PlatformService[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (s: PlatformService, path: string[]) => {
    if (state.get(s.name) === 'done') return;
    if (state.get(s.name) === 'visiting') throw new InvalidArgumentError(`${file}: dependency cycle: ${[...path, s.name].join(' -> ')}`);
    state.set(s.name, 'visiting');
    for (const dep of s.dependsOn) {
      const d = byName.get(dep);
      if (!d) throw new InvalidArgumentError(`${file}: services.${s.name}.depends_on: unknown service "${dep}"`);
      visit(d, [...path, s.name]);
    }
    state.set(s.name, 'done');
    ordered.push(s);
  };
  services.forEach((s) => visit(s, []));
  return ordered;
}
