import { isUtf8 } from 'node:buffer';
import { readFileSync } from 'node:fs';
import type { Writable } from 'node:stream';
import {
  type ContainerSpec,
  type ContainersMethods,
  type StreamOutput,
  ContainerRef,
  CreateContainerRequest,
  CreateContainerResponse,
  Empty,
  JsonDocument,
  KillContainerRequest,
} from '@berth/proto';
import { errorFromGrpc, isBerthError, messageOf } from '@berth/errors';
import { parseReference, type Reference } from '@berth/oci';
import { StatusError } from '../cli-errors.js';
import { unaryClient, unaryMethod, type MethodsOf } from '../unary-clients.js';
import type { CommandContext } from '../context.js';
import type { ParsedArgs } from '../flags.js';
import { str, bool, list, num } from '../flag-values.js';
import { keyValueMap } from '../key-value-map.js';
import { healthSpecFields } from '../health-flags.js';
import { mountSpecFields } from '../mount-spec.js';
import { resourceSpecFields } from '../resource-flags.js';
import { CidFile, runSpecFields } from '../run-flags.js';
import { securitySpecFields } from '../security-flags.js';
import { networkSpecFields } from '../network-spec.js';
import type { PullImageOptions } from './registry.js';
import { errOut, out } from './shared.js';
import { containerStream, relayStream, terminalSize, type RelayOptions } from './stream-relay.js';

/** run, create, start, attach and exec: the commands that create containers or stream their stdio. */

// By name (unary-clients.ts `unaryMethod`): `run` loads the code of its own messages, not every Containers message.
export const Containers = {
  create: unaryMethod('/berth.v1.Containers/Create', CreateContainerRequest, CreateContainerResponse),
  start: unaryMethod('/berth.v1.Containers/Start', ContainerRef, Empty),
  kill: unaryMethod('/berth.v1.Containers/Kill', KillContainerRequest, Empty),
  inspect: unaryMethod('/berth.v1.Containers/Inspect', ContainerRef, JsonDocument),
} satisfies MethodsOf<ContainersMethods>;


/** docker's report for invalid options found after parsing: `berth: <msg>` + help hint, exit 125. */
function invalidOption(ctx: CommandContext, message: string): StatusError {
  return new StatusError(`berth: ${message}\n\nRun '${ctx.path} --help' for more information`, 125);
}

/** The lines of an env or label file, as Go's bufio.ScanLines splits them (a final `\r` dropped). */
function fileLines(ctx: CommandContext, file: string): Buffer[] {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // As docker: a file that cannot be opened is named plainly, one that cannot be read as an env file.
    if (code === 'ENOENT') throw invalidOption(ctx, `open ${file}: no such file or directory`);
    if (code === 'EACCES') throw invalidOption(ctx, `open ${file}: permission denied`);
    if (code === 'EISDIR') throw invalidOption(ctx, `invalid env file (${file}): read ${file}: is a directory`);
    throw invalidOption(ctx, `open ${file}: ${(err as Error).message}`);
  }
  const lines: Buffer[] = [];
  let start = 0;
  while (start < bytes.length) {
    let end = bytes.indexOf(0x0a, start);
    const next = end < 0 ? bytes.length : end + 1;
    if (end < 0) end = bytes.length;
    if (end > start && bytes[end - 1] === 0x0d) end--;
    lines.push(bytes.subarray(start, end));
    start = next;
  }
  return lines;
}

/** `KEY=value` stays; a bare `KEY` takes the local value and is dropped when unset (docker's -e and --env-file). */
function expandEnv(ctx: CommandContext, entry: string): string | undefined {
  if (entry.includes('=')) return entry;
  const value = ctx.io.env[entry];
  return value === undefined ? undefined : `${entry}=${value}`;
}

/**
 * docker's opts.ParseEnvFile / ReadKVStrings: leading blanks, blank lines and `#` comments skipped,
 * a UTF-8 byte-order mark dropped; a bare `KEY` takes the local value in an env file and is dropped
 * from a label file. Errors read `invalid env file (<file>): …`, for label files too, as docker's.
 */
