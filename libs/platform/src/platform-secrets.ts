import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { nkeys } from 'nats';
import { InvalidArgumentError } from '@berth/errors';
import { natsPermissions, type NatsIdentity } from '@berth/events';

/**
 * The platform's credentials, made at the first `platform up` and readable by root only (the
 * services all run as root):
 *
 *   <dataRoot>/secrets/                   0700
 *     nats/<service>.nk                   0600  the nkey seed (`SU…`) each service authenticates to NATS with
 *     nats-server.conf                    0600  nats-server's configuration: listen address, JetStream store,
 *                                               one user per service (its public nkey + permissions, see
 *                                               libs/events nats-permissions.ts); rewritten at every `up`
 *     registry.htpasswd                   0600  bcrypt hash of the platform registry's password
 *     registry-auth.json                  0600  {"username","password"}: what the agent and the builder push
 *                                               to the platform registry with
 *
 * Seeds go to the services as file paths (`--nats-nkey FILE`), never on a command line. The server
 * config holds only public keys; it is 0600 all the same.
 */
export const SECRETS_DIR = 'secrets';
export const REGISTRY_USER = 'berth';

/** The NATS identity of each platform service (by its name in compose/platform/compose.yaml). */
export const SERVICE_ROLES: Record<string, NatsIdentity['role']> = {
  api: 'gateway',
  'runtime-agent': 'agent',
  registry: 'registry',
  builder: 'builder',
};

export interface PlatformSecrets {
  dir: string;
  /** Whether `ensurePlatformSecrets` changed nats-server's config (a running server must reload it). */
  natsConfigChanged?: boolean;
  natsConfig: string;
  registryHtpasswd: string;
  registryAuth: string;
  /** The nkey seed file of service `name` (a key of SERVICE_ROLES). */
  nkeySeedFile(name: string): string;
}

export function secretsOf(dataRoot: string): PlatformSecrets {
  const dir = join(dataRoot, SECRETS_DIR);
  return {
    dir,
    natsConfig: join(dir, 'nats-server.conf'),
    registryHtpasswd: join(dir, 'registry.htpasswd'),
    registryAuth: join(dir, 'registry-auth.json'),
    nkeySeedFile: (name) => join(dir, 'nats', `${name}.nk`),
  };
}

export interface NatsServerConfigOptions {
  port: number;
  /** JetStream's store directory. */
  storeDir: string;
  /** The host id every host service's permissions are confined to. */
  hostId: string;
}

/**
 * Makes whatever credentials are missing and (re)writes nats-server's configuration. Idempotent:
 * existing keys and passwords are kept, so running services stay valid.
 */
export function ensurePlatformSecrets(dataRoot: string, nats: NatsServerConfigOptions): PlatformSecrets {
  const secrets = secretsOf(dataRoot);
  mkdirSync(join(secrets.dir, 'nats'), { recursive: true, mode: 0o700 });
  chmodSync(secrets.dir, 0o700);
  chmodSync(join(secrets.dir, 'nats'), 0o700);
  const users: string[] = [];
  for (const [service, role] of Object.entries(SERVICE_ROLES)) {
    const file = secrets.nkeySeedFile(service);
    if (!existsSync(file)) writeSecret(file, new TextDecoder().decode(nkeys.createUser().getSeed()) + '\n');
    const seed = readFileSync(file, 'utf8').trim();
    let publicKey: string;
    try {
      publicKey = nkeys.fromSeed(new TextEncoder().encode(seed)).getPublicKey();
    } catch (err) {
      throw new InvalidArgumentError(`Invalid NATS key in "${file}": remove it and run \`berth platform up\` again to make a new one`, { cause: err });
    }
    const permissions = natsPermissions(role === 'gateway' ? { role } : { role, host: nats.hostId });
    users.push(
      `    # ${service}\n    { nkey: ${JSON.stringify(publicKey)}, permissions: { publish: { allow: ${JSON.stringify(permissions.publish)} }, subscribe: { allow: ${JSON.stringify(permissions.subscribe)} } } }`,
    );
  }
  const config = [
    '# Written by `berth platform up` (libs/platform/src/platform-secrets.ts) at every start: edits are lost.',
    `listen: "127.0.0.1:${nats.port}"`,
    `jetstream { store_dir: ${JSON.stringify(nats.storeDir)} }`,
    '# Every connection authenticates with the nkey of one platform service; nothing else is let in.',
    'authorization {',
    '  users = [',
    ...users,
    '  ]',
    '}',
    '',
  ].join('\n');
  const before = existsSync(secrets.natsConfig) ? readFileSync(secrets.natsConfig, 'utf8') : undefined;
  if (before !== config) writeSecret(secrets.natsConfig, config);
  if (!existsSync(secrets.registryAuth) || !existsSync(secrets.registryHtpasswd)) {
    const password = randomBytes(32).toString('base64url');
    writeSecret(secrets.registryHtpasswd, `${REGISTRY_USER}:${bcrypt.hashSync(password, 10)}\n`);
    writeSecret(secrets.registryAuth, JSON.stringify({ username: REGISTRY_USER, password }) + '\n');
  }
  return { ...secrets, natsConfigChanged: before !== undefined && before !== config };
}

/** The platform registry's credentials (`registry-auth.json`), for the agent and the builder. */
export function readRegistryAuth(file: string): { username: string; password: string } {
  let parsed: { username?: unknown; password?: unknown };
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new InvalidArgumentError(`Cannot read the platform registry's credentials "${file}": ${(err as Error).message}`, { cause: err });
  }
  if (typeof parsed.username !== 'string' || typeof parsed.password !== 'string') {
    throw new InvalidArgumentError(`Invalid platform registry credentials "${file}": expected {"username": "...", "password": "..."}`);
  }
  return { username: parsed.username, password: parsed.password };
}

/** Writes a file readable by its owner only, atomically (no moment with wider permissions). */
function writeSecret(file: string, content: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, content, { mode: 0o600 });
  chmodSync(tmp, 0o600); // the umask cannot widen it, but an old leftover might be wider
  renameSync(tmp, file);
}
