import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import type { TlsOptions } from 'nats';
import { natsTlsOptions } from '@berth/events';
import { certificateHasIp, clusterTlsOf, ensureHostCertificate, signRouteCertificate } from './cluster-ca.js';
import { secretsOf, writeSecret } from './secret-files.js';
import { isJoinedHost, type PlatformSettings } from './platform-settings.js';

/**
 * TLS of the platform's NATS between machines. A cluster whose first host has an `--address` (and
 * so the cluster CA, cluster-ca.ts) runs every nats-server with TLS for clients, and, in a NATS
 * cluster, on its routes; every service (and `platform up` itself) connects with the CA
 * (`--nats-ca`, libs/events connectNats):
 *
 *   nats-server.conf  tls { cert_file: tls/nats-server.pem  (host.pem, then ca.pem: the chain is sent,
 *                                                             so that a joining host can pin the CA, nats-ca-probe.ts)
 *                           key_file: tls/host-key.pem, ca_file: tls/ca.pem, timeout }
 *                     cluster { tls { cert_file: tls/route.pem, key_file: tls/route-key.pem,
 *                                     ca_file: tls/route-ca.pem, verify: true, timeout } }
 *
 * nats-server 2.9 sends its INFO in plain text, then the client starts TLS before it sends anything
 * (its CONNECT carries the nkey signature). Route certificates are clients' and servers' both
 * (nats-server always verifies routes both ways); they come from a CA of their own (the route CA),
 * which no agent trusts: a route key opens no agent. On one machine the first host signs a
 * `platform join --cluster` host's certificates (it reads and writes that host's data root).
 */

/** Whether this host's cluster's nats-servers speak TLS: their first host has an address (and so the cluster CA). */
export function natsUsesTls(settings: PlatformSettings): boolean {
  if (settings.joinedNats !== undefined) return true; // only a first host with an address hands out join tokens
  return isJoinedHost(settings) ? settings.firstHostAddress !== undefined : settings.address !== undefined;
}

/** The CA file this host's services verify their nats-server with (`--nats-ca`), when NATS speaks TLS. */
export function natsCaFile(settings: PlatformSettings): string | undefined {
  return natsUsesTls(settings) ? clusterTlsOf(secretsOf(settings.dataRoot).dir).ca : undefined;
}

/** The `tls` option of nats.js `connect` for a CA file (none: plain TCP). */
export function natsTlsOption(caFile: string | undefined): { tls?: TlsOptions } {
  return caFile !== undefined ? { tls: natsTlsOptions(readFileSync(caFile, 'utf8')) } : {};
}

/**
 * Makes the TLS files this host's nats-server and services need (the header above), before its
 * nats-server's config is written: the chain file for a host with its certificate, the route
 * certificate for a server of a NATS cluster; for a `platform join --cluster` host, the CA, its
 * certificate and its route certificate from the first host. A host whose NATS is plain loses its
 * chain file (its config then has no `tls`).
 */
export async function ensureNatsTls(settings: PlatformSettings): Promise<void> {
  const tls = clusterTlsOf(secretsOf(settings.dataRoot).dir);
  if (!natsUsesTls(settings)) {
    rmSync(tls.natsServerCert, { force: true });
    return;
  }
  if (settings.joinedNats !== undefined) {
    // Joined with a token: its CA and certificate, and in a NATS cluster its route certificate and
    // the route CA, came with the join (cluster-join.ts).
    if (existsSync(tls.cert)) writeChain(tls);
    return;
  }
  const first = secretsOf(settings.cluster ?? settings.dataRoot).dir;
  const firstTls = clusterTlsOf(first);
  const address = settings.address ?? '127.0.0.1';
  mkdirSync(tls.dir, { recursive: true, mode: 0o700 });
  if (settings.cluster !== undefined) {
    copyIfChanged(firstTls.ca, tls.ca);
    // Without a nats-server of its own (no NATS cluster) it needs the CA only.
    if (settings.natsRoutePort === undefined) return;
    await ensureHostCertificate(first, { hostId: settings.hostId, address, secretsDir: secretsOf(settings.dataRoot).dir });
  }
  writeChain(tls);
  if (settings.natsRoutePort === undefined) return;
  if (!existsSync(tls.routeCert) || !existsSync(tls.routeKey) || !certificateHasIp(readFileSync(tls.routeCert, 'utf8'), address)) {
    writeSecret(tls.routeCert, await signRouteCertificate(first, { hostId: settings.hostId, address, keyFile: tls.routeKey }));
  }
  if (settings.cluster !== undefined) copyIfChanged(firstTls.routeCa, tls.routeCa);
}

/** `nats-server.pem`: this host's certificate followed by the CA's, so that nats-server sends the chain. */
function writeChain(tls: ReturnType<typeof clusterTlsOf>): void {
  const chain = readFileSync(tls.cert, 'utf8').trimEnd() + '\n' + readFileSync(tls.ca, 'utf8').trimEnd() + '\n';
  if (!existsSync(tls.natsServerCert) || readFileSync(tls.natsServerCert, 'utf8') !== chain) writeSecret(tls.natsServerCert, chain);
}

function copyIfChanged(from: string, to: string): void {
  const content = readFileSync(from, 'utf8');
  if (!existsSync(to) || readFileSync(to, 'utf8') !== content) writeSecret(to, content);
}

/** nats-server's TLS handshake timeout (s): a Node client on a loaded 2-core machine may take more than its default 2 s. */
const HANDSHAKE_TIMEOUT_S = 5;

/**
 * The `tls` blocks of the nats-server config of the host whose secrets are `secretsDir`, from the
 * files ensureNatsTls made: `client` for the top level (none when it has no chain file), `route`
 * for inside `cluster { }` (none unless `cluster` and it has a route certificate).
 */
export function natsServerTlsConfig(secretsDir: string, options: { cluster: boolean }): { client: string[]; route: string[] } {
  const tls = clusterTlsOf(secretsDir);
  const client = existsSync(tls.natsServerCert)
    ? [
        '# TLS for every client (nats-tls.ts): the chain ends at the cluster CA, which a joining host pins.',
        ...tlsBlock({ cert: tls.natsServerCert, key: tls.key, ca: tls.ca }),
      ]
    : [];
  const route =
    options.cluster && existsSync(tls.routeCert)
      ? ['# Routes: mutual TLS with certificates of the route CA (nats-tls.ts).', ...tlsBlock({ cert: tls.routeCert, key: tls.routeKey, ca: tls.routeCa, verify: true })].map((line) => `  ${line}`)
      : [];
  return { client, route };
}

/** A nats-server `tls { … }` block (its lines). */
function tlsBlock(files: { cert: string; key: string; ca: string; verify?: boolean }): string[] {
  return [
    'tls {',
    `  cert_file: ${JSON.stringify(files.cert)}`,
    `  key_file: ${JSON.stringify(files.key)}`,
    `  ca_file: ${JSON.stringify(files.ca)}`,
    ...(files.verify ? ['  verify: true'] : []),
    `  timeout: ${HANDSHAKE_TIMEOUT_S}`,
    '}',
  ];
}