function parsePropertyFile(ctx: CommandContext, file: string, kind: 'env' | 'label'): string[] {
  const entries: string[] = [];
  const bad = (reason: string) => invalidOption(ctx, `invalid env file (${file}): ${reason}`);
  fileLines(ctx, file).forEach((bytes, index) => {
    if (!isUtf8(bytes)) throw bad(`invalid utf8 bytes at line ${index + 1}: [${[...bytes].join(' ')}]`);
    let text = bytes.toString('utf8');
    if (index === 0) text = text.replace(/^\uFEFF/, '');
    const line = text.replace(/^\s+/u, '');
    if (line === '' || line.startsWith('#')) return;
    const eq = line.indexOf('=');
    const variable = eq < 0 ? line : line.slice(0, eq);
    if (/[ \t]/.test(variable)) throw bad(`variable '${variable}' contains whitespaces`);
    if (variable === '') throw bad(`no variable name on line '${line}'`);
    if (eq >= 0) entries.push(line);
    else if (kind === 'env') {
      const expanded = expandEnv(ctx, variable.trim());
      if (expanded !== undefined) entries.push(expanded);
    }
  });
  return entries;
}

/** docker's opts.ParseRestartPolicy; `invalid` makes the error to throw. */
export function parseRestartPolicy(text: string, invalid: (message: string) => Error): { name: string; maximumRetryCount: number } {
  const [name, count] = text.split(/:(.*)/s) as [string, string | undefined];
  let maximumRetryCount = 0;
  if (count !== undefined && count !== '') {
    // strconv.Atoi, within the int32 the count travels as
    if (!/^[-+]?\d+$/.test(count) || Number(count) < -(2 ** 31) || Number(count) > 2 ** 31 - 1) {
      throw invalid('invalid restart policy format: maximum retry count must be an integer');
    }
    maximumRetryCount = Number(count);
  }
  if (!['no', 'always', 'unless-stopped', 'on-failure'].includes(name)) {
    throw invalid(`invalid restart policy: unknown policy '${name}'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'`);
  }
  if (maximumRetryCount !== 0 && name !== 'on-failure') {
    throw invalid(`invalid restart policy: maximum retry count can only be used with 'on-failure'`);
  }
  return { name, maximumRetryCount };
}

/** The create request for `run`/`create` flags (docker's runconfig parse, client side). */
export function containerSpec(ctx: CommandContext, p: ParsedArgs, options: { detach: boolean }): ContainerSpec {
  const [image, ...cmd] = p.args as [string, ...string[]];
  // Like the docker CLI, refuse a malformed reference before asking the platform anything
  // (an image id or id prefix is not a reference but is accepted as is).
  if (!/^(sha256:)?[0-9a-f]{12,64}$/.test(image)) {
    try {
      parseReference(image);
    } catch (err) {
      throw new StatusError(`berth: ${messageOf(err)}`, 125);
    }
  }
  const env = [
    ...list(p, 'env-file').flatMap((f) => parsePropertyFile(ctx, f, 'env')),
    ...list(p, 'env').flatMap((e) => expandEnv(ctx, e) ?? []),
  ];
  const labels = keyValueMap([...list(p, 'label-file').flatMap((f) => parsePropertyFile(ctx, f, 'label')), ...list(p, 'label')]);
  const restartPolicy = parseRestartPolicy(str(p, 'restart') || 'no', (message) => invalidOption(ctx, message));
  if (bool(p, 'rm') && restartPolicy.name !== 'no') throw invalidOption(ctx, 'conflicting options: cannot specify both --restart and --rm');
  const interactive = bool(p, 'interactive');
  const pidsLimit = num(p, 'pids-limit');
  const { resources, ...hostFields } = resourceSpecFields(p.values, (message) => invalidOption(ctx, message));
  const runFields = runSpecFields(p.values, { detach: options.detach, interactive }, (message) => invalidOption(ctx, message));
  return {
    image,
    name: str(p, 'name'),
    cmd,
    entrypoint: p.changed.has('entrypoint') ? { args: str(p, 'entrypoint') === '' ? [] : [str(p, 'entrypoint')] } : undefined,
    env,
    workingDir: str(p, 'workdir'),
    user: str(p, 'user'),
    hostname: str(p, 'hostname'),
    labels,
    tty: bool(p, 'tty'),
    // As docker's client: the console starts at the terminal's size (no race with the first resize).
    consoleSize: bool(p, 'tty') ? terminalSize(ctx) : undefined,
    openStdin: interactive,
    // docker: with -i and stdin attached (no -d), stdin closes for good when the client detaches
    stdinOnce: interactive && !options.detach,
    autoRemove: bool(p, 'rm'),
    init: bool(p, 'init'),
    restartPolicy,
    resources: {
      memory: num(p, 'memory'),
      nanoCpus: Math.round(num(p, 'cpus') * 1e9),
      pidsLimit: pidsLimit < 0 ? 0 : pidsLimit,
      ...resources,
    },
    ...hostFields,
    ...runFields,
    stopSignal: str(p, 'stop-signal'),
    stopTimeout: p.changed.has('stop-timeout') ? num(p, 'stop-timeout') : undefined,
    ...mountSpecFields(p.values, (message) => invalidOption(ctx, message)),
    ...networkSpecFields(p.values, (message) => invalidOption(ctx, message)),
    ...healthSpecFields(p.values, (message) => invalidOption(ctx, message)),
    ...securitySpecFields(p.values, (message) => invalidOption(ctx, message)),
  };
}

