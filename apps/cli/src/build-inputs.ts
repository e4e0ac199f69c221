import { readFile, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { StatusError } from './cli-errors.js';

/**
 * What `berth build` reads for the builder besides the context: `--secret` values and
 * `--build-context` sources, parsed as buildx parses them.
 */

/** One `--secret`: where its value comes from. */
export type SecretSource = { id: string; file: string } | { id: string; env: string };

/**
 * `--secret id=ID[,src=FILE|,env=VAR][,type=file|env]` (buildx `parseSecret`); with neither src
 * nor env, the variable named ID when it is set, else the file named ID (BuildKit's secrets provider).
 */
export function parseSecret(spec: string, env: Record<string, string | undefined>): SecretSource {
  let id = '';
  let file = '';
  let variable = '';
  let type = '';
  for (const field of spec.split(',')) {
    const i = field.indexOf('=');
    if (i < 0) throw new StatusError(`ERROR: invalid secret "${spec}": invalid field '${field}' must be a key=value pair`, 1);
    const key = field.slice(0, i).trim().toLowerCase();
    const value = field.slice(i + 1);
    if (key === 'type') {
      if (value !== 'file' && value !== 'env') throw new StatusError(`ERROR: invalid secret "${spec}": unsupported secret type "${value}"`, 1);
      type = value;
    } else if (key === 'id') id = value;
    else if (key === 'src' || key === 'source') file = value;
    else if (key === 'env') variable = value;
    else throw new StatusError(`ERROR: invalid secret "${spec}": unexpected key '${key}' in '${field}'`, 1);
  }
  if (type === 'env' && !variable) [variable, file] = [file, ''];
  if (!id) id = variable || file.split('/').at(-1) || '';
  if (!id) throw new StatusError(`ERROR: invalid secret "${spec}": secret ID missing`, 1);
  if (variable) return { id, env: variable };
  if (file) return { id, file };
  return env[id] !== undefined ? { id, env: id } : { id, file: id };
}

/** The value of a secret; a missing file or variable is an error naming it. */
export async function readSecret(source: SecretSource, env: Record<string, string | undefined>): Promise<Buffer> {
  if ('env' in source) {
    const value = env[source.env];
    if (value === undefined) throw new StatusError(`ERROR: secret "${source.id}": environment variable "${source.env}" is not set`, 1);
    return Buffer.from(value);
  }
  return readFile(resolve(source.file)).catch((err: NodeJS.ErrnoException) => {
    throw new StatusError(`ERROR: secret "${source.id}": cannot read "${source.file}": ${err.code === 'ENOENT' ? 'no such file or directory' : err.message}`, 1);
  });
}

/** One `--build-context`: a local directory or an image. */
export type NamedContextSource = { name: string; dir: string } | { name: string; image: string };

/**
 * `--build-context name=value`: `docker-image://ref` or a local directory. Git and HTTP URLs,
 * `oci-layout://` and `target:` sources are refused.
 */
export async function parseBuildContext(spec: string): Promise<NamedContextSource> {
  const i = spec.indexOf('=');
  const name = i < 0 ? '' : spec.slice(0, i).trim();
  const value = i < 0 ? '' : spec.slice(i + 1).trim();
  if (!name || !value) throw new StatusError(`ERROR: invalid context value: ${spec}, expected key=value`, 1);
  if (value.startsWith('docker-image://')) {
    const image = value.slice('docker-image://'.length);
    if (!image) throw new StatusError(`ERROR: invalid build context "${spec}": docker-image:// needs an image reference`, 1);
    return { name, image };
  }
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(value)?.[1];
  if (scheme || value.startsWith('target:') || value.startsWith('git@')) {
    throw new StatusError(`ERROR: build context "${name}": source "${value}" is not supported: use a local directory or docker-image://REF`, 1);
  }
  const dir = resolve(value);
  const st = await stat(dir).catch(() => undefined);
  if (!st?.isDirectory()) throw new StatusError(`ERROR: build context "${name}": "${value}" is not a directory`, 1);
  return { name, dir };
}
