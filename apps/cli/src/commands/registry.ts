import type { Writable } from 'node:stream';
import { isBerthError, messageOf } from '@berth/errors';
import { parseReference, type Reference } from '@berth/oci';
import { serverStream, unary, type RegistryAuth, type TransferProgress, ImagesClient } from '@berth/proto';
import { authKey, DockerConfig } from '@berth/registry-client';
import { isConnectionError, StatusError } from '../cli-errors.js';
import { client } from '../clients.js';
import type { CommandContext } from '../context.js';
import type { ParsedArgs } from '../flags.js';
import { str, bool } from '../flag-values.js';
import { TransferProgressPrinter } from '../transfer-progress.js';
import { errOut, out } from './shared.js';

/**
 * pull, push, login and logout. Credentials stay on the client, as with docker: they are read
 * from Docker's config file (`$DOCKER_CONFIG/config.json`, default `~/.docker/config.json`) and
 * sent with each request for the registry of the image; `login` has the platform check them and
 * then writes them to that file.
 */


function dockerConfig(ctx: CommandContext): DockerConfig {
  return new DockerConfig(undefined, ctx.io.env);
}

/** The stored credentials for `domain`, as the request's `registry_auth`. */
async function registryAuth(ctx: CommandContext, domain: string): Promise<RegistryAuth | undefined> {
  const credentials = await dockerConfig(ctx).get(domain);
  return credentials ? { username: credentials.username, password: credentials.password } : undefined;
}

/** Parses as the docker CLI does before asking the daemon: a malformed name fails with exit 1. */
function reference(text: string, options: { defaultTag: boolean }): Reference {
  try {
    return parseReference(text, { defaultTag: options.defaultTag });
  } catch (err) {
    throw new StatusError(messageOf(err), 1);
  }
}

export interface PullImageOptions {
  /** Where the progress lines go (stdout for `pull`, stderr for `run`'s implicit pull). */
  output: Writable & { isTTY?: boolean };
  quiet?: boolean;
  platform?: string;
  allTags?: boolean;
}

/**
 * Pulls `ref` through the platform, printing docker's progress lines on `options.output` (none
 * when quiet). Resolves with the final message (digest, image id, full reference).
 */
export async function pullImage(ctx: CommandContext, ref: Reference, options: PullImageOptions): Promise<TransferProgress | undefined> {
  const c = client(ctx, ImagesClient);
  const call = c.pull({
    ref: ref.toString(),
    platform: options.platform ?? '',
    allTags: options.allTags ?? false,
    registryAuth: await registryAuth(ctx, ref.domain),
  });
  ctx.cleanup.push(() => call.cancel());
  const printer = new TransferProgressPrinter(options.output, options.output.isTTY === true);
  let last: TransferProgress | undefined;
  for await (const m of serverStream(call)) {
    if (!options.quiet) printer.write(m);
    last = m;
  }
  return last;
}

export async function pull(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  const allTags = bool(p, 'all-tags');
  const quiet = bool(p, 'quiet');
  const ref = reference(p.args[0]!, { defaultTag: false });
  if (allTags && (ref.tag !== undefined || ref.digest !== undefined)) throw new StatusError("tag can't be used with --all-tags/-a", 1);
  const tagged = allTags || ref.tag !== undefined || ref.digest !== undefined ? ref : reference(p.args[0]!, { defaultTag: true });
  if (!allTags && ref.tag === undefined && ref.digest === undefined && !quiet) out(ctx, `Using default tag: ${tagged.tag}\n`);
  const last = await pullImage(ctx, tagged, { output: ctx.io.stdout, quiet, platform: str(p, 'platform'), allTags });
  out(ctx, `${last?.ref || tagged.toString()}\n`);
  return 0;
}

/**
 * docker push: errors that come back from the registry are printed as they are (docker shows them
 * as the stream's last message, without "Error response from daemon"), exit 1.
 */
export async function push(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  const allTags = bool(p, 'all-tags');
  const quiet = bool(p, 'quiet');
  const ref = reference(p.args[0]!, { defaultTag: false });
  if (allTags && ref.tag !== undefined) throw new StatusError("tag can't be used with --all-tags/-a", 1);
  if (ref.digest !== undefined) throw new StatusError(`cannot push a digest reference: ${p.args[0]}`, 1);
  const tagged = allTags || ref.tag !== undefined ? ref : reference(p.args[0]!, { defaultTag: true });
  if (!allTags && ref.tag === undefined && !quiet) out(ctx, `Using default tag: ${tagged.tag}\n`);
  const c = client(ctx, ImagesClient);
  const call = c.push({ ref: tagged.toString(), allTags, registryAuth: await registryAuth(ctx, ref.domain) });
  ctx.cleanup.push(() => call.cancel());
  const printer = new TransferProgressPrinter(ctx.io.stdout, ctx.io.stdout.isTTY === true);
  let last: TransferProgress | undefined;
  try {
    for await (const m of serverStream(call)) {
      if (!quiet) printer.write(m);
      last = m;
    }
  } catch (err) {
    if (isBerthError(err) && !isConnectionError(err)) throw new StatusError(err.message, 1);
    throw err;
  }
  if (quiet) out(ctx, `${last?.ref || tagged.toString()}\n`);
  return 0;
}

