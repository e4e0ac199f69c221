import { chmodSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Where a data root keeps its credentials (platform-secrets.ts describes the files). */
export const SECRETS_DIR = 'secrets';

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

/** Writes a file readable by its owner only, atomically (no moment with wider permissions). */
export function writeSecret(file: string, content: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, content, { mode: 0o600 });
  chmodSync(tmp, 0o600); // the umask cannot widen it, but an old leftover might be wider
  renameSync(tmp, file);
}