function checkTerminal(ctx: CommandContext, tty: boolean, stdin: boolean): void {
  if (tty && stdin && !ctx.io.stdin.isTTY) throw new StatusError('the input device is not a TTY', 1);
}

/** docker's --sig-proxy: the signal goes to the container (once its id is known). */
function signalProxy(ctx: CommandContext, id: () => string | undefined): (signal: NodeJS.Signals) => void {
  return (signal) => {
    const known = id();
    if (known !== undefined) void unaryClient(ctx, Containers).kill({ id: known, signal }).catch(() => undefined);
  };
}

/** The image pull (its Images.Pull stream loads grpc-js: only when a pull is needed). */
async function pullImage(ctx: CommandContext, ref: Reference, options: PullImageOptions): Promise<void> {
  await (await import('./registry.js')).pullImage(ctx, ref, options);
}

/** docker's --pull: `missing` pulls when the image is not found locally, `always` first, `never` never. */
function pullPolicy(ctx: CommandContext, p: ParsedArgs): 'always' | 'missing' | 'never' {
  const policy = str(p, 'pull') || 'missing';
  if (policy !== 'always' && policy !== 'missing' && policy !== 'never') {
    throw invalidOption(ctx, `invalid pull option: '${policy}': must be one of "always", "missing" or "never"`);
  }
  return policy;
}

/** A name the image can be pulled by (not an image id); undefined otherwise. */
function pullableReference(image: string) {
  if (/^(sha256:)?[0-9a-f]{64}$/.test(image)) return undefined;
  try {
    return parseReference(image);
  } catch {
    return undefined;
  }
}

function isNoSuchImage(err: unknown): boolean {
  return isBerthError(err) && err.kind === 'not-found' && (err.code === 'NO_SUCH_IMAGE' || err.message.startsWith('No such image'));
}

/** `--node`, `--constraint`: the gateway's placement hints for the create call (placement-metadata.ts). */
function setPlacement(ctx: CommandContext, p: ParsedArgs): void {
  ctx.placement = { node: (p.values.node as string | undefined) ?? '', constraints: (p.values.constraint as string[] | undefined) ?? [] };
}

