import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { isIP } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { nkeys } from 'nats';
import { InvalidArgumentError } from '@berth/errors';
import { certificateFingerprint, clusterTlsOf, signHostCsr, signRouteCsr, signWithClusterCa } from './cluster-ca.js';
import { recordIssuedCertificate } from './certificate-revocation.js';
import { natsCaFile } from './nats-tls.js';
import type { JoinAnswer, JoinRequest, SignedJoinAnswer } from './cluster-join.js';
import { encodeJoinToken, verifyJoinRequest } from './join-token.js';
import { firstHostNatsOptions, hostAddress, natsRouteAuth, writeMemberNatsConfigs } from './nats-cluster.js';
import { clusterMembership } from './nats-membership.js';
import { waitNatsKeyAdmitted } from './platform-join.js';
import { reloadNatsServer } from './nats-reload.js';
import { ensurePlatformSecrets, ensureServiceKey, forgetJoinedHost, joinedHosts, readRegistryAuth, recordJoinedHost, secretsOf } from './platform-secrets.js';
import { sealSecret } from './sealed-secret.js';
import { DEFAULT_DATA_ROOT, isJoinedHost, resolvePlatformSettings, type PlatformSettings } from './platform-settings.js';

/**
 * The first host's side of a token join (cluster-join.ts is the joining host's): the join token it
 * hands out (`berth platform join-token`), and the admission the gateway does for a host that
 * asks with it (join-responder.ts, in the gateway: it runs on the first host, as root, with
 * `--cluster-secrets`).
 */

/** The first host's data root, from the secrets directory the gateway was given (`--cluster-secrets`). */
export function dataRootOfSecrets(secretsDir: string): string {
  return dirname(secretsDir);
}

/** The cluster CA's certificate (PEM) of the first host `firstDataRoot`. */
export function clusterCaCertificate(firstDataRoot: string): string {
  return readFileSync(clusterTlsOf(secretsOf(firstDataRoot).dir).ca, 'utf8');
}

/**
 * `berth platform join-token [--rotate]` on the first host: the token (join-token.ts) and the NATS
 * URL a joining host gives `--join`. The join key is made the first time; `rotate` makes a new one
 * (nats-server reloads: the old token is refused from then on).
 */
export async function clusterJoinToken(options: { dataRoot?: string; rotate?: boolean }): Promise<{ token: string; url: string }> {
  const dataRoot = resolve(options.dataRoot ?? DEFAULT_DATA_ROOT);
  if (!existsSync(join(dataRoot, 'platform.json'))) {
    throw new InvalidArgumentError(`No platform in "${dataRoot}": start the first host with \`berth platform up --address ADDRESS\` (or name its --data-root)`);
  }
  const settings = await resolvePlatformSettings({ dataRoot });
  if (isJoinedHost(settings)) throw new InvalidArgumentError(`"${settings.dataRoot}" joined a cluster: ask its first host for the join token`);
  const tls = clusterTlsOf(secretsOf(settings.dataRoot).dir);
  if (settings.address === undefined || !existsSync(tls.ca)) {
    throw new InvalidArgumentError(`The platform of "${settings.dataRoot}" has no cluster CA: start it with \`berth platform up --address ADDRESS\` (its address between machines) first`);
  }
  const seedFile = secretsOf(settings.dataRoot).nkeySeedFile('join');
  const made = options.rotate === true || !existsSync(seedFile);
  if (options.rotate) rmSync(seedFile, { force: true });
  ensureServiceKey(seedFile);
  if (made && (await letInJoinedKeys(settings))) await waitJoinKeyAdmitted(settings, seedFile);
  return {
    token: encodeJoinToken({ caFingerprint: certificateFingerprint(readFileSync(tls.ca, 'utf8')), seed: readFileSync(seedFile, 'utf8').trim() }),
    url: `nats://${hostAddress(settings)}:${settings.natsPort}`,
  };
}

/**
 * Rewrites the first host's nats-server config (its users; in a NATS cluster its routes too, and
 * the config of every member on this machine) and has each running server reload it.
 * @returns whether the first host's nats-server runs and reloaded
 */
