import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { connect, nkeyAuthenticator, type NatsConnection } from 'nats';
import { InvalidArgumentError, UnavailableError } from '@berth/errors';
import { CLUSTER_JOIN_SUBJECT, inboxPrefix, natsTlsOptions } from '@berth/events';
import { certificateFingerprint, checkHostCertificate, clusterTlsOf, makeKeyAndCsr, signedByClusterCa } from './cluster-ca.js';
import { decodeJoinToken, signJoinRequest } from './join-token.js';
import { freeLoopbackPort } from './loopback-ports.js';
import { checkMembership, saveMemberNatsServer, writeMemberNatsConfig, type NatsMembership } from './nats-membership.js';
import { probeNatsCa } from './nats-ca-probe.js';
import { ensureNatsTls } from './nats-tls.js';
import { waitNatsKeyAdmitted } from './platform-join.js';
import { ensureServiceKey, secretsOf, writeSecret } from './platform-secrets.js';
import { openSecret, type SealedSecret } from './sealed-secret.js';
import type { PlatformSettings } from './platform-settings.js';

/**
 * A host on another machine joining a cluster with its join token (`berth platform up --join
 * nats://A:PORT --token T --address B`), as a Docker swarm worker joins: nothing is read from the
 * first host's file system; everything crosses NATS, as the token's restricted `join` user.
 *
 *   1. read the CA the cluster's nats-server is certified by from its TLS handshake, before sending
 *      anything, and go on only if its SHA-256 is the token's (nats-ca-probe.ts); then connect over
 *      TLS with that CA, with the token's key (a wrong or rotated token: refused here)
 *   2. ask for the cluster CA (`{op: "ca"}`) and check its SHA-256 against the token's: a server
 *      passing for the cluster is found out before this host sends or trusts anything
 *   3. make this host's NATS keys (agent, builder) and its TLS key and CSR (the key never leaves it)
 *   4. ask to join (`{op: "join", hostId, address, nodeName, agentKey, builderKey, csr}`, signed with
 *      the token's key, join-token.ts `signJoinRequest`): the
 *      gateway (join-responder.ts, cluster-admission.ts) signs the CSR, lets
 *      the keys into its nats-server and answers with the certificate, the CA (checked again) and
 *      the registry's credentials, sealed for this host's TLS key (sealed-secret.ts: every token
 *      holder may read the join inbox), the whole answer signed with the CA's key (nothing
 *      between the gateway and its nats-server, or on another route, can alter it)
 *   5. wait until NATS admits this host's agent, then move the files into `<dataRoot>/secrets`
 *
 * A NATS cluster (the first host's `up --nats-cluster`; the `ca` answer says so): the request also
 * names the ports of this host's own nats-server, and the answer also carries the routes'
 * credentials (sealed), the cluster's servers and users, from which this host writes its
 * nats-server's config (nats-membership.ts); `platform up` then starts that server, which routes
 * to the others. The first host answers the second host's join before its JetStream has a quorum
 * (platform.ts `bootstrapJoins`): the exchange is core NATS request/reply.
 *
 * Until step 5 everything is in a staging directory, removed on failure: a refused join leaves
 * nothing behind (and nothing is started).
 */
export interface JoinRequest {
  op: 'join';
  hostId: string;
  address: string;
  nodeName?: string;
  /** Public nkeys of this host's runtime agent and builder. */
  agentKey: string;
  builderKey: string;
  /** PEM CSR for this host's agent and builder TLS listeners (CN = hostId). */
  csr: string;
  /** Joining a NATS cluster: the client and route ports of this host's own nats-server (on `address`). */
  natsPort?: number;
  natsRoutePort?: number;
  /** Joining a NATS cluster: PEM CSR for its nats-server's route certificate (CN = `berth route <hostId>`). */
  routeCsr?: string;
}

/**
 * The gateway's answer on the wire: the CA, and the answer (JSON of JoinAnswer's other fields)
 * signed with the CA's key, so that nothing on the way can alter it (the NATS hops are TLS, but a
 * server of the cluster relays it: the signature holds end to end).
 */
export interface SignedJoinAnswer {
  ca: string;
  answer: string;
  sig: string;
}

