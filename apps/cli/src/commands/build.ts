import { lstat, readdir, readFile, readlink, stat, writeFile } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as tar from 'tar-stream';
import { createIgnoreMatcher, type IgnorePattern, parseDockerignore } from '@berth/dockerfile';
import { isBerthError } from '@berth/errors';
import { BuilderClient, type BuildInput, type BuildOptions, channelOptions, grpcTarget, serverStream, unary } from '@berth/proto';
import { StatusError } from '../cli-errors.js';
import type { CommandContext } from '../context.js';
import type { ParsedArgs } from '../flags.js';
import { humanSize } from '../units.js';
import { errOut, out } from './shared.js';

/** `berth build` and `berth builder prune`: the context is tarred here, the build runs on the host's agent. */

const str = (p: ParsedArgs, name: string) => (p.values[name] as string | undefined) ?? '';
const bool = (p: ParsedArgs, name: string) => p.values[name] as boolean;
const list = (p: ParsedArgs, name: string) => (p.values[name] as string[] | undefined) ?? [];

const chunkSize = 256 * 1024;

function builderClient(ctx: CommandContext): BuilderClient {
  const c = new BuilderClient(grpcTarget(ctx.host), grpc.credentials.createInsecure(), channelOptions);
  ctx.cleanup.push(() => c.close());
  return c;
}

function keyValues(words: string[], env: Record<string, string | undefined>): Array<{ key: string; value: string }> {
  return words.map((w) => {
    const i = w.indexOf('=');
    // `--build-arg NAME` takes the value from the environment, as docker does.
    if (i < 0) return { key: w, value: env[w] ?? '' };
    return { key: w.slice(0, i), value: w.slice(i + 1) };
  });
}

async function readAll(stream: AsyncIterable<unknown>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.from(c as Uint8Array));
  return Buffer.concat(chunks);
}

function looksLikeArchive(b: Buffer): boolean {
  if (b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b) return true;
  return b.length >= 262 && b.subarray(257, 262).toString('latin1') === 'ustar';
}

export async function build(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  const contextArg = p.args[0]!;
  const fileArg = str(p, 'file');
  const quiet = bool(p, 'quiet') || str(p, 'progress') === 'quiet';
  const options: BuildOptions = {
    dockerfile: '',
    dockerfileContent: '',
    dockerfileName: '',
    buildArgs: keyValues(list(p, 'build-arg'), ctx.io.env),
    target: str(p, 'target'),
    tags: list(p, 'tag'),
    noCache: bool(p, 'no-cache'),
    labels: keyValues(list(p, 'label'), {}),
  };

  let context: AsyncIterable<Buffer>;
  if (contextArg === '-') {
    // A tar (plain or gzip) is the context; anything else is a Dockerfile with no context.
    const input = await readAll(ctx.io.stdin);
    if (looksLikeArchive(input)) {
      context = (async function* () {
        for (let i = 0; i < input.length; i += chunkSize) yield input.subarray(i, i + chunkSize);
      })();
      if (fileArg) options.dockerfile = fileArg;
    } else {
      if (fileArg) throw new StatusError('ERROR: cannot use -f with a Dockerfile read from stdin', 1);
      options.dockerfileContent = input.toString('utf8');
      context = (async function* () {})();
    }
  } else {
    const dir = resolve(contextArg);
    const st = await stat(dir).catch(() => undefined);
    if (!st?.isDirectory()) throw new StatusError(`ERROR: unable to prepare context: path "${contextArg}" not found`, 1);
    let dockerfileRel: string | undefined = 'Dockerfile';
    if (fileArg === '-') {
      options.dockerfileContent = (await readAll(ctx.io.stdin)).toString('utf8');
      dockerfileRel = undefined;
    } else if (fileArg) {
      const abs = isAbsolute(fileArg) ? fileArg : resolve(fileArg);
      const rel = relative(dir, abs);
      if (!rel.startsWith('..') && !isAbsolute(rel)) dockerfileRel = rel.split('\\').join('/');
      else {
        options.dockerfileContent = await readFile(abs, 'utf8').catch(() => {
          throw new StatusError(`ERROR: unable to prepare context: the Dockerfile "${fileArg}" cannot be read`, 1);
        });
        options.dockerfileName = fileArg.split('/').at(-1)!;
        dockerfileRel = undefined;
      }
    }
    if (dockerfileRel) options.dockerfile = dockerfileRel;
    context = packContext(dir, await ignorePatterns(dir, dockerfileRel), dockerfileRel);
  }

  const call = builderClient(ctx).build();
  ctx.cleanup.push(() => call.cancel());
  const sending = (async () => {
    const write = (m: BuildInput) =>
      new Promise<void>((res) => {
        if (call.write(m)) res();
        else call.once('drain', () => res());
      });
    await write({ input: { $case: 'options', value: options } });
    for await (const chunk of context) {
      for (let i = 0; i < chunk.length; i += chunkSize) await write({ input: { $case: 'context', value: chunk.subarray(i, i + chunkSize) } });
    }
    call.end();
  })();
  sending.catch(() => call.cancel());

  let imageId = '';
  try {
    for await (const message of serverStream(call)) {
      if (message.output?.$case === 'line') {
        if (!quiet) errOut(ctx, `${message.output.value}\n`);
      } else if (message.output?.$case === 'imageId') imageId = message.output.value;
    }
    await sending;
  } catch (err) {
    if (isBerthError(err)) throw new StatusError(`ERROR: failed to solve: ${err.message}`, 1);
    throw err;
  }
  if (quiet) out(ctx, `${imageId}\n`);
  const iidfile = str(p, 'iidfile');
  if (iidfile) await writeFile(iidfile, imageId);
  return 0;
}