/** What `create` and `run` share around the create call: --cidfile, --pull, the pull when the image is missing. */
async function creating<T>(
  ctx: CommandContext,
  spec: ContainerSpec,
  options: { pull?: 'always' | 'missing' | 'never'; quiet?: boolean },
  call: (cidFile: CidFile) => Promise<T>,
): Promise<T> {
  const pull = options.pull ?? 'never';
  const ref = pullableReference(spec.image);
  // docker's pull output goes to stderr; -q discards it (the "Unable to find image" line stays).
  // Made only for a pull: stderr's stream and node:stream are not loaded by a `run -d` that pulls nothing (std-output.ts).
  const pullOptions = () => ({ output: options.quiet ? discardStream() : ctx.io.stderr, platform: spec.platform });
  const cidFile = new CidFile(spec.containerIdFile);
  const refused = cidFile.open();
  if (refused) throw invalidOption(ctx, refused);
  try {
    if (pull === 'always' && ref) await pullImage(ctx, ref, pullOptions());
    return await call(cidFile).catch(async (err: unknown) => {
      if (pull !== 'missing' || !ref || !isNoSuchImage(err)) throw err;
      // As docker run: say so on stderr, pull (progress on stderr too), then create again.
      errOut(ctx, `Unable to find image '${ref.familiar()}' locally\n`);
      await pullImage(ctx, ref, pullOptions());
      return call(cidFile);
    });
  } catch (err) {
    cidFile.discard();
    throw err;
  }
}

/** Creates the container (and with `start`, starts it in the same call: its answer says how that went). */
async function createContainer(
  ctx: CommandContext,
  spec: ContainerSpec,
  options: { pull?: 'always' | 'missing' | 'never'; quiet?: boolean; start?: boolean } = {},
): Promise<CreateContainerResponse> {
  const start = options.start ?? false;
  const c = unaryClient(ctx, Containers);
  return creating(ctx, spec, options, async (cidFile) => {
    const created = await c.create({ spec, start });
    createdSaid(ctx, cidFile, created);
    return created;
  });
}

/** The create's warnings on stderr, its id in the --cidfile. */
function createdSaid(ctx: CommandContext, cidFile: CidFile, created: { id: string; warnings: string[] }): void {
  for (const warning of created.warnings) errOut(ctx, `WARNING: ${warning}\n`);
  cidFile.write(created.id);
}

export async function create(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  setPlacement(ctx, p);
  const { id } = await createContainer(ctx, containerSpec(ctx, p, { detach: true }), { pull: pullPolicy(ctx, p), quiet: bool(p, 'quiet') });
  out(ctx, `${id}\n`);
  return 0;
}

/**
 * docker run: -d creates and starts in one call (a failed start leaves the container created, as
 * docker's create then start does) and prints the id; otherwise one RunAttached call creates the
 * container, attaches and has the server start it once the attachment is in place (a platform
 * without RunAttached: create, then Attach with `start`), relays the stdio, and exits with the
 * container's status.
 */
export async function run(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  const detach = bool(p, 'detach');
  setPlacement(ctx, p);
  const spec = containerSpec(ctx, p, { detach });
  const createOptions = { pull: pullPolicy(ctx, p), quiet: bool(p, 'quiet') };
  if (detach) {
    const created = await createContainer(ctx, spec, { ...createOptions, start: true });
    const { id } = created;
    if (created.startFailure) throw errorFromGrpc(created.startFailure.status, created.startFailure.message, { code: created.startFailure.code || undefined });
    // A platform that does not start on create (an older agent) left it created.
    if (!created.started) await unaryClient(ctx, Containers).start({ id });
    out(ctx, `${id}\n`);
    return 0;
  }
  checkTerminal(ctx, spec.tty, spec.openStdin);
  let id: string | undefined;
  const io = attachedIo(ctx, spec.attach);
  const relay: RelayOptions = { stdin: spec.openStdin, tty: spec.tty, onSignal: bool(p, 'sig-proxy') && !spec.tty ? signalProxy(ctx, () => id) : undefined };
  const attach = { container: '', stdin: spec.openStdin, logs: false, stream: true, start: true, create: undefined };
  const result = await creating(ctx, spec, createOptions, async (cidFile) => {
    const call = containerStream(ctx, 'runAttached');
    const onMessage = (m: StreamOutput) => {
      if (m.output?.$case !== 'created') return;
      id = m.output.value.id;
      createdSaid(ctx, cidFile, m.output.value);
    };
    try {
      // Input waits for `created`: a create that fails (an image to pull first) has read none of it.
      return await relayStream(io, call, { input: { $case: 'attach', value: { ...attach, create: spec } } }, { ...relay, onMessage, holdInput: true });
    } catch (err) {
      if (id !== undefined || !isUnimplemented(err)) throw err;
    }
    // A platform without RunAttached.
    const created = await unaryClient(ctx, Containers).create({ spec, start: false });
    createdSaid(ctx, cidFile, created);
    id = created.id;
    return relayStream(io, containerStream(ctx, 'attach'), { input: { $case: 'attach', value: { ...attach, container: id } } }, relay);
  });
  if (result.exitCode === undefined) throw new StatusError(`berth: the output stream of container ${id ?? ''} ended without an exit status`, 125);
  return result.exitCode;
}

