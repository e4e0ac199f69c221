import { randomBytes } from 'node:crypto';
import { chown, cp, mkdir, rm, writeFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { parseBytes } from '@berth/compose';
import type { RunMount } from '@berth/dockerfile';
import { InvalidArgumentError, NotFoundError } from '@berth/errors';
import type { TaskMount } from '@berth/worker';
import { checksumEntries, resolveSources } from '../context/copy-files.js';
import { valueExcerpt } from '../located.js';
import type { BuildRun } from '../solver/build-run.js';
import type { StageState } from '../solver/stage-state.js';
import { prepareCacheMounts } from './cache-mounts.js';
import { type FromRoot, fromRoot, type FromSources } from './from-source.js';
import { mountOwner } from './mount-owner.js';

/** The mounts of one RUN, resolved before its cache lookup. */
export interface PreparedRunMounts {
  /** What the mounted files add to the step's cache key: a checksum of each bind's source. */
  key: string;
  /** `type=secret,env=VAR` values (never in the key, the history or a log). */
  env: string[];
  /** The task's mounts, made when the step runs (cache directories, secret files, rw copies). */
  taskMounts(): Promise<TaskMount[]>;
  /** Unmounts the stages and images mounted for binds and removes the step's secret files and copies. */
  release(): Promise<void>;
}

/**
 * `RUN --mount=…` as BuildKit does it:
 * - `type=bind` (read-only unless `rw`, whose writes are thrown away): `source` (default the root)
 *   of the build context, or of `from` (a stage, a named context, an image). Its files are part of
 *   the cache key, as BuildKit's content checksum makes them.
 * - `type=cache`: a directory kept across builds (cache-mounts.ts).
 * - `type=tmpfs`: an empty tmpfs (`size` as docker reads sizes).
 * - `type=secret`: a `--secret` of the build as a file (default `/run/secrets/<id>`, mode 0400,
 *   `uid`/`gid` 0) or an environment variable (`env=`); a missing secret fails the step when it is
 *   `required`, else the mount is left out.
 * - `type=ssh`: refused (Berth has no SSH agent forwarding).
 * Targets are resolved against `cwd`. `expand` expands the step's variables in the option values.
 */
export async function prepareRunMounts(
  run: BuildRun,
  state: StageState,
  mounts: RunMount[],
  options: { cwd: string; expand: (word: string) => string; sources: FromSources },
): Promise<PreparedRunMounts> {
  const roots: FromRoot[] = [];
  const scratch: string[] = [];
  const keys: string[] = [];
  const env: string[] = [];
  const makers: Array<() => Promise<TaskMount[]>> = [];
  const release = async () => {
    for (const r of roots.splice(0)) await r.release();
    for (const dir of scratch.splice(0)) await rm(dir, { recursive: true, force: true });
  };
  try {
    for (const m of mounts) {
      const target = m.target ? posix.resolve(options.cwd || '/', options.expand(m.target)) : '';
      switch (m.type) {
        case 'cache':
          makers.push(() => prepareCacheMounts(run.cacheMountsDir, [m], options));
          break;
        case 'tmpfs': {
          const size = m.size ? tmpfsSize(options.expand(m.size)) : 0;
          makers.push(async () => [{ source: '', destination: target, type: 'tmpfs', ...(size > 0 ? { size } : {}) }]);
          break;
        }
        case 'bind': {
          const from = m.from ? options.expand(m.from) : undefined;
          const root = await fromRoot(run, state, from, { sources: options.sources, what: 'RUN --mount=from' });
          roots.push(root);
          const source = options.expand(m.source ?? '/');
          const entries = await resolveSources(root.root, [source], { context: root.context }).catch((err) => {
            throw err instanceof NotFoundError ? new NotFoundError(`RUN --mount=type=bind: source "${valueExcerpt(source)}" not found`, { cause: err }) : err;
          });
          if (entries.length !== 1) throw new InvalidArgumentError(`RUN --mount=type=bind: source "${valueExcerpt(source)}" names ${entries.length} files: expected one`);
          const entry = entries[0]!;
          // The context's and named contexts' files are checksummed; a stage or image is its key.
          const reader = !from && run.contextReader ? { reader: run.contextReader } : {};
          keys.push(`${target}=${root.key}:${root.context ? await checksumEntries([{ ...entry, name: '.' }], { withOwner: false, ...reader }) : posix.normalize(`/${source}`)}`);
          makers.push(async () => {
            if (m.readonly) return [{ source: entry.path, destination: target, readOnly: true }];
            // rw: the command may write, but what it writes is thrown away with a copy.
            const copy = join(run.dir, `bind-${randomBytes(6).toString('hex')}`);
            scratch.push(copy);
            await cp(entry.path, copy, { recursive: true, verbatimSymlinks: true, preserveTimestamps: true });
            return [{ source: copy, destination: target, readOnly: false }];
          });
          break;
        }
        case 'secret': {
          const id = options.expand(m.id ?? m.source ?? '');
          const value = run.secrets.get(id);
          if (!value) {
            if (m.required) throw new NotFoundError(`secret "${valueExcerpt(id)}" not found: pass it with --secret id=${valueExcerpt(id)},src=FILE`);
            break;
          }
          if (m.env) env.push(`${options.expand(m.env)}=${value.toString('utf8')}`);
          if (!m.env || m.target) {
            const { mode, uid, gid } = mountOwner(m, { defaultMode: 0o400, expand: options.expand });
            makers.push(async () => {
              // A directory only root can enter, removed with the step.
              const dir = join(run.dir, `secret-${randomBytes(6).toString('hex')}`);
              scratch.push(dir);
              await mkdir(dir, { mode: 0o700 });
              const file = join(dir, 'secret');
              await writeFile(file, value, { mode });
              await chown(file, uid, gid);
              return [{ source: file, destination: target || `/run/secrets/${id}`, readOnly: true }];
            });
          }
          break;
        }
        case 'ssh':
          throw new InvalidArgumentError('RUN --mount=type=ssh is not supported: Berth does not forward an SSH agent to builds (copy a deploy key with --secret instead)');
      }
    }
  } catch (err) {
    await release();
    throw err;
  }
  return {
    key: keys.join('\n'),
    env,
    taskMounts: async () => (await Promise.all(makers.map((make) => make()))).flat(),
    release,
  };
}

function tmpfsSize(text: string): number {
  try {
    return parseBytes(text);
  } catch {
    throw new InvalidArgumentError(`Invalid tmpfs size "${valueExcerpt(text)}": expected a size like 64m`);
  }
}