/** The patterns of `<Dockerfile>.dockerignore` (beside a Dockerfile inside the context), else `.dockerignore`. */
async function ignorePatterns(dir: string, dockerfileRel?: string): Promise<IgnorePattern[]> {
  for (const name of [...(dockerfileRel ? [`${dockerfileRel}.dockerignore`] : []), '.dockerignore']) {
    const text = await readFile(join(dir, name), 'utf8').catch(() => undefined);
    if (text !== undefined) return parseDockerignore(text);
  }
  return [];
}

/**
 * The context directory as a tar stream (owners 0:0, modes and mtimes kept), leaving out what the
 * ignore patterns exclude, except the Dockerfile and ignore files (the builder needs them).
 */
async function* packContext(dir: string, patterns: IgnorePattern[], dockerfileRel?: string): AsyncGenerator<Buffer> {
  const ignored = createIgnoreMatcher(patterns);
  const keep = new Set(['.dockerignore', ...(dockerfileRel ? [dockerfileRel, `${dockerfileRel}.dockerignore`] : [])]);
  const pack = tar.pack();
  const done = (async () => {
    const walk = async (rel: string): Promise<void> => {
      const names = (await readdir(rel ? join(dir, rel) : dir)).sort();
      for (const name of names) {
        const childRel = rel ? `${rel}/${name}` : name;
        const path = join(dir, childRel);
        const st = await lstat(path);
        const skip = ignored(childRel) && !keep.has(childRel);
        const header = { name: childRel, mode: st.mode & 0o7777, mtime: st.mtime, uid: 0, gid: 0 };
        if (st.isDirectory()) {
          // An ignored directory is still walked: a `!` exception may bring back something inside.
          if (!skip) await entry(pack, { ...header, type: 'directory' });
          if (!skip || ignored.shouldWalk(childRel)) await walk(childRel);
        } else if (skip) continue;
        else if (st.isSymbolicLink()) await entry(pack, { ...header, type: 'symlink', linkname: await readlink(path) });
        else if (st.isFile()) await entry(pack, { ...header, type: 'file', size: st.size }, await readFile(path));
      }
    };
    await walk('');
    pack.finalize();
  })();
  done.catch((err) => pack.destroy(err));
  for await (const chunk of pack) yield chunk as Buffer;
  await done;
}

function entry(pack: tar.Pack, header: Parameters<tar.Pack["entry"]>[0], body?: Buffer): Promise<void> {
  return new Promise((res, rej) => {
    const cb = (err?: Error | null) => (err ? rej(err) : res());
    if (body) pack.entry(header, body, cb);
    else pack.entry(header, cb);
  });
}

export async function builderPrune(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  void p;
  const c = builderClient(ctx);
  const res = await unary(c, c.prune, { keepDurationSeconds: 0 });
  out(ctx, `Deleted build cache objects: ${res.records}\nTotal reclaimed space: ${humanSize(res.reclaimed)}\n`);
  return 0;
}
