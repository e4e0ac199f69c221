import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { InvalidArgumentError } from '@berth/errors';

/**
 * Credentials in Docker's client config file, so that `docker login` and `berth login` share them:
 *
 *   $DOCKER_CONFIG/config.json   (default ~/.docker/config.json, mode 0600)
 *   { "auths": { "<host>": { "auth": base64("user:password") } }, ...other keys kept as they are }
 *
 * Docker Hub's entry is keyed `https://index.docker.io/v1/`. Keys are matched the way Docker
 * matches them: scheme and path stripped (`https://host:5000/v2/` is `host:5000`).
 * Credential helpers (`credsStore`, `credHelpers`) and `identitytoken` are not supported: entries
 * that only have those are treated as absent.
 */
export interface Credentials {
  username: string;
  password: string;
}

/** Where credentials for a registry host come from (a DockerConfig, or anything else). */
export type CredentialsProvider = (domain: string) => Promise<Credentials | undefined>;

export const DOCKER_HUB_AUTH_KEY = 'https://index.docker.io/v1/';

const DOCKER_HUB_HOSTS = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);

/** The `auths` key Docker writes for a registry domain. */
export function authKey(domain: string): string {
  return DOCKER_HUB_HOSTS.has(domain) ? DOCKER_HUB_AUTH_KEY : domain;
}

/** Docker's `ConvertToHostname`: `https://host:5000/v1/` → `host:5000`. */
function hostOfKey(key: string): string {
  const host = key.replace(/^https?:\/\//, '').split('/')[0]!;
  return DOCKER_HUB_HOSTS.has(host) ? 'docker.io' : host;
}

interface ConfigFile {
  auths?: Record<string, { auth?: string; username?: string; password?: string; [k: string]: unknown }>;
  [k: string]: unknown;
}

export class DockerConfig {
  /** The config directory: `dir`, else `$DOCKER_CONFIG`, else `~/.docker`. */
  readonly dir: string;

  constructor(dir?: string, env: NodeJS.ProcessEnv = process.env) {
    this.dir = dir ?? (env.DOCKER_CONFIG || join(homedir(), '.docker'));
  }

  get file(): string {
    return join(this.dir, 'config.json');
  }

  /** Credentials stored for `domain` (`docker.io`, `localhost:5000`), or undefined. */
  async get(domain: string): Promise<Credentials | undefined> {
    const config = await this.#read();
    const wanted = hostOfKey(domain);
    const entries = Object.entries(config.auths ?? {});
    // An exact key wins over one that only matches after normalization.
    const entry = (config.auths ?? {})[authKey(domain)] ?? entries.find(([key]) => hostOfKey(key) === wanted)?.[1];
    if (!entry) return undefined;
    if (typeof entry.auth === 'string' && entry.auth !== '') {
      const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon <= 0) throw new InvalidArgumentError(`Invalid auth for "${domain}" in "${this.file}": expected base64 of "user:password"`);
      return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
    }
    if (typeof entry.username === 'string' && typeof entry.password === 'string') {
      return { username: entry.username, password: entry.password };
    }
    return undefined;
  }

  /** Stores credentials for `domain`, keeping the file's other content; the file is written 0600. */
  async set(domain: string, credentials: Credentials): Promise<void> {
    const config = await this.#read();
    const auths = { ...(config.auths ?? {}) };
    // Drop equivalent keys (`http://host`, `host/v2/`) so that the new entry is the one found.
    for (const key of Object.keys(auths)) if (hostOfKey(key) === hostOfKey(domain)) delete auths[key];
    auths[authKey(domain)] = { auth: Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64') };
    await this.#write({ ...config, auths });
  }

  /** Removes the credentials of `domain`; false when there were none. */
  async remove(domain: string): Promise<boolean> {
    const config = await this.#read();
    const auths = { ...(config.auths ?? {}) };
    let removed = false;
    for (const key of Object.keys(auths)) {
      if (hostOfKey(key) === hostOfKey(domain)) {
        delete auths[key];
        removed = true;
      }
    }
    if (removed) await this.#write({ ...config, auths });
    return removed;
  }

  /** A provider reading this file at each call (so that a concurrent `login` is seen). */
  provider(): CredentialsProvider {
    return (domain) => this.get(domain);
  }

  async #read(): Promise<ConfigFile> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw err;
    }
    if (text.trim() === '') return {};
    try {
      const parsed = JSON.parse(text) as unknown;
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not a JSON object');
      return parsed as ConfigFile;
    } catch (err) {
      throw new InvalidArgumentError(`Invalid Docker config file "${this.file}": ${(err as Error).message}`, { cause: err });
    }
  }

  async #write(config: ConfigFile): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const temp = `${this.file}.${process.pid}.tmp`;
    await writeFile(temp, `${JSON.stringify(config, null, '\t')}\n`, { mode: 0o600 });
    await chmod(temp, 0o600);
    await rename(temp, this.file);
  }
}
