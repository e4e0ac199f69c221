import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { InternalError, InvalidArgumentError } from '@berth/errors';
import { parseGoDuration } from '@berth/filters';
import { runCommand } from '@berth/subprocess';
import type { RegistryConfig } from './app.js';
import type { AuthMode } from './auth/authorizer.js';
import { parseRemoteUrl } from './proxy/remote-url.js';
import { fileSize } from './storage/fs-util.js';
import { logLevelOf } from '@berth/log';

export interface ServeOptions {
  host: string;
  port: number;
  config: RegistryConfig;
  /** NATS server URL (`--nats`): publish image.push / image.delete and announce in `registries`. */
  nats?: string;
  /** The file of the registry's NATS nkey seed (`--nats-nkey`; the platform's NATS requires one). */
  natsNkey?: string;
  /** The CA file the NATS servers' TLS certificates chain to (`--nats-ca`): the connection is TLS. */
  natsCa?: string;
  /** The id of the host it serves (`--host-id`): its NATS subjects and `registries` key. Default: the hostname. */
  hostId?: string;
  /** Admin gRPC address (`--grpc-listen`): `unix:/path` or `host:port`. */
  grpcListen?: string;
}

export interface GcCommandOptions {
  root: string;
  dryRun: boolean;
  gracePeriodMs: number;
}

const DEFAULT_ROOT = '/var/lib/berth/registry';

/**
 * `serve` flags, each with an environment fallback (`BERTH_REGISTRY_<FLAG>`, e.g.
 * BERTH_REGISTRY_LISTEN=0.0.0.0:5000, BERTH_REGISTRY_DELETE_ENABLED=true):
 * --listen host:port (default 0.0.0.0:5000; port 0 picks a free one), --root dir,
 * --auth none|basic|token, --htpasswd file, --access-file file, --anonymous-pull, --delete-enabled,
 * --tls-cert file --tls-key file | --tls-self-signed, --token-service, --token-realm, --log-level,
 * --nats url, --nats-nkey file, --nats-ca file, --host-id id, --grpc-listen address, --proxy-remote-url url [--proxy-username u --proxy-password p].
 */
