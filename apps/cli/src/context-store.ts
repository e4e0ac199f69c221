import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultHost, type GatewayTls } from './context.js';
import { homeDir } from './home-dir.js';

/**
 * Berth contexts, stored as docker stores its own (cli/context/store):
 *
 *   <config dir>/config.json                          {"currentContext": "NAME"} ("" or absent: default)
 *   <config dir>/contexts/meta/<sha256(NAME)>/meta.json
 *       {"Name", "Metadata": {"Description"}, "Endpoints": {"berth": {"Host", "SkipTLSVerify"}}}
 *   <config dir>/contexts/tls/<sha256(NAME)>/berth/{ca,cert,key}.pem
 *
 * The config dir is $BERTH_CONFIG, default ~/.berth. The `default` context is not stored: it is
 * BERTH_HOST, or the platform's socket.
 */

export const defaultContextName = 'default';

/** Which gateway a command talks to, and how. */
export interface Endpoint {
  /** The context that chose it (`default` when -H or BERTH_HOST did). */
  context: string;
  host: string;
  tls?: GatewayTls;
}

export interface ContextMeta {
  Name: string;
  Metadata: { Description?: string };
  Endpoints: { berth: { Host: string; SkipTLSVerify: boolean } };
}

/** A user-facing failure of the context store, printed as is (exit 1). */
export class ContextError extends Error {}

const namePattern = /^[a-zA-Z0-9][a-zA-Z0-9_.+-]+$/;

/** docker's store.ValidateContextName. */
export function validateContextName(name: string): void {
  if (name === '') throw new ContextError('context name cannot be empty');
  if (name === defaultContextName) throw new ContextError('"default" is a reserved context name');
  if (!namePattern.test(name)) {
    throw new ContextError(`context name "${name}" is invalid, names are validated against regexp "${namePattern.source}"`);
  }
}

export class ContextStore {
  readonly dir: string;

  constructor(env: Record<string, string | undefined>) {
    this.dir = env.BERTH_CONFIG || join(homeDir(env), '.berth');
  }

  private id(name: string): string {
    // Loaded here, not at the top: every command imports this file, and node:crypto costs 4–8 ms
    // of start-up that only a named context needs (bench/README.md, "CLI start-up").
    const { createHash } = process.getBuiltinModule('node:crypto');
    return createHash('sha256').update(name).digest('hex');
  }

  metaDir(name: string): string {
    return join(this.dir, 'contexts', 'meta', this.id(name));
  }

  tlsDir(name: string): string {
    return join(this.dir, 'contexts', 'tls', this.id(name));
  }

  /** The current context's name (config.json's currentContext; `default` when unset). */
  current(): string {
    return this.readConfig().currentContext || defaultContextName;
  }

  setCurrent(name: string): void {
    const config = this.readConfig();
    const value = name === defaultContextName ? '' : name;
    if ((config.currentContext ?? '') === value) return;
    if (value === '') delete config.currentContext;
    else config.currentContext = value;
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    atomicWrite(join(this.dir, 'config.json'), `${JSON.stringify(config, null, '\t')}\n`);
  }

  private readConfig(): Record<string, unknown> & { currentContext?: string } {
    const file = join(this.dir, 'config.json');
    if (!existsSync(file)) return {};
    try {
      return JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    } catch (err) {
      throw new ContextError(`loading config file ${file}: ${(err as Error).message}`);
    }
  }

  /** The stored context; ContextError `context "x" does not exist`. */
  get(name: string): ContextMeta {
    const file = join(this.metaDir(name), 'meta.json');
    if (!existsSync(file)) throw new ContextError(`context "${name}" does not exist`);
    return JSON.parse(readFileSync(file, 'utf8')) as ContextMeta;
  }

  list(): ContextMeta[] {
    const root = join(this.dir, 'contexts', 'meta');
    if (!existsSync(root)) return [];
    return readdirSync(root)
      .map((id) => join(root, id, 'meta.json'))
      .filter((f) => existsSync(f))
      .map((f) => JSON.parse(readFileSync(f, 'utf8')) as ContextMeta);
  }

  /** Stores a new context; TLS files are copied into the store. */
  create(meta: ContextMeta, tls: Partial<Record<'ca' | 'cert' | 'key', string>> = {}): void {
    validateContextName(meta.Name);
    if (existsSync(join(this.metaDir(meta.Name), 'meta.json'))) throw new ContextError(`context "${meta.Name}" already exists`);
    mkdirSync(this.metaDir(meta.Name), { recursive: true, mode: 0o700 });
    atomicWrite(join(this.metaDir(meta.Name), 'meta.json'), JSON.stringify(meta));
    const files = Object.entries(tls).filter(([, path]) => path);
    if (files.length > 0) {
      const dir = join(this.tlsDir(meta.Name), 'berth');
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      for (const [kind, path] of files) copyFileSync(path!, join(dir, `${kind}.pem`));
    }
  }

  remove(name: string): void {
    rmSync(this.metaDir(name), { recursive: true, force: true });
    rmSync(this.tlsDir(name), { recursive: true, force: true });
  }

  /** The TLS files stored for a context (those present). */
  tlsFiles(name: string): Partial<GatewayTls> {
    const dir = join(this.tlsDir(name), 'berth');
    const out: Partial<GatewayTls> = {};
    for (const kind of ['ca', 'cert', 'key'] as const) if (existsSync(join(dir, `${kind}.pem`))) out[kind] = join(dir, `${kind}.pem`);
    return out;
  }
}

function atomicWrite(file: string, text: string): void {
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, text, { mode: 0o600 });
  renameSync(temp, file);
}

/**
 * Which gateway to use, with docker's precedence: `--context` (with `-H` a conflict), then `-H`,
 * BERTH_HOST, BERTH_CONTEXT, the current context, and the default socket. `explicitTls` is the
 * TLS the global flags or BERTH_TLS_VERIFY give, which wins over a context's stored files.
 */
export function resolveEndpoint(
  options: { host?: string; context?: string; explicitTls?: GatewayTls },
  env: Record<string, string | undefined>,
): Endpoint {
  if (options.context && options.host) throw new ContextError('conflicting options: cannot specify both --host and --context');
  const store = new ContextStore(env);
  const name = options.context || (options.host || env.BERTH_HOST ? defaultContextName : env.BERTH_CONTEXT || store.current());
  if (name === defaultContextName) {
    return { context: name, host: options.host || env.BERTH_HOST || defaultHost, ...(options.explicitTls ? { tls: options.explicitTls } : {}) };
  }
  const meta = store.get(name);
  const files = store.tlsFiles(name);
  const tls = options.explicitTls ?? (files.ca && files.cert && files.key ? (files as GatewayTls) : undefined);
  return { context: name, host: meta.Endpoints.berth.Host, ...(tls ? { tls } : {}) };
}
