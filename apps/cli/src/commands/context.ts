import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { StatusError } from '../cli-errors.js';
import type { CommandContext } from '../context.js';
import { defaultHost } from '../context.js';
import { ContextError, ContextStore, defaultContextName, validateContextName, type ContextMeta } from '../context-store.js';
import type { ParsedArgs } from '../flags.js';
import { headerContext, renderListing, resolveFormat } from '../table-format.js';
import { FieldContext } from '../template.js';
import { errOut, goJson, out } from './shared.js';

/**
 * `berth context ls|use|create|inspect|rm|show` (docker context): named gateway endpoints kept
 * under ~/.berth/contexts (context-store.ts), so that BERTH_HOST is not the only way to switch.
 */

const store = (ctx: CommandContext) => new ContextStore(ctx.io.env);

/** docker: a store failure is a plain error, exit 1. */
function plain<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof ContextError) throw new StatusError(err.message, 1);
    throw err;
  }
}

/** The default context as docker shows it: BERTH_HOST (or the platform's socket), in memory. */
function defaultMeta(ctx: CommandContext): ContextMeta {
  return {
    Name: defaultContextName,
    Metadata: { Description: 'Current BERTH_HOST based configuration' },
    Endpoints: { berth: { Host: ctx.io.env.BERTH_HOST || defaultHost, SkipTLSVerify: false } },
  };
}

function hostWarning(ctx: CommandContext, name?: string): void {
  if (!ctx.io.env.BERTH_HOST) return;
  const use = name ? `"${name}"` : 'a context';
  errOut(ctx, `Warning: BERTH_HOST environment variable overrides the active context. To use ${use}, either set the global --context flag, or unset BERTH_HOST environment variable.\n`);
}

const lsTable = 'table {{.Name}}{{if .Current}} *{{end}}\t{{.Description}}\t{{.BerthEndpoint}}\t{{.Error}}';
const lsHeader = headerContext('*formatter.ClientContext', ['Name', 'Description', 'BerthEndpoint', ['DockerEndpoint', 'BERTH ENDPOINT'], 'Error', ['Current', '']]);

export async function ls(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  const s = store(ctx);
  const current = plain(() => s.current());
  const contexts = [defaultMeta(ctx), ...plain(() => s.list())];
  const rows = contexts
    .sort((a, b) => a.Name.localeCompare(b.Name, undefined, { numeric: true }))
    .map((m) => {
      const fields = {
        Name: () => m.Name,
        Current: () => m.Name === current,
        Description: () => m.Metadata.Description ?? '',
        BerthEndpoint: () => m.Endpoints.berth.Host,
        DockerEndpoint: () => m.Endpoints.berth.Host,
        Error: () => '',
      };
      return new FieldContext('*formatter.ClientContext', fields);
    });
  if (!contexts.some((m) => m.Name === current)) {
    // The current context was removed behind our back: listed with the error, as docker does.
    rows.push(
      new FieldContext('*formatter.ClientContext', {
        Name: () => current,
        Current: () => true,
        Description: () => '',
        BerthEndpoint: () => '',
        DockerEndpoint: () => '',
        Error: () => `context "${current}" does not exist`,
      }),
    );
  }
  const source = resolveFormat({ format: p.values.format as string, defaultTable: lsTable, quiet: p.values.quiet as boolean, quietFormat: '{{.Name}}' });
  out(ctx, renderListing(source, rows, lsHeader));
  hostWarning(ctx);
  return 0;
}

export async function use(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  const name = p.args[0]!;
  const s = store(ctx);
  plain(() => {
    if (name !== defaultContextName) {
      validateContextName(name);
      s.get(name);
    }
    s.setCurrent(name);
  });
  out(ctx, `${name}\n`);
  errOut(ctx, `Current context is now "${name}"\n`);
  if (name !== defaultContextName) hostWarning(ctx, name);
  return 0;
}

export async function show(ctx: CommandContext): Promise<number> {
  out(ctx, `${ctx.contextName ?? plain(() => store(ctx).current())}\n`);
  return 0;
}

