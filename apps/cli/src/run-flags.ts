import { closeSync, existsSync, openSync, rmSync, writeSync } from 'node:fs';
import type { ContainerSpec } from '@berth/proto';
import { quietFlag } from './command-def.js';
import type { FlagSpec, FlagValue } from './flags.js';
import { keyValueMap } from './key-value-map.js';

/**
 * The remaining `run` / `create` flags: `-a/--attach`, `--cidfile`, `--link`, `--log-driver`,
 * `--log-opt`, `--platform` and `-q/--quiet` (pull output), with the docker CLI's checks
 * (cli/command/container/opts.go, create.go).
 */

/** docker's validateAttach. */
function validateAttach(value: string): string | undefined {
  return ['stdin', 'stdout', 'stderr'].includes(value.toLowerCase()) ? undefined : 'valid streams are STDIN, STDOUT and STDERR';
}

/** docker's opts.ValidateLink. */
function validateLink(value: string): string | undefined {
  if (value === '') return 'empty string specified for links';
  if (value.split(':').length > 2) return `bad format for links: ${value}`;
  return undefined;
}

export const runFlags: FlagSpec[] = [
  { long: 'attach', short: 'a', type: 'list', validate: validateAttach, description: 'Attach to STDIN, STDOUT or STDERR' },
  { long: 'cidfile', type: 'string', description: 'Write the container ID to the file' },
  { long: 'link', type: 'list', validate: validateLink, description: 'Add link to another container' },
  { long: 'log-driver', type: 'string', description: 'Logging driver for the container' },
  { long: 'log-opt', type: 'list', description: 'Log driver options' },
  { long: 'platform', type: 'string', description: 'Set platform if server is multi-platform capable' },
  quietFlag('Suppress the pull output'),
  // Berth's cluster placement (placement-metadata.ts), as swarm's service create flags.
  { long: 'node', type: 'string', description: 'Place the container on this node (name or id)' },
  { long: 'constraint', type: 'list', description: 'Placement constraint (node.labels.k==v, node.hostname!=n)' },
];

/** The create request's fields of these flags; `invalid` makes the usage error to throw. */
export function runSpecFields(
  values: Record<string, FlagValue>,
  options: { detach: boolean; interactive: boolean },
  invalid: (message: string) => Error,
): Pick<ContainerSpec, 'attach' | 'links' | 'logConfig' | 'platform' | 'containerIdFile'> {
  const list = (name: string) => (values[name] as string[] | undefined) ?? [];
  const str = (name: string) => (values[name] as string | undefined) ?? '';
  const attach = [...new Set(list('attach').map((s) => s.toLowerCase()))];
  if (options.detach && attach.length > 0) throw invalid('Conflicting options: -a and -d');
  const driver = str('log-driver');
  const opts = list('log-opt');
  if (driver === 'none' && opts.length > 0) throw invalid(`invalid logging opts for driver ${driver}`);
  const config = keyValueMap(opts);
  // docker's Config.Attach*: without -a, stdout and stderr (and stdin with -i) unless detached
  let streams = attach.length > 0 ? attach : options.detach ? [] : ['stdout', 'stderr'];
  if (options.interactive && !options.detach && !streams.includes('stdin')) streams = ['stdin', ...streams];
  return {
    attach: streams,
    links: list('link'),
    logConfig: driver || opts.length > 0 ? { type: driver, config } : undefined,
    platform: str('platform'),
    containerIdFile: str('cidfile'),
  };
}

/**
 * docker's cidFile: refused when the file exists, created before the container is, written with
 * its id after, removed when the create fails.
 */
export class CidFile {
  private fd?: number;

  constructor(private readonly path: string) {}

  /** Creates the (empty) file; the message docker gives when it exists. */
  open(): string | undefined {
    if (!this.path) return undefined;
    if (existsSync(this.path)) return `container ID file found, make sure the other container isn't running or delete ${this.path}`;
    try {
      this.fd = openSync(this.path, 'wx', 0o644);
    } catch (err) {
      return `failed to create the container ID file: ${(err as Error).message}`;
    }
    return undefined;
  }

  write(id: string): void {
    if (this.fd === undefined) return;
    writeSync(this.fd, id);
    closeSync(this.fd);
    this.fd = undefined;
  }

  /** After a failed create: the file goes. */
  discard(): void {
    if (this.fd === undefined) return;
    closeSync(this.fd);
    this.fd = undefined;
    rmSync(this.path, { force: true });
  }
}