async function letInJoinedKeys(settings: PlatformSettings): Promise<boolean> {
  if (settings.natsRoutePort === undefined) {
    return ensurePlatformSecrets(settings.dataRoot, firstHostNatsOptions(settings)).natsConfigChanged === true && reloadNatsServer(settings);
  }
  let reloaded = false;
  for (const dataRoot of writeMemberNatsConfigs(settings.dataRoot)) {
    const ran = reloadNatsServer(dataRoot === settings.dataRoot ? settings : await resolvePlatformSettings({ dataRoot }));
    if (dataRoot === settings.dataRoot) reloaded = ran;
  }
  return reloaded;
}

/**
 * Waits until the first host's nats-server lets the join key in (it applies a reload
 * asynchronously), so that the token printed works at once; not admitted within 2 s, the reload
 * is signalled again (idempotent; a safety net, for a signal that came while the server was still
 * starting). UnavailableError after 15 s.
 */
async function waitJoinKeyAdmitted(settings: PlatformSettings, seedFile: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      await waitNatsKeyAdmitted([`nats://${hostAddress(settings)}:${settings.natsPort}`], seedFile, { timeoutMs: 2_000, caFile: natsCaFile(settings) });
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      reloadNatsServer(settings);
    }
  }
}

/** The answer to `{op: "ca"}`: the cluster CA, and whether a joining host runs a nats-server of its own. */
export async function clusterCaAnswer(firstDataRoot: string): Promise<{ ca: string; natsCluster: boolean }> {
  const settings = await resolvePlatformSettings({ dataRoot: firstDataRoot });
  return { ca: clusterCaCertificate(firstDataRoot), natsCluster: settings.natsRoutePort !== undefined };
}

/**
 * Admits a host that asked to join (the gateway's answer to `{op: "join"}`): checks the request
 * (signed with the current join token's key, join-token.ts `verifyJoinRequest`, and its fields),
 * signs its CSR with the cluster CA, records its keys (`secrets/hosts/<id>.json`) and has the
 * nats-server let them in; the answer is signed with the CA's key. InvalidArgumentError saying
 * what is wrong with the request.
 */
export async function admitHost(firstDataRoot: string, request: unknown): Promise<SignedJoinAnswer> {
  const settings = await resolvePlatformSettings({ dataRoot: firstDataRoot });
  const joinKey = secretsOf(firstDataRoot).nkeySeedFile('join');
  if (!existsSync(joinKey)) throw new InvalidArgumentError('This cluster has no join token: make one with `berth platform join-token` on its first host');
  const host = checkJoinRequest(verifyJoinRequest(request, ensureServiceKey(joinKey)));
  if (host.hostId === settings.hostId || joinedHosts(firstDataRoot).some((h) => h.hostId === host.hostId)) {
    throw new InvalidArgumentError(`Host "${host.hostId}" is a member of the cluster already: remove it first (berth node rm)`);
  }
  const natsCluster = settings.natsRoutePort !== undefined;
  if (natsCluster && (host.natsPort === undefined || host.natsRoutePort === undefined || host.routeCsr === undefined)) {
    throw new InvalidArgumentError('Invalid join request: natsPort, natsRoutePort and routeCsr missing: this cluster is a NATS cluster, every host runs a nats-server of its own');
  }
  // Its nats-server's route certificate (mutual TLS between the servers, nats-tls.ts), from its own key.
  const secrets = secretsOf(firstDataRoot);
  const routeCert = natsCluster ? await signRouteCsr(secrets.dir, host.routeCsr!, { hostId: host.hostId, address: host.address }) : undefined;
  const cert = await signHostCsr(secrets.dir, host.csr, { hostId: host.hostId, address: host.address });
  // Kept for `node rm`, which revokes it (certificate-revocation.ts).
  recordIssuedCertificate(secrets.dir, host.hostId, cert);
  recordJoinedHost(firstDataRoot, {
    hostId: host.hostId,
    agent: host.agentKey,
    builder: host.builderKey,
    address: host.address,
    ...(host.nodeName !== undefined ? { nodeName: host.nodeName } : {}),
    ...(natsCluster ? { natsPort: host.natsPort, natsRoutePort: host.natsRoutePort } : {}),
  });
  await letInJoinedKeys(settings);
  const registry = readRegistryAuth(secrets.registryAuth);
  // For the key of the CSR (the one the certificate certifies) only: NATS may be overheard.
  const hostKey = new X509Certificate(cert).publicKey;
  const answer: Omit<JoinAnswer, 'ca'> = {
    cert,
    registry: { address: `${hostAddress(settings)}:${settings.registryPort}`, credentials: sealSecret(JSON.stringify(registry), hostKey) },
    // A NATS cluster: what the host's own nats-server needs (nats-membership.ts).
    ...(natsCluster
      ? {
          nats: {
            routeAuth: sealSecret(JSON.stringify(natsRouteAuth(firstDataRoot)), hostKey),
            routeCert: routeCert!,
            routeCa: readFileSync(clusterTlsOf(secrets.dir).routeCa, 'utf8'),
            membership: clusterMembership(firstDataRoot, settings.hostId),
          },
        }
      : {}),
  };
  const text = JSON.stringify(answer);
  return { ca: clusterCaCertificate(firstDataRoot), answer: text, sig: signWithClusterCa(secrets.dir, text) };
}