export interface JoinAnswer {
  /** The cluster CA's certificate (PEM). */
  ca: string;
  /** This host's certificate (PEM), signed by the CA. */
  cert: string;
  /** The cluster registry (host:port) and its credentials ({username, password} JSON), sealed for this host's TLS key. */
  registry: { address: string; credentials: SealedSecret };
  /**
   * In a NATS cluster: what this host's own nats-server needs (nats-membership.ts): the routes'
   * credentials ({username, password} JSON, sealed as the registry's), the servers and the users.
   */
  nats?: { routeAuth: SealedSecret; routeCert: string; routeCa: string; membership: NatsMembership };
}

/** `nats://HOST:PORT[,…]` → the URLs; InvalidArgumentError naming the bad one. */
export function parseJoinUrls(text: string): string[] {
  const urls = text.split(',').map((u) => u.trim()).filter(Boolean);
  if (urls.length === 0) throw new InvalidArgumentError('Invalid --join "": expected nats://HOST:PORT[,…]');
  for (const url of urls) {
    const m = /^nats:\/\/([^:/]+):(\d+)$/.exec(url);
    if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) throw new InvalidArgumentError(`Invalid --join "${url}": expected nats://HOST:PORT`);
  }
  return urls;
}

/**
 * Steps 1-5 above for `settings` (a host with `joinedNats` and an `address`). Returns the cluster
 * registry's address, which the caller saves in the settings.
 */
