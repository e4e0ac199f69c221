import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { expandHeredoc, type Instruction } from '@berth/dockerfile';
import { FailedPreconditionError, InvalidArgumentError } from '@berth/errors';
import { resolveUser } from '@berth/runtime';
import { cacheKey } from '../cache/cache-key.js';
import { checksumEntries, type CopyEntry, copyInto, fileDigest, resolveSources } from '../context/copy-files.js';
import type { StepEnv } from '../frontend/step-env.js';
import { valueExcerpt } from '../located.js';
import type { BuildRun } from '../solver/build-run.js';
import { normalizeKeyword, type StageState } from '../solver/stage-state.js';
import { fromRoot, type FromSources } from './from-source.js';
import { layerStep } from './layer-step.js';

/** Where `COPY --from` finds other stages and images. */
export type CopySources = FromSources;

/**
 * COPY and ADD: the sources come from the context, another stage or an image (`--from`), heredocs
 * or URLs (ADD). The key covers the options and a checksum of what is copied (paths, modes, sizes,
 * contents; owners too from a stage), so an unchanged source is a cache hit whatever its mtime.
 */
export async function copyStep(
  run: BuildRun,
  state: StageState,
  ins: Extract<Instruction, { kind: 'COPY' | 'ADD' }>,
  env: StepEnv,
  sources: CopySources,
): Promise<void> {
  const config = (state.config.config ??= {});
  const paths = ins.sources.map((s) => env.word(s));
  const rawDest = env.word(ins.dest);
  const dest = posix.resolve(config.WorkingDir || '/', rawDest) + (rawDest.endsWith('/') && rawDest !== '/' ? '/' : '');
  const chown = ins.chown ? env.word(ins.chown) : undefined;
  const chmod = ins.chmod ? parseMode(env.word(ins.chmod)) : undefined;
  const excludes = ins.excludes.map((e) => env.word(e));
  const from = ins.kind === 'COPY' && ins.from ? env.word(ins.from) : undefined;

  // Where the sources come from: the context, another stage, a named context or an image.
  const source = await run.trace.time('copy.from-root', () => fromRoot(run, state, from, { sources, what: 'COPY --from' }));
  const sourceRoot = source.root;
  try {
    // Heredoc sources become files of a scratch directory, named after their delimiter.
    const entries: CopyEntry[] = [];
    if (ins.heredocs.length > 0) {
      const hdDir = join(run.dir, `heredoc-${randomBytes(6).toString('hex')}`);
      await mkdir(hdDir);
      for (const doc of ins.heredocs) {
        await writeFile(join(hdDir, doc.name), expandHeredoc(doc, env.vars, { escape: run.graph.dockerfile.directives.escape }), { mode: 0o644 });
        entries.push({ path: join(hdDir, doc.name), name: doc.name, isDirectory: false });
      }
    }
    const local: string[] = [];
    const remote: string[] = [];
    for (const s of paths) (ins.kind === 'ADD' && /^https?:\/\//.test(s) ? remote : local).push(s);
    if (local.length > 0) entries.push(...(await run.trace.time('copy.resolve-sources', () => resolveSources(sourceRoot, local, { context: source.context, excludes }))));
    for (const url of remote) entries.push(await download(run, url, ins.kind === 'ADD' ? ins.checksum : undefined));

    const checksum = await run.trace.time('copy.checksum', () => checksumEntries(entries, { withOwner: !source.context, ...(!from && run.contextReader ? { reader: run.contextReader } : {}) }));
    const key = cacheKey(state.key, ins.kind, JSON.stringify({ sources: paths, dest, chown, chmod, excludes, from: source.key }), checksum);
    const title = normalizeKeyword(ins.original.split('\n')[0]!, ins.kind);
    const extract = ins.kind === 'ADD' && (ins.unpack ?? true);
    await layerStep(run, state, { title, key, createdBy: `${title} # buildkit`, mount: true }, async ({ rootfs }) => {
      const owner = chown ? await chownOwner(rootfs, chown) : undefined;
      await copyInto(rootfs, entries, {
        dest,
        ...(owner ? { owner: { uid: owner.uid, gid: owner.gid } } : {}),
        keepOwner: !source.context,
        ...(chmod !== undefined ? { mode: chmod } : {}),
        extractArchives: extract,
      });
    });
  } finally {
    await source.release();
  }
}

/** ADD <url>: downloads into the build dir (verifying `--checksum`), as a file named after the URL. */
async function download(run: BuildRun, url: string, checksum?: string): Promise<CopyEntry> {
  const res = await fetch(url, run.signal ? { signal: run.signal } : {}).catch((err) => {
    throw new FailedPreconditionError(`Cannot download "${valueExcerpt(url)}": ${(err as Error).message}`, { cause: err });
  });
  if (!res.ok) throw new FailedPreconditionError(`Cannot download "${valueExcerpt(url)}": HTTP ${res.status}`);
  const dir = join(run.dir, `download-${randomBytes(6).toString('hex')}`);
  await mkdir(dir);
  const name = posix.basename(new URL(url).pathname) || 'index.html';
  const path = join(dir, name);
  await writeFile(path, Buffer.from(await res.arrayBuffer()), { mode: 0o600 });
  if (checksum) {
    const digest = await fileDigest(path);
    if (digest !== checksum) throw new InvalidArgumentError(`digest mismatch for "${valueExcerpt(url)}": expected "${valueExcerpt(checksum)}", got "${digest}"`);
  }
  return { path, name, isDirectory: false, remote: true };
}

/**
 * The owner `--chown` names, as BuildKit resolves it: a user name (and a group) through the
 * image's /etc/passwd and /etc/group; a numeric uid with no group gets gid = uid (BuildKit's
 * `UserOpt_ByID`, buildah too), not the passwd entry's group.
 */
export async function chownOwner(rootfs: string, chown: string): Promise<{ uid: number; gid: number }> {
  const owner = await resolveUser(rootfs, chown);
  return /^\d+$/.test(chown) ? { uid: owner.uid, gid: owner.uid } : { uid: owner.uid, gid: owner.gid };
}

function parseMode(text: string): number {
  if (!/^[0-7]{3,4}$/.test(text)) throw new InvalidArgumentError(`invalid --chmod value "${text}": expected an octal mode like 755`);
  return parseInt(text, 8);
}