export async function parseServeArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<ServeOptions> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      listen: { type: 'string' },
      root: { type: 'string' },
      auth: { type: 'string' },
      htpasswd: { type: 'string' },
      'access-file': { type: 'string' },
      'anonymous-pull': { type: 'boolean' },
      'delete-enabled': { type: 'boolean' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      'tls-self-signed': { type: 'boolean' },
      'token-service': { type: 'string' },
      'token-realm': { type: 'string' },
      'log-level': { type: 'string' },
      nats: { type: 'string' },
      'nats-nkey': { type: 'string' },
      'nats-ca': { type: 'string' },
      'host-id': { type: 'string' },
      'grpc-listen': { type: 'string' },
      'proxy-remote-url': { type: 'string' },
      'proxy-username': { type: 'string' },
      'proxy-password': { type: 'string' },
    },
  });
  const fromEnv = (flag: keyof typeof values): string | undefined => env[`BERTH_REGISTRY_${flag.toUpperCase().replace(/-/g, '_')}`];
  const str = (flag: keyof typeof values): string | undefined => (values[flag] as string | undefined) ?? fromEnv(flag);
  const bool = (flag: keyof typeof values): boolean => values[flag] === true || /^(1|true|yes)$/i.test(fromEnv(flag) ?? '');

  const listen = str('listen') ?? '0.0.0.0:5000';
  const m = /^(.*):(\d+)$/.exec(listen);
  if (!m || Number(m[2]) > 65535) throw new InvalidArgumentError(`Invalid --listen "${listen}": expected host:port, e.g. 127.0.0.1:5000`);
  const auth = (str('auth') ?? 'none') as AuthMode;
  if (!['none', 'basic', 'token'].includes(auth)) throw new InvalidArgumentError(`Invalid --auth "${auth}": expected none, basic or token`);
  const root = str('root') ?? DEFAULT_ROOT;
  if (auth !== 'none' && str('htpasswd') === undefined) throw new InvalidArgumentError(`--auth ${auth} needs --htpasswd <file>`);

  let tls: RegistryConfig['tls'];
  const cert = str('tls-cert');
  const key = str('tls-key');
  if ((cert === undefined) !== (key === undefined)) throw new InvalidArgumentError('--tls-cert and --tls-key go together');
  if (cert !== undefined && key !== undefined) tls = { cert: await readFile(cert), key: await readFile(key) };
  else if (bool('tls-self-signed')) tls = await selfSignedCertificate(join(root, 'tls'));

  const remoteUrl = str('proxy-remote-url');
  if (remoteUrl === undefined && (str('proxy-username') !== undefined || str('proxy-password') !== undefined)) {
    throw new InvalidArgumentError('--proxy-username and --proxy-password need --proxy-remote-url <url>');
  }
  if (remoteUrl !== undefined) parseRemoteUrl(remoteUrl);
  const grpcListen = str('grpc-listen');
  if (grpcListen !== undefined && !/^(unix:.+|.+:\d+)$/.test(grpcListen)) {
    throw new InvalidArgumentError(`Invalid --grpc-listen "${grpcListen}": expected unix:/path/to.sock or host:port`);
  }

  // debug, info, warn, error (also BERTH_LOG_LEVEL), or silent: no log at all.
  const flagLevel = str('log-level');
  const level = flagLevel === 'silent' ? 'silent' : logLevelOf(flagLevel, env);
  return {
    nats: str('nats'),
    natsNkey: str('nats-nkey'),
    natsCa: str('nats-ca'),
    hostId: str('host-id'),
    grpcListen,
    host: m[1].replace(/^\[(.*)\]$/, '$1'),
    port: Number(m[2]),
    config: {
      root,
      auth,
      htpasswd: str('htpasswd'),
      accessFile: str('access-file'),
      anonymousPull: bool('anonymous-pull'),
      deleteEnabled: bool('delete-enabled'),
      tokenService: str('token-service'),
      tokenRealm: str('token-realm'),
      tls,
      logger: level === 'silent' ? false : { level },
      ...(remoteUrl !== undefined ? { proxy: { remoteUrl, username: str('proxy-username'), password: str('proxy-password') } } : {}),
    },
  };
}

/** `gc --root DIR [--dry-run] [--grace 1h]`. */
export function parseGcArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): GcCommandOptions {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: { root: { type: 'string' }, 'dry-run': { type: 'boolean' }, grace: { type: 'string' } },
  });
  return {
    root: values.root ?? env.BERTH_REGISTRY_ROOT ?? DEFAULT_ROOT,
    dryRun: values['dry-run'] === true,
    gracePeriodMs: parseDuration(values.grace ?? '1h'),
  };
}

/** A Go duration (`90s`, `30m`, `1h30m`, `500ms`, `0`), or a number of seconds (`90`) → milliseconds; never negative. */
export function parseDuration(s: string): number {
  const text = s.trim();
  const ns = /^\d+(?:\.\d+)?$/.test(text) ? Number(text) * 1e9 : parseGoDuration(text);
  if (ns === undefined || ns < 0) throw new InvalidArgumentError(`Invalid duration "${s}": expected a number with ms, s, m or h, e.g. 30m`);
  return ns / 1e6;
}

/**
 * A self-signed certificate for localhost / 127.0.0.1 in `dir` (cert.pem, key.pem), made once with
 * the `openssl` command and reused afterwards.
 */
export async function selfSignedCertificate(dir: string): Promise<{ cert: Buffer; key: Buffer }> {
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  if ((await fileSize(cert)) === undefined || (await fileSize(key)) === undefined) {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const res = await runCommand('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '825',
      '-keyout', key, '-out', cert, '-subj', '/CN=localhost',
      '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1',
    ]);
    if (res.code !== 0) throw new InternalError(`Cannot make a self-signed certificate in "${dir}": ${res.stderr.toString().trim() || `openssl exited with ${res.code}`}`);
  }
  return { cert: await readFile(cert), key: await readFile(key) };
}