export async function joinByToken(settings: PlatformSettings, tokenText: string, options: { timeoutMs: number }): Promise<{ registryAddress: string }> {
  const token = decodeJoinToken(tokenText);
  const urls = settings.joinedNats!;
  const where = urls.join(',');
  const nc = await connectJoin(urls, token.seed, await probeNatsCa(urls, token.caFingerprint));
  const secrets = secretsOf(settings.dataRoot);
  const staging = mkdtempSync(join(settings.dataRoot, '.joining-')); // 0700
  try {
    // A first host whose `up` has just started answers a moment after its nats-server listens
    // (bootstrap-joins.ts connects, then subscribes): nobody answering is asked again meanwhile.
    const { ca, natsCluster } = await ask<{ ca: string; natsCluster?: boolean }>(nc, { op: 'ca' }, where, { respondersWithinMs: Math.min(options.timeoutMs, 15_000) });
    checkFingerprint(ca, token.caFingerprint, where);
    // Its own nats-server: on its address, at the port of the URL it joins by, and a route port.
    if (natsCluster === true) settings.natsRoutePort ??= await freeLoopbackPort();
    const keyFile = join(staging, 'host-key.pem');
    const request: JoinRequest = {
      op: 'join',
      hostId: settings.hostId,
      address: settings.address!,
      ...(settings.nodeName !== undefined ? { nodeName: settings.nodeName } : {}),
      agentKey: ensureServiceKey(join(staging, 'runtime-agent.nk')),
      builderKey: ensureServiceKey(join(staging, 'builder.nk')),
      csr: await makeKeyAndCsr(keyFile, settings.hostId),
      ...(settings.natsRoutePort !== undefined
        ? { natsPort: settings.natsPort, natsRoutePort: settings.natsRoutePort, routeCsr: await makeKeyAndCsr(join(staging, 'route-key.pem'), `berth route ${settings.hostId}`) }
        : {}),
    };
    const signed = await ask<SignedJoinAnswer>(nc, signJoinRequest(request, token.seed), where, { timeoutMs: 30_000 });
    checkFingerprint(signed.ca, token.caFingerprint, where);
    if (typeof signed.answer !== 'string' || typeof signed.sig !== 'string' || !signedByClusterCa(signed.ca, signed.answer, signed.sig)) {
      throw new UnavailableError(`The answer of the cluster at ${where} is not signed by its CA: it was altered on the way`);
    }
    const answer = { ...(JSON.parse(signed.answer) as Omit<JoinAnswer, 'ca'>), ca: signed.ca };
    checkHostCertificate(answer.cert, answer.ca, { keyFile, address: settings.address! });
    const [registryHost, registryPort] = [answer.registry.address.slice(0, answer.registry.address.lastIndexOf(':')), answer.registry.address.slice(answer.registry.address.lastIndexOf(':') + 1)];
    if (isIP(registryHost) !== 4 || !/^\d+$/.test(registryPort)) throw new UnavailableError(`The cluster answered with an invalid registry address "${answer.registry.address}"`);
    writeSecret(join(staging, 'ca.pem'), answer.ca);
    writeSecret(join(staging, 'host.pem'), answer.cert);
    const auth = JSON.parse(openSecret(answer.registry.credentials, createPrivateKey(readFileSync(keyFile)))) as { username?: unknown; password?: unknown };
    if (typeof auth.username !== 'string' || typeof auth.password !== 'string') throw new UnavailableError('The cluster sent invalid registry credentials');
    writeSecret(join(staging, 'registry-auth.json'), JSON.stringify({ username: auth.username, password: auth.password }) + '\n');
    const membership = settings.natsRoutePort !== undefined ? natsMembershipOf(answer, createPrivateKey(readFileSync(keyFile))) : undefined;
    if (membership !== undefined) {
      checkRouteCertificate(membership, join(staging, 'route-key.pem'));
      writeSecret(join(staging, 'route.pem'), membership.routeCert);
      writeSecret(join(staging, 'route-ca.pem'), membership.routeCa);
    }
    // The gateway has reloaded its nats-server; it applies the new users a moment later.
    await waitNatsKeyAdmitted(urls, join(staging, 'runtime-agent.nk'), { timeoutMs: Math.min(options.timeoutMs, 15_000), caFile: join(staging, 'ca.pem') });
    const tls = clusterTlsOf(secrets.dir);
    mkdirSync(secrets.dir, { recursive: true, mode: 0o700 });
    mkdirSync(join(secrets.dir, 'nats'), { recursive: true, mode: 0o700 });
    mkdirSync(tls.dir, { recursive: true, mode: 0o700 });
    for (const [from, to] of [
      ['runtime-agent.nk', secrets.nkeySeedFile('runtime-agent')],
      ['builder.nk', secrets.nkeySeedFile('builder')],
      ['host-key.pem', tls.key],
      ['host.pem', tls.cert],
      ['ca.pem', tls.ca],
      ['registry-auth.json', secrets.registryAuth],
      ...(membership !== undefined
        ? ([
            ['route-key.pem', tls.routeKey],
            ['route.pem', tls.routeCert],
            ['route-ca.pem', tls.routeCa],
          ] as const)
        : []),
    ] as const) {
      renameSync(join(staging, from), to);
    }
    if (membership !== undefined) {
      await ensureNatsTls(settings); // the chain its nats-server serves clients with (nats-tls.ts)
      const own = { hostId: settings.hostId, address: settings.address!, port: settings.natsPort, routePort: settings.natsRoutePort!, storeDir: join(settings.dataRoot, 'nats') };
      saveMemberNatsServer(settings.dataRoot, own, membership.routeAuth);
      writeMemberNatsConfig(settings.dataRoot, membership.membership);
      // Its services reach the others' servers too when its own is down.
      settings.joinedNats = [...new Set([...urls, ...membership.membership.servers.filter((s) => s.hostId !== settings.hostId).map((s) => `nats://${s.address}:${s.port}`)])];
    }
    return { registryAddress: answer.registry.address };
  } finally {
    rmSync(staging, { recursive: true, force: true });
    await nc.close();
  }
}

interface JoinedNats {
  routeAuth: { username: string; password: string };
  routeCert: string;
  routeCa: string;
  membership: NatsMembership;
}

/** The NATS part of a join answer, opened with this host's key and checked. */
function natsMembershipOf(answer: JoinAnswer, key: KeyObject): JoinedNats {
  if (answer.nats === undefined) throw new UnavailableError('The cluster answered the join without its NATS cluster (routes, users): its gateway is older than this host');
  const routeAuth = JSON.parse(openSecret(answer.nats.routeAuth, key)) as { username?: unknown; password?: unknown };
  if (typeof routeAuth.username !== 'string' || typeof routeAuth.password !== 'string') throw new UnavailableError('The cluster sent invalid NATS route credentials');
  return {
    routeAuth: { username: routeAuth.username, password: routeAuth.password },
    routeCert: String(answer.nats.routeCert),
    routeCa: String(answer.nats.routeCa),
    membership: checkMembership(answer.nats.membership),
  };
}