/** `https://host:5000/v2/` → `host:5000`; empty or Docker Hub's names → `docker.io` (docker's ConvertToHostname). */
export function serverDomain(server: string): string {
  const host = server.trim().replace(/^https?:\/\//, '').split('/')[0]!;
  if (host === '' || host === 'docker.io' || host === 'index.docker.io' || host === 'registry-1.docker.io') return 'docker.io';
  return host;
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  for await (const chunk of stream) text += chunk.toString();
  return text;
}

/** Reads one line from a terminal; `silent` turns echo off (a password). */
async function prompt(ctx: CommandContext, question: string, silent: boolean): Promise<string> {
  const stdin = ctx.io.stdin;
  ctx.io.stdout.write(question);
  if (silent) stdin.setRawMode?.(true);
  try {
    return await new Promise<string>((resolve, reject) => {
      let text = '';
      const onData = (chunk: Buffer | string) => {
        for (const ch of chunk.toString()) {
          if (ch === '\r' || ch === '\n') return finish();
          if (ch === '\u0003') return fail(new StatusError('', 130));
          if (ch === '\u007f') text = text.slice(0, -1);
          else text += ch;
        }
      };
      const cleanup = () => {
        stdin.off('data', onData);
        stdin.off('end', finish);
        stdin.pause();
      };
      const finish = () => {
        cleanup();
        resolve(text);
      };
      const fail = (err: Error) => {
        cleanup();
        reject(err);
      };
      stdin.on('data', onData);
      stdin.once('end', finish);
      stdin.resume();
    });
  } finally {
    if (silent) {
      stdin.setRawMode?.(false);
      ctx.io.stdout.write('\n');
    }
  }
}

/**
 * docker login: credentials from -u/-p, --password-stdin or prompts (a terminal only), else the
 * ones stored for the server; the platform checks them against the registry, then they are
 * stored in Docker's config file (0600).
 */
export async function login(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  const domain = serverDomain(p.args[0] ?? '');
  const config = dockerConfig(ctx);
  let username = str(p, 'username').trim();
  let password = str(p, 'password');
  if (p.changed.has('password')) errOut(ctx, 'WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n');
  if (bool(p, 'password-stdin')) {
    if (p.changed.has('password')) throw new StatusError('--password and --password-stdin are mutually exclusive', 1);
    if (!username) throw new StatusError('Must provide --username with --password-stdin', 1);
    password = (await readAll(ctx.io.stdin)).replace(/\r?\n$/, '');
  }
  let stored = false;
  if (!username && !password) {
    const existing = await config.get(domain);
    if (existing) {
      username = existing.username;
      password = existing.password;
      stored = true;
      errOut(ctx, 'Authenticating with existing credentials...\n');
    }
  }
  if (!username || !password) {
    if (!ctx.io.stdin.isTTY) throw new StatusError('Error: Cannot perform an interactive login from a non TTY device', 1);
    if (!username) username = (await prompt(ctx, 'Username: ', false)).trim();
    if (!username) throw new StatusError('Error: Non-null Username Required', 1);
    if (!password) password = await prompt(ctx, 'Password: ', true);
    if (!password) throw new StatusError('Error: Password Required', 1);
  }
  const c = client(ctx, ImagesClient);
  const res = await unary(c, c.login, { server: domain, registryAuth: { username, password } });
  if (!stored) {
    await config.set(domain, { username, password });
    errOut(ctx, `WARNING! Your password will be stored unencrypted in ${config.file}.\n`);
  }
  out(ctx, `${res.status}\n`);
  return 0;
}

/** docker logout: removes the stored credentials of the server (Docker Hub by default); local only. */
export async function logout(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  const domain = serverDomain(p.args[0] ?? '');
  const removed = await dockerConfig(ctx).remove(domain);
  out(ctx, removed ? `Removing login credentials for ${authKey(domain)}\n` : `Not logged in to ${authKey(domain)}\n`);
  return 0;
}