/** The status of a call the server does not know (UNIMPLEMENTED, gRPC code 12). */
function isUnimplemented(err: unknown): boolean {
  return (err as { cause?: { code?: unknown } } | undefined)?.cause?.code === 12;
}

/** A stream that drops what is written to it (node:stream loaded only then). */
function discardStream(): Writable {
  const { Writable } = process.getBuiltinModule('node:stream');
  return new Writable({ write: (_c, _e, done) => done() });
}

/** `-a`: the output streams not attached are dropped, as docker does not copy them. */
function attachedIo(ctx: CommandContext, streams: string[]): CommandContext {
  const discard = discardStream;
  return {
    ...ctx,
    // No `print`: every text then goes through these streams (a dropped stream's too).
    io: { ...ctx.io, print: undefined, stdout: streams.includes('stdout') ? ctx.io.stdout : discard(), stderr: streams.includes('stderr') ? ctx.io.stderr : discard() },
  };
}

interface ContainerConfig {
  Id?: string;
  Config?: { Tty?: boolean; OpenStdin?: boolean };
}

async function containerConfig(ctx: CommandContext, id: string): Promise<ContainerConfig> {
  const doc = await unaryClient(ctx, Containers).inspect({ id });
  return JSON.parse(doc.json) as ContainerConfig;
}

/** Attaches to a container (starting it first when `start`), exits with its status. */
async function attachTo(ctx: CommandContext, id: string, options: { stdin: boolean; start: boolean; sigProxy: boolean }): Promise<number> {
  const config = await containerConfig(ctx, id);
  const tty = config.Config?.Tty ?? false;
  const stdin = options.stdin && (config.Config?.OpenStdin ?? false);
  checkTerminal(ctx, tty, stdin);
  const result = await relayStream(
    ctx,
    containerStream(ctx, 'attach'),
    { input: { $case: 'attach', value: { container: id, stdin, logs: false, stream: true, start: options.start, create: undefined } } },
    { stdin, tty, onSignal: options.sigProxy && !tty ? signalProxy(ctx, () => config.Id ?? id) : undefined },
  );
  return result.exitCode ?? 0;
}

/** `start -a` / `start -i`: starts the container attached (containers.ts starts the others). */
export async function startAttached(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  if (p.args.length > 1) throw new StatusError('you cannot start and attach multiple containers at once', 1);
  return attachTo(ctx, p.args[0]!, { stdin: bool(p, 'interactive'), start: true, sigProxy: true });
}

export async function attach(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  return attachTo(ctx, p.args[0]!, { stdin: !bool(p, 'no-stdin'), start: false, sigProxy: bool(p, 'sig-proxy') });
}

/** docker exec: runs a command in a running container; exits with its status (nothing with -d). */
export async function exec(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  const [container, ...cmd] = p.args as [string, ...string[]];
  const detach = bool(p, 'detach');
  const tty = bool(p, 'tty');
  const stdin = bool(p, 'interactive') && !detach;
  if (!detach) checkTerminal(ctx, tty, stdin);
  const env = [...list(p, 'env-file').flatMap((f) => parsePropertyFile(ctx, f, 'env')), ...list(p, 'env').flatMap((e) => expandEnv(ctx, e) ?? [])];
  const result = await relayStream(
    ctx,
    containerStream(ctx, 'exec'),
    {
      input: {
        $case: 'exec',
        value: { container, cmd, env, workingDir: str(p, 'workdir'), user: str(p, 'user'), tty, stdin, detach, privileged: bool(p, 'privileged') },
      },
    },
    { stdin, tty },
  );
  if (detach) return 0;
  if (result.exitCode === undefined) throw new StatusError('Error: the exec stream ended without an exit status', 1);
  return result.exitCode;
}