/** The route certificate the cluster sent: for this host's route key, signed by the route CA sent with it. */
function checkRouteCertificate(nats: JoinedNats, keyFile: string): void {
  let ok = false;
  try {
    const cert = new X509Certificate(nats.routeCert);
    ok = cert.verify(new X509Certificate(nats.routeCa).publicKey) && cert.checkPrivateKey(createPrivateKey(readFileSync(keyFile)));
  } catch {
    ok = false;
  }
  if (!ok) throw new UnavailableError('The cluster sent a route certificate that is not for this host\'s route key or not signed by its route CA');
}

/** Whether this host holds what a token join gave it (its certificate): a later `up` does not join again. */
export function joinedByToken(settings: PlatformSettings): boolean {
  return existsSync(clusterTlsOf(secretsOf(settings.dataRoot).dir).cert) && existsSync(secretsOf(settings.dataRoot).registryAuth);
}

/**
 * Connects as the token's `join` user, over TLS with `ca` (the pinned CA: the server's certificate
 * is verified before the key signs anything). A refusal is asked again twice, 500 ms apart: a connection
 * made while nats-server reloads its users (another host's join has it reload) was seen refused,
 * so one refusal does not prove the token wrong.
 */
async function connectJoin(urls: string[], seed: string, ca: string): Promise<NatsConnection> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await connect({
        servers: urls,
        tls: natsTlsOptions(ca),
        authenticator: nkeyAuthenticator(new TextEncoder().encode(seed)),
        inboxPrefix: inboxPrefix({ role: 'join' }),
        reconnect: false,
        timeout: 5_000,
      });
    } catch (err) {
      const message = (err as Error).message;
      if (/authorization/i.test(message) || (err as { code?: string }).code === 'AUTHORIZATION_VIOLATION') {
        if (attempt < 3) {
          await new Promise((r) => setTimeout(r, 500));
          continue;
        }
        throw new InvalidArgumentError(
          `The cluster's NATS (${urls.join(',')}) refused the join token: it is not this cluster's, or it was rotated: ask the first host for \`berth platform join-token\``,
          { cause: err },
        );
      }
      throw new UnavailableError(`Cannot reach the cluster's NATS at ${urls.join(',')}: ${message}`, { cause: err });
    }
  }
}

/**
 * One request of the join exchange. `respondersWithinMs`: while no one answers (NATS's 503, no
 * responders) it is asked again every 250 ms for that long, as the first host's `up` subscribes a
 * moment after its nats-server listens; a host joining in that moment failed, and the first host's
 * `up` then timed out waiting for JetStream's quorum (nats-cluster-join.e2e's set-up failed so here).
 */
async function ask<T>(nc: NatsConnection, request: object, where: string, o: { timeoutMs?: number; respondersWithinMs?: number } = {}): Promise<T> {
  const respondersBy = Date.now() + (o.respondersWithinMs ?? 0);
  let reply;
  for (;;) {
    try {
      reply = await nc.request(CLUSTER_JOIN_SUBJECT, JSON.stringify(request), { timeout: o.timeoutMs ?? 10_000 });
      break;
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === '503' && Date.now() < respondersBy) {
        await new Promise((r) => setTimeout(r, 250));
        continue;
      }
      if (code === '503') throw new UnavailableError(`No gateway of the cluster at ${where} answers joins: its first host must run \`berth platform up --address ADDRESS\``, { cause: err });
      throw new UnavailableError(`The cluster at ${where} did not answer the join: ${(err as Error).message}`, { cause: err });
    }
  }
  let answer: T & { error?: string };
  try {
    answer = JSON.parse(reply.string()) as T & { error?: string };
  } catch (err) {
    throw new UnavailableError(`The cluster at ${where} answered the join with something that is not JSON`, { cause: err });
  }
  if (typeof answer.error === 'string') throw new InvalidArgumentError(`The cluster at ${where} refused this host: ${answer.error}`);
  return answer;
}

function checkFingerprint(ca: unknown, expected: string, where: string): void {
  let actual: string;
  try {
    actual = certificateFingerprint(String(ca));
  } catch {
    throw new UnavailableError(`The cluster at ${where} answered without a valid CA certificate`);
  }
  if (actual !== expected) {
    throw new InvalidArgumentError(
      `The cluster at ${where} has CA sha256:${actual}, not the join token's sha256:${expected}: the token is for another cluster, or something between passes for this one`,
    );
  }
}
