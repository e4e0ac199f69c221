import { Readable } from 'node:stream';
import { once } from 'node:events';
import { statSync } from 'node:fs';
import { fromServiceError, serverStream, unary, type ContainerPathStat, ContainersClient } from '@berth/proto';
import { applyLayer } from '@berth/layers';
import { StatusError } from '../cli-errors.js';
import { client } from '../clients.js';
import type { CommandContext } from '../context.js';
import {
  copyInfoDestinationPath,
  copyInfoSourcePath,
  CopyError,
  getRebaseName,
  localContentSize,
  prepareArchiveCopy,
  rebaseArchiveEntries,
  resolveLocalPath,
  splitPathDirEntry,
  tarResource,
  type CopyInfo,
} from '../cp-archive.js';
import type { ParsedArgs } from '../flags.js';
import { humanSizeWithPrecision } from '../units.js';
import { errOut } from './shared.js';

/**
 * `berth cp` (docker cp): files between a container (running or stopped) and the local filesystem,
 * `-` for a tar on stdin or stdout. The platform resolves container paths within the container's
 * root; this side applies go-archive's copy rules (cp-archive.ts).
 */

const goModeDir = 2 ** 31;
const goModeSymlink = 2 ** 27;
/** Go's os.ModeType bits: anything but a directory or a regular file. */
const goModeType = goModeDir | goModeSymlink | 2 ** 26 | 2 ** 25 | 2 ** 24 | 2 ** 21 | 2 ** 19;

/** docker's splitCpArg: `CONTAINER:PATH`, unless the argument is a local path (`/x:y`, `./x:y`). */
export function splitCpArg(arg: string): { container: string; path: string } {
  if (arg.startsWith('/')) return { container: '', path: arg };
  const colon = arg.indexOf(':');
  if (colon < 0 || arg.startsWith('.')) return { container: '', path: arg };
  return { container: arg.slice(0, colon), path: arg.slice(colon + 1) };
}

export async function cp(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  const [source, destination] = p.args as [string, string];
  if (source === '') throw new StatusError('source can not be empty', 1);
  if (destination === '') throw new StatusError('destination can not be empty', 1);
  const src = splitCpArg(source);
  const dst = splitCpArg(destination);
  const options = {
    followLink: p.values['follow-link'] as boolean,
    copyUidGid: p.values.archive as boolean,
    // docker: without -q, progress and the summary only on a terminal
    quiet: p.changed.has('quiet') ? (p.values.quiet as boolean) : !ctx.io.stdout.isTTY,
  };
  try {
    if (src.container && dst.container) throw new StatusError('copying between containers is not supported', 1);
    if (src.container) return await copyFromContainer(ctx, { container: src.container, srcPath: src.path, dstPath: dst.path, ...options });
    if (dst.container) return await copyToContainer(ctx, { container: dst.container, srcPath: src.path, dstPath: dst.path, ...options });
    throw new StatusError('must specify at least one container source', 1);
  } catch (err) {
    if (err instanceof CopyError) throw new StatusError(err.message, 1);
    throw err;
  }
}

interface CopyOptions {
  container: string;
  srcPath: string;
  dstPath: string;
  followLink: boolean;
  copyUidGid: boolean;
  quiet: boolean;
}

function statPath(c: ContainersClient, id: string, path: string): Promise<ContainerPathStat> {
  return unary(c, c.statPath, { id, path, followLink: false });
}

/** docker's command.ValidateOutputPath. */
function validateOutputPath(path: string): void {
  const dir = splitPathDirEntry(path)[0];
  if (dir !== '' && dir !== '.') {
    try {
      statSync(dir);
    } catch {
      throw new StatusError(`invalid output path: directory "${dir}" does not exist`, 1);
    }
  }
  try {
    const st = statSync(path);
    if (!st.isDirectory() && !st.isFile()) throw new StatusError(`invalid output path: "${path}" must be a directory or a regular file`, 1);
  } catch (err) {
    if (err instanceof StatusError) throw err;
  }
}

