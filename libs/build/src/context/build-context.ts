import { lstat, readdir, readFile, rm, rmdir } from 'node:fs/promises';
import { posix } from 'node:path';
import { Readable } from 'node:stream';
import { createIgnoreMatcher, type IgnorePattern, parseDockerignore } from '@berth/dockerfile';
import { NotFoundError } from '@berth/errors';
import { applyLayer } from '@berth/layers';
import { securePath } from '@berth/runtime';

/**
 * Unpacks a build context (a tar stream, plain or gzip) into the empty directory `dir`, with the
 * layer applier's path safety: no entry lands outside `dir`. An empty stream is an empty context.
 * Returns the number of bytes received.
 */
export async function receiveContext(dir: string, source: AsyncIterable<Uint8Array>): Promise<number> {
  const iterator = source[Symbol.asyncIterator]();
  let first = await iterator.next();
  while (!first.done && first.value.length === 0) first = await iterator.next();
  if (first.done) return 0;
  let received = 0;
  const head = Buffer.from(first.value);
  const stream = Readable.from(
    (async function* () {
      received += head.length;
      yield head;
      for (;;) {
        const next = await iterator.next();
        if (next.done) return;
        received += next.value.length;
        yield Buffer.from(next.value);
      }
    })(),
  );
  await applyLayer(dir, stream, { whiteouts: 'remove' });
  return received;
}

/**
 * Reads the Dockerfile at `path` inside the context. NotFoundError
 * `Cannot read the Dockerfile: "<path>" not found in the build context` when missing.
 */
export async function readDockerfile(contextDir: string, path: string): Promise<string> {
  try {
    return await readFile(await securePath(contextDir, path), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') {
      throw new NotFoundError(`Cannot read the Dockerfile: "${path}" not found in the build context`, { cause: err });
    }
    throw err;
  }
}

/**
 * The ignore file Docker reads for a Dockerfile at `dockerfilePath` (context-relative, or
 * undefined for an inline one): `<Dockerfile>.dockerignore` beside it first, then `.dockerignore`
 * at the root. Returns its path and patterns, or undefined when there is none.
 */
export async function readIgnoreFile(contextDir: string, dockerfilePath?: string): Promise<{ path: string; patterns: IgnorePattern[] } | undefined> {
  const candidates = [...(dockerfilePath ? [`${posix.normalize(dockerfilePath)}.dockerignore`] : []), '.dockerignore'];
  for (const path of candidates) {
    const text = await readFile(await securePath(contextDir, path), 'utf8').catch(() => undefined); // no such file in the context: no ignore file
    if (text !== undefined) return { path, patterns: parseDockerignore(text) };
  }
  return undefined;
}

/**
 * Removes from the context what the `.dockerignore` patterns exclude, as Docker does when it
 * sends a context: a file goes when it matches; a directory goes when it matches and nothing inside
 * it is brought back by a `!` exception. Returns the relative paths removed.
 */
export async function applyIgnore(contextDir: string, patterns: IgnorePattern[]): Promise<string[]> {
  if (patterns.length === 0) return [];
  const ignored = createIgnoreMatcher(patterns);
  const removed: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    const dir = rel ? `${contextDir}/${rel}` : contextDir;
    for (const name of await readdir(dir)) {
      const childRel = rel ? `${rel}/${name}` : name;
      const path = `${contextDir}/${childRel}`;
      const st = await lstat(path);
      if (st.isDirectory()) {
        if (!ignored.shouldWalk(childRel)) {
          await rm(path, { recursive: true, force: true });
          removed.push(childRel);
          continue;
        }
        await walk(childRel);
        if (ignored(childRel) && (await readdir(path)).length === 0) {
          await rmdir(path);
          removed.push(childRel);
        }
      } else if (ignored(childRel)) {
        await rm(path, { force: true });
        removed.push(childRel);
      }
    }
  };
  await walk('');
  return removed;
}
