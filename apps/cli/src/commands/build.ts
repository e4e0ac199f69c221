import { readFile, stat, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { type IgnorePattern, parseDockerignore } from '@berth/dockerfile';
import { isBerthError } from '@berth/errors';
import { type ContextFile, encodeListing, listContext, packFiles } from '@berth/filesync';
import { BuilderMethods, type BuildInput, type BuildOptions, type BuildOutput, type BuildRegistryAuth } from '@berth/proto';
import { DockerConfig } from '@berth/registry-client';
import { parseBuildContext, parseSecret, readSecret } from '../build-inputs.js';
import type { OutputSpec } from '../build-output.js';
import { TtyBuildProgress } from '../build-progress.js';
import { StatusError } from '../cli-errors.js';
import type { CommandContext } from '../context.js';
import type { ParsedArgs } from '../flags.js';
import { str, bool, list } from '../flag-values.js';
import { checkoutGitContext, isGitContext } from '../git-context.js';
import { unaryClient, unaryTransport } from '../unary-clients.js';
import type { DuplexCall } from '../unary-transport.js';
import { humanSize } from '../units.js';
import { errOut, out } from './shared.js';

/**
 * `berth build` and `berth builder prune`: the build runs on the host's builder. A directory
 * context is synced (the builder asks for the files that changed since its last build of it); a
 * tar from stdin or a git checkout is sent whole.
 */


const chunkSize = 256 * 1024;

/**
 * Builder.Build over Node's http2 (unary-transport.ts), not grpc-js: loading grpc-js and setting up
 * its channel was a good part of a fully cached build's CLI time (bench/README.md). No placement
 * metadata, as before: the gateway picks the host.
 */
function buildCall(ctx: CommandContext): DuplexCall<BuildInput, BuildOutput> {
  const call = unaryTransport(ctx).duplex(BuilderMethods.build);
  ctx.cleanup.push(() => call.cancel());
  return call;
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

/**
 * Parses `--output` as docker does: `type=oci|tar|local,dest=PATH`, or a bare `PATH` meaning
 * `type=local,dest=PATH`; `dest=-` writes oci and tar to stdout.
 */
export function parseOutput(text: string): OutputSpec {
  if (!text.includes('=')) return { type: 'local', dest: text };
  const fields = new Map<string, string>();
  for (const part of text.split(',')) {
    const i = part.indexOf('=');
    if (i <= 0) throw new StatusError(`ERROR: invalid output "${text}": expected type=oci|tar|local,dest=PATH`, 1);
    fields.set(part.slice(0, i).trim(), part.slice(i + 1).trim());
  }
  const type = fields.get('type') ?? 'local';
  if (type !== 'oci' && type !== 'tar' && type !== 'local') {
    throw new StatusError(`ERROR: output type "${type}" is not supported: expected oci, tar or local`, 1);
  }
  const dest = fields.get('dest') ?? '';
  if (!dest) throw new StatusError(`ERROR: output type=${type} needs a destination (dest=PATH)`, 1);
  if (type === 'local' && dest === '-') throw new StatusError('ERROR: output type=local needs a directory, not "-"', 1);
  return { type, dest };
}

/**
 * Every credential of the Docker config file, per registry domain (docker sends them all with a
 * build: the Dockerfile's base images, the pushed tags and the caches may be on any registry).
 */
export async function allRegistryAuths(ctx: CommandContext): Promise<BuildRegistryAuth[]> {
  const config = new DockerConfig(undefined, ctx.io.env);
  const text = await readFile(config.file, 'utf8').catch(() => '');
  let keys: string[] = [];
  try {
    keys = Object.keys((JSON.parse(text || '{}') as { auths?: Record<string, unknown> }).auths ?? {});
  } catch {
    return [];
  }
  const out: BuildRegistryAuth[] = [];
  for (const key of keys) {
    let domain = key.replace(/^https?:\/\//, '').split('/')[0]!;
    if (['index.docker.io', 'registry-1.docker.io'].includes(domain)) domain = 'docker.io';
    if (out.some((a) => a.server === domain)) continue;
    const credentials = await config.get(domain).catch(() => undefined); // no saved credentials: anonymous
    if (credentials) out.push({ server: domain, auth: credentials });
  }
  return out;
}

export async function build(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  const gitContext = isGitContext(p.args[0]!) ? await checkoutGitContext(p.args[0]!) : undefined;
  try {
    // In a git context, a relative -f names a file of the repository (as with docker).
    return await buildFrom(ctx, p, gitContext?.dir ?? p.args[0]!, gitContext?.dir);
  } finally {
    await gitContext?.remove();
  }
}

async function buildFrom(ctx: CommandContext, p: ParsedArgs, contextArg: string, fileBase?: string): Promise<number> {
  const fileArg = str(p, 'file');
  const progressMode = str(p, 'progress') || 'auto';
  if (!['auto', 'plain', 'tty', 'quiet'].includes(progressMode)) {
    throw new StatusError(`ERROR: invalid progress mode "${progressMode}": expected auto, plain, tty or quiet`, 1);
  }
  const quiet = bool(p, 'quiet') || progressMode === 'quiet';
  const output = str(p, 'output') ? parseOutput(str(p, 'output')) : undefined;
  // The progress goes to stderr; the image id (-q) or an exported tar to `-` to stdout.
  // Asked only when it decides something: knowing makes Node's stream of stderr, and for a pipe
  // that loads node:net and node:stream (~6 ms).
  const tty = !quiet && (progressMode === 'tty' || (progressMode === 'auto' && (ctx.io.stderr as { isTTY?: boolean }).isTTY === true));
  const push = bool(p, 'push');
  const cacheTo = list(p, 'cache-to');
  const cacheFrom = list(p, 'cache-from');
  const options: BuildOptions = {
    dockerfile: '',
    dockerfileContent: '',
    dockerfileName: '',
    buildArgs: keyValues(list(p, 'build-arg'), ctx.io.env),
    target: str(p, 'target'),
    tags: list(p, 'tag'),
    noCache: bool(p, 'no-cache'),
    labels: keyValues(list(p, 'label'), {}),
    push,
    pull: bool(p, 'pull'),
    registryAuths: await allRegistryAuths(ctx),
    outputType: output?.type ?? '',
    squash: bool(p, 'squash'),
    noCacheFilter: list(p, 'no-cache-filter').flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean),
    cacheTo,
    cacheFrom,
    contextKey: '',
    network: str(p, 'network'),
    extraHosts: list(p, 'add-host'),
    platform: str(p, 'platform'),
    secrets: [],
    buildContexts: [],
  };
  if (list(p, 'ssh').length > 0) {
    throw new StatusError('ERROR: --ssh is not supported: Berth does not forward an SSH agent to builds (pass a key with --secret instead)', 1);
  }
  for (const spec of list(p, 'secret')) {
    const source = parseSecret(spec, ctx.io.env);
    options.secrets.push({ id: source.id, value: await readSecret(source, ctx.io.env) });
  }
  // Named local contexts are sent as tars after the main context, in this order.
  const namedDirs: Array<{ name: string; dir: string }> = [];
  for (const spec of list(p, 'build-context')) {
    const named = await parseBuildContext(spec);
    if ('image' in named) options.buildContexts.push({ name: named.name, image: `docker-image://${named.image}` });
    else {
      options.buildContexts.push({ name: named.name, image: '' });
      namedDirs.push(named);
    }
  }

  let context: AsyncIterable<Buffer>;
  // File sync of a directory context: its listing, made and sent after the options (so that the
  // gateway and the builder start the build while the directory is walked).
  let sync: { dir: string; list: () => Promise<ContextFile[]> } | undefined;
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
    const st = await stat(dir).catch(() => undefined); // missing: undefined
    if (!st?.isDirectory()) throw new StatusError(`ERROR: unable to prepare context: path "${contextArg}" not found`, 1);
    let dockerfileRel: string | undefined = 'Dockerfile';
    if (fileArg === '-') {
      options.dockerfileContent = (await readAll(ctx.io.stdin)).toString('utf8');
      dockerfileRel = undefined;
    } else if (fileArg) {
      const abs = isAbsolute(fileArg) ? fileArg : resolve(fileBase ?? '.', fileArg);
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
    const keep = ['.dockerignore', ...(dockerfileRel ? [dockerfileRel, `${dockerfileRel}.dockerignore`] : [])];
    const patterns = await ignorePatterns(dir, dockerfileRel);
    if (fileBase !== undefined) {
      // A git checkout is a new directory each time: nothing to sync with.
      context = packFiles(dir, await listContext(dir, { patterns, keep }));
    } else {
      // The builder names its copy by a hash of this key (context-store.ts): hashed there, not
      // here, so that `berth build` does not load node:crypto (~4 ms) for it.
      options.contextKey = `${hostname()}\0${dir}`;
      sync = { dir, list: () => listContext(dir, { patterns, keep }) };
      context = (async function* () {})();
    }
  }

  const call = buildCall(ctx);
  let requested: (paths: string[]) => void = () => undefined;
  const contextRequest = new Promise<string[]>((res) => (requested = res));
  const sending = (async () => {
    const write = (m: BuildInput) => call.write(m);
    await write({ input: { $case: 'options', value: options } });
    if (sync) {
      // The walk gives the event loop a turn every few milliseconds: the call connects meanwhile.
      const files = await sync.list();
      await write({ input: { $case: 'contextFiles', value: { files: [], listing: encodeListing(files) } } });
      const paths = new Set(await contextRequest);
      if (paths.size > 0) context = packFiles(sync.dir, files.filter((f) => paths.has(f.path)));
    }
    for await (const chunk of context) {
      for (let i = 0; i < chunk.length; i += chunkSize) await write({ input: { $case: 'context', value: chunk.subarray(i, i + chunkSize) } });
    }
    // Named local contexts follow the main one, whole, in the order of the options.
    for (const named of namedDirs) {
      const files = await listContext(named.dir, { patterns: await ignorePatterns(named.dir), keep: ['.dockerignore'] });
      await write({ input: { $case: 'namedContext', value: { name: named.name, data: Buffer.alloc(0) } } });
      for await (const chunk of packFiles(named.dir, files)) {
        for (let i = 0; i < chunk.length; i += chunkSize) await write({ input: { $case: 'namedContext', value: { name: named.name, data: chunk.subarray(i, i + chunkSize) } } });
      }
    }
    await call.end();
  })();
  // What failed on the way out (the listing, a file that cannot be read) is the error to show,
  // not the cancelled call it leads to.
  let sendFailure: { err: unknown } | undefined;
  sending.catch((err: unknown) => {
    sendFailure = { err };
    call.cancel();
  });

  let imageId = '';
  const view = tty ? new TtyBuildProgress(ctx.io.stderr, { columns: (ctx.io.stderr as { columns?: number }).columns ?? 80 }) : undefined;
  // Its own module: node:stream and @berth/layers (node:zlib, node:crypto) only for an export.
  const sink = output ? await (await import('../build-output.js')).outputSink(ctx, output) : undefined;
  try {
    for await (const message of call.messages()) {
      if (message.output?.$case === 'line') {
        if (view) view.line(message.output.value);
        else if (!quiet) errOut(ctx, `${message.output.value}\n`);
      } else if (message.output?.$case === 'data') {
        if (!sink) throw new StatusError('ERROR: the builder sent output that was not asked for', 1);
        await sink.write(Buffer.from(message.output.value));
      } else if (message.output?.$case === 'imageId') imageId = message.output.value;
      else if (message.output?.$case === 'contextRequest') requested(message.output.value.paths);
    }
    await sending;
    await sink?.end();
  } catch (caught) {
    const err = sendFailure ? sendFailure.err : caught;
    if (isBerthError(err)) throw new StatusError(`ERROR: failed to solve: ${err.message}`, 1);
    throw err;
  } finally {
    view?.finish();
  }
  // With `--output …,dest=-` stdout carries the tar: the id stays off it.
  if (quiet && output?.dest !== '-') out(ctx, `${imageId}\n`);
  const iidfile = str(p, 'iidfile');
  if (iidfile) await writeFile(iidfile, imageId);
  return 0;
}

/**
 * A local context directory as one tar, `.dockerignore` applied as `berth build` applies it: what
 * `berth compose build` sends (no file sync for those yet).
 */
export async function* contextStream(dir: string, dockerfileRel?: string): AsyncGenerator<Buffer> {
  const keep = ['.dockerignore', ...(dockerfileRel ? [dockerfileRel, `${dockerfileRel}.dockerignore`] : [])];
  const files = await listContext(dir, { patterns: await ignorePatterns(dir, dockerfileRel), keep });
  yield* packFiles(dir, files);
}

/** The patterns of `<Dockerfile>.dockerignore` (beside a Dockerfile inside the context), else `.dockerignore`. */
async function ignorePatterns(dir: string, dockerfileRel?: string): Promise<IgnorePattern[]> {
  for (const name of [...(dockerfileRel ? [`${dockerfileRel}.dockerignore`] : []), '.dockerignore']) {
    const text = await readFile(join(dir, name), 'utf8').catch(() => undefined); // missing: undefined
    if (text !== undefined) return parseDockerignore(text);
  }
  return [];
}

export async function builderPrune(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  void p;
  const res = await unaryClient(ctx, BuilderMethods).prune({ keepDurationSeconds: 0 });
  out(ctx, `Deleted build cache objects: ${res.records}\nTotal reclaimed space: ${humanSize(res.reclaimed)}\n`);
  return 0;
}