async function copyFromContainer(ctx: CommandContext, o: CopyOptions): Promise<number> {
  const c = client(ctx, ContainersClient);
  let dstPath = o.dstPath;
  if (dstPath !== '-') {
    dstPath = resolveLocalPath(dstPath);
    validateOutputPath(dstPath);
  }
  let srcPath = o.srcPath;
  let rebaseName = '';
  if (o.followLink) {
    // -L: a source that is a symlink is copied as what it points to (resolved by the platform).
    const stat = await statPath(c, o.container, srcPath).catch(() => undefined);
    if (stat && stat.mode & goModeSymlink) [srcPath, rebaseName] = getRebaseName(srcPath, stat.linkTarget);
  }
  const call = c.copyFrom({ id: o.container, path: srcPath, followLink: false });
  ctx.cleanup.push(() => call.cancel());
  const messages = serverStream(call)[Symbol.asyncIterator]();
  const first = await messages.next();
  if (first.done || first.value.output?.$case !== 'stat') throw new StatusError('Error: the copy stream did not begin with the path stat', 1);
  const stat = first.value.output.value;
  let copied = 0;
  const content = (async function* () {
    for (let next = await messages.next(); !next.done; next = await messages.next()) {
      if (next.value.output?.$case !== 'data') continue;
      copied += next.value.output.value.length;
      yield Buffer.from(next.value.output.value);
    }
  })();
  if (dstPath === '-') {
    for await (const chunk of content) if (!ctx.io.stdout.write(chunk)) await once(ctx.io.stdout, 'drain');
    return 0;
  }
  const srcInfo: CopyInfo = { path: srcPath, exists: true, isDir: (stat.mode & goModeDir) !== 0, rebaseName };
  let archive: AsyncIterable<Buffer> = content;
  if (rebaseName) archive = rebaseArchiveEntries(content, splitPathDirEntry(srcPath)[1], rebaseName);
  const dstInfo = copyInfoDestinationPath(dstPath);
  const prepared = prepareArchiveCopy(archive, srcInfo, dstInfo);
  await applyLayer(prepared.dstDir, Readable.from(prepared.archive), {
    whiteouts: 'none',
    noOverwriteDirNonDir: true,
    // docker: files copied out belong to the user running the command; -a keeps the container's owners.
    ...(o.copyUidGid ? {} : { owner: { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 } }),
  });
  if (!o.quiet) summary(ctx, stat.mode & goModeDir ? copied : stat.size, copied, dstPath);
  return 0;
}

async function copyToContainer(ctx: CommandContext, o: CopyOptions): Promise<number> {
  const c = client(ctx, ContainersClient);
  const srcPath = o.srcPath === '-' ? '-' : resolveLocalPath(o.srcPath);
  const dstInfo: CopyInfo = { path: o.dstPath, exists: false, isDir: false, rebaseName: '' };
  let dst = await statPath(c, o.container, o.dstPath).catch(() => undefined); // no such path in the container: created
  if (dst && dst.mode & goModeSymlink) {
    // A destination that is a symlink is written through (the platform resolved it in the container).
    dstInfo.path = dst.linkTarget;
    dst = await statPath(c, o.container, dst.linkTarget).catch(() => undefined); // a dangling link: its target is created
  }
  if (dst) {
    if (dst.mode & goModeType & ~goModeDir) {
      throw new StatusError(`destination "${o.container}:${o.dstPath}" must be a directory or a regular file`, 1);
    }
    dstInfo.exists = true;
    dstInfo.isDir = (dst.mode & goModeDir) !== 0;
  }
  let content: AsyncIterable<Buffer>;
  let dstDir: string;
  let contentSize: number | undefined;
  if (srcPath === '-') {
    if (!dstInfo.isDir) throw new StatusError(`destination "${o.container}:${o.dstPath}" must be a directory`, 1);
    content = ctx.io.stdin as AsyncIterable<Buffer>;
    dstDir = dstInfo.path;
  } else {
    const srcInfo = copyInfoSourcePath(srcPath, o.followLink);
    contentSize = localContentSize(srcInfo.path.replace(/\/\.?$/, '') || '/');
    const prepared = prepareArchiveCopy(tarResource(srcInfo), srcInfo, dstInfo);
    content = prepared.archive;
    dstDir = prepared.dstDir;
  }
  let sent = 0;
  await new Promise<void>((resolve, reject) => {
    const call = c.copyTo((err) => (err ? reject(err) : resolve()));
    ctx.cleanup.push(() => call.cancel());
    call.write({ input: { $case: 'spec', value: { id: o.container, path: dstDir, noOverwriteDirNonDir: true, copyUidGid: o.copyUidGid } } });
    void (async () => {
      for await (const chunk of content) {
        sent += chunk.length;
        if (!call.write({ input: { $case: 'data', value: Buffer.from(chunk) } })) await once(call, 'drain');
      }
      call.end();
    })().catch(reject);
  }).catch((err: unknown) => {
    throw fromServiceError(err);
  });
  if (!o.quiet) summary(ctx, contentSize ?? sent, sent, `${o.container}:${dstInfo.path}`);
  return 0;
}

/** docker's copySummary (on stderr, when the output is a terminal). */
function summary(ctx: CommandContext, contentSize: number, transferred: number, dest: string): void {
  const size = (n: number) => humanSizeWithPrecision(n, 3);
  errOut(ctx, contentSize !== transferred ? `Successfully copied ${size(contentSize)} (transferred ${size(transferred)}) to ${dest}\n` : `Successfully copied ${size(contentSize)} to ${dest}\n`);
}