/** docker's `--docker` value: `host=…,ca=…,cert=…,key=…,skip-tls-verify=bool`. */
function endpointOptions(text: string): Record<string, string> {
  const options: Record<string, string> = {};
  for (const part of text.split(',')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    if (eq < 0) throw new StatusError(`invalid argument "${text}" for "--berth" flag: ${part} must be formatted as key=value`, 125);
    options[part.slice(0, eq)] = part.slice(eq + 1);
  }
  return options;
}

const expandHome = (path: string) => (path.startsWith('~/') ? `${homedir()}${path.slice(1)}` : path);

export async function create(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  const name = p.args[0]!;
  const s = store(ctx);
  const description = p.values.description as string;
  const from = p.values.from as string;
  const berth = (p.values.berth as string[]).join(',');
  plain(() => {
    validateContextName(name);
    if (s.list().some((m) => m.Name === name)) throw new ContextError(`context "${name}" already exists`);
    if (from && berth) throw new ContextError('cannot use --berth flag when --from is set');
    if (!berth) {
      // docker: without --berth, a copy of --from (default: the current context)
      const source = from || ctx.contextName || s.current();
      const base = source === defaultContextName ? defaultMeta(ctx) : s.get(source);
      const tls = source === defaultContextName ? {} : s.tlsFiles(source);
      s.create({ ...base, Name: name, Metadata: { ...base.Metadata, ...(description ? { Description: description } : {}) } }, tls);
      return;
    }
    const options = endpointOptions(berth);
    for (const key of Object.keys(options)) {
      if (!['host', 'ca', 'cert', 'key', 'skip-tls-verify'].includes(key)) {
        throw new ContextError(`unable to create berth endpoint config: unrecognized config key: ${key}`);
      }
    }
    const files: Record<'ca' | 'cert' | 'key', string> = { ca: '', cert: '', key: '' };
    for (const kind of ['ca', 'cert', 'key'] as const) {
      if (!options[kind]) continue;
      files[kind] = expandHome(options[kind]!);
      if (!existsSync(files[kind])) throw new ContextError(`unable to create berth endpoint config: open ${files[kind]}: no such file or directory`);
    }
    const skip = options['skip-tls-verify'];
    s.create(
      {
        Name: name,
        Metadata: description ? { Description: description } : {},
        Endpoints: { berth: { Host: options.host || defaultHost, SkipTLSVerify: skip === 'true' || skip === '1' } },
      },
      files,
    );
  });
  out(ctx, `${name}\n`);
  errOut(ctx, `Successfully created context "${name}"\n`);
  return 0;
}

export async function inspect(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  const s = store(ctx);
  const names = p.args.length > 0 ? p.args : [ctx.contextName ?? plain(() => s.current())];
  const views = names.map((name) =>
    plain(() => {
      if (name === defaultContextName) {
        return { ...defaultMeta(ctx), Metadata: {}, TLSMaterial: {}, Storage: { MetadataPath: '<IN MEMORY>', TLSPath: '<IN MEMORY>' } };
      }
      const meta = s.get(name);
      const tls = Object.keys(s.tlsFiles(name)).map((k) => `${k}.pem`);
      return {
        ...meta,
        TLSMaterial: tls.length > 0 ? { berth: tls } : {},
        Storage: { MetadataPath: s.metaDir(name), TLSPath: s.tlsDir(name) },
      };
    }),
  );
  out(ctx, `${goJson(views)}\n`);
  return 0;
}

export async function rm(ctx: CommandContext, p: ParsedArgs): Promise<number> {
  const s = store(ctx);
  const force = p.values.force as boolean;
  const current = plain(() => s.current());
  const errors: string[] = [];
  for (const name of p.args) {
    try {
      if (name === defaultContextName) throw new ContextError('context "default" cannot be removed');
      if (name === current) {
        if (!force) throw new ContextError(`context "${name}" is in use, set -f flag to force remove`);
        s.setCurrent(defaultContextName);
      }
      if (!force && !existsSync(s.metaDir(name))) throw new ContextError(`context "${name}" does not exist`);
      s.remove(name);
      out(ctx, `${name}\n`);
    } catch (err) {
      if (!(err instanceof ContextError)) throw err;
      errors.push(err.message);
    }
  }
  if (errors.length > 0) throw new StatusError(errors.join('\n'), 1);
  return 0;
}
