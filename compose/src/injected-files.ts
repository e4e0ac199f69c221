import type { FileObjectConfig, Project, ServiceConfig, ServiceFileReference } from '@berth/compose';
import { InvalidArgumentError } from '@berth/errors';
import { encodeHeader, END_OF_ARCHIVE, paddingOf } from '@berth/layers';

/**
 * Secrets and configs whose content is not a file on this machine (`environment:` and, for
 * configs, `content:` sources) are written into the container after create and before start, as
 * compose v2 does (`injectSecrets`/`injectConfigs`): one tar through the platform's copy API
 * (`berth cp`'s machinery) extracted at `/`, each file with its `mode` (default 0444) and, when
 * given, `uid`/`gid`. `file:` sources are bind-mounted read-only instead (container-spec.ts).
 *
 * The content exists only in memory here and in the container's own filesystem on the platform
 * (under the data root, in directories only root can enter); it is never part of the create
 * request, the labels, the config hash, a progress line or an error message.
 */

export interface InjectedFile {
  kind: 'secret' | 'config';
  /** The key in the project's `secrets` / `configs`. */
  source: string;
  /** Absolute path in the container. */
  target: string;
  content: Buffer;
  uid: number;
  gid: number;
  mode: number;
  /** uid or gid given: the tar's owners are kept (else root:root). */
  keepOwners: boolean;
}

/** Where a secret or config goes: secrets under /run/secrets unless absolute, configs at /<source>. */
export function fileTarget(kind: 'secret' | 'config', ref: ServiceFileReference): string {
  const target = ref.target ?? (kind === 'secret' ? `/run/secrets/${ref.source}` : `/${ref.source}`);
  return kind === 'secret' && !target.startsWith('/') ? `/run/secrets/${target}` : target;
}

/** The project's definition of a service's secret or config, checked as the platform can honour it. */
export function fileObject(kind: 'secret' | 'config', ref: ServiceFileReference, project: Project): FileObjectConfig {
  const object = (kind === 'secret' ? project.secrets : project.configs)[ref.source];
  if (!object) throw new InvalidArgumentError(`${kind} "${ref.source}" is not defined in the project`);
  if (object.external) throw new InvalidArgumentError(`${kind} "${ref.source}": external ${kind}s are a Swarm feature and not supported`);
  return object;
}

function idOf(kind: string, ref: ServiceFileReference, field: 'uid' | 'gid'): number {
  const value = ref[field];
  if (value === undefined || value === '') return 0;
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError(`${kind} "${ref.source}": ${field} "${value}" is not a number`);
  return Number(value);
}

function modeOf(kind: string, ref: ServiceFileReference): number {
  if (ref.mode === undefined) return 0o444;
  const mode = Number.parseInt(String(ref.mode).replace(/^0o/i, ''), 8);
  if (!Number.isInteger(mode) || mode < 0 || mode > 0o7777) throw new InvalidArgumentError(`${kind} "${ref.source}": invalid mode "${ref.mode}"`);
  return mode;
}

/**
 * The files to write into a container of `service`: its environment- and content-sourced secrets
 * and configs. Throws InvalidArgumentError naming the secret and the variable when the variable is
 * not set (never its value).
 */
export function injectedFiles(project: Project, service: ServiceConfig): InjectedFile[] {
  const out: InjectedFile[] = [];
  const refs = [
    ...(service.secrets ?? []).map((ref) => ['secret', ref] as const),
    ...(service.configs ?? []).map((ref) => ['config', ref] as const),
  ];
  for (const [kind, ref] of refs) {
    const object = fileObject(kind, ref, project);
    let content: string;
    if (object.environment !== undefined) {
      const value = project.environment[object.environment];
      if (value === undefined) throw new InvalidArgumentError(`${kind} "${ref.source}": environment variable "${object.environment}" is not set`);
      content = value;
    } else if (object.content !== undefined) content = object.content;
    else continue;
    const uid = idOf(kind, ref, 'uid');
    const gid = idOf(kind, ref, 'gid');
    out.push({ kind, source: ref.source, target: fileTarget(kind, ref), content: Buffer.from(content), uid, gid, mode: modeOf(kind, ref), keepOwners: !!(ref.uid || ref.gid) });
  }
  return out;
}

/** One tar (paths relative to `/`) holding `files`, to extract at the container's root. */
export function injectionTar(files: InjectedFile[]): Buffer {
  const mtime = Math.floor(Date.now() / 1000);
  const parts: Buffer[] = [];
  for (const f of files) {
    parts.push(
      encodeHeader({
        name: f.target.replace(/^\/+/, ''),
        type: 'file',
        size: f.content.length,
        mode: f.mode,
        uid: f.uid,
        gid: f.gid,
        mtime,
        linkname: '',
        devmajor: 0,
        devminor: 0,
        xattrs: new Map(),
      }),
      f.content,
      Buffer.alloc(paddingOf(f.content.length)),
    );
  }
  parts.push(END_OF_ARCHIVE);
  return Buffer.concat(parts);
}