/**
 * `node rm` of a joined host, on the first host's gateway: its record (`secrets/hosts/<id>.json`)
 * is removed and nats-server reloads without its keys (in a NATS cluster, every member's on this
 * machine; another machine's once the gateway wrote KV `nats-members`): its agent and builder can
 * no longer connect, and the host id may join again.
 */
export async function revokeJoinedHost(firstDataRoot: string, hostId: string): Promise<void> {
  if (!joinedHosts(firstDataRoot).some((h) => h.hostId === hostId)) return;
  forgetJoinedHost(firstDataRoot, hostId);
  // The other machines' servers follow KV `nats-members`, which the gateway writes after this.
  await letInJoinedKeys(await resolvePlatformSettings({ dataRoot: firstDataRoot }));
}

/** The fields of a join request, checked: InvalidArgumentError naming the bad one. */
export function checkJoinRequest(request: unknown): JoinRequest {
  const r = (typeof request === 'object' && request !== null ? request : {}) as Record<string, unknown>;
  const text = (field: string, ok: (v: string) => boolean, expected: string): string => {
    const v = r[field];
    if (typeof v !== 'string' || !ok(v)) throw new InvalidArgumentError(`Invalid join request: ${field} ${JSON.stringify(v)?.slice(0, 80) ?? 'missing'}: expected ${expected}`);
    return v;
  };
  const port = (field: string): number => {
    const v = r[field];
    if (!Number.isInteger(v) || (v as number) < 1 || (v as number) > 65535) throw new InvalidArgumentError(`Invalid join request: ${field} ${JSON.stringify(v)?.slice(0, 80) ?? 'missing'}: expected a port`);
    return v as number;
  };
  const userKey = (v: string) => {
    try {
      return v.startsWith('U') && nkeys.fromPublic(v).getPublicKey() === v;
    } catch {
      return false;
    }
  };
  return {
    op: 'join',
    hostId: text('hostId', (v) => /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/.test(v), 'a host id'),
    address: text('address', (v) => isIP(v) === 4, 'an IPv4 address'),
    ...(r.nodeName !== undefined ? { nodeName: text('nodeName', (v) => /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/.test(v), 'a node name') } : {}),
    agentKey: text('agentKey', userKey, 'a public NATS user key'),
    builderKey: text('builderKey', userKey, 'a public NATS user key'),
    ...(r.natsPort !== undefined || r.natsRoutePort !== undefined || r.routeCsr !== undefined
      ? {
          natsPort: port('natsPort'),
          natsRoutePort: port('natsRoutePort'),
          routeCsr: text('routeCsr', (v) => v.includes('-----BEGIN CERTIFICATE REQUEST-----') && v.length < 10_000, 'a PEM certificate signing request'),
        }
      : {}),
    csr: text('csr', (v) => v.includes('-----BEGIN CERTIFICATE REQUEST-----') && v.length < 10_000, 'a PEM certificate signing request'),
  };
}
