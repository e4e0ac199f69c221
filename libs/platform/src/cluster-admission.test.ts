import { X509Certificate, createPrivateKey } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { nkeys } from 'nats';
import { describe, expect, it } from 'vitest';
import { tempDir } from '@berth/testing';
import { admitHost, checkJoinRequest, clusterCaAnswer, clusterJoinToken, revokeJoinedHost } from './cluster-admission.js';
import { firstHostNatsOptions } from './nats-cluster.js';
import { certificateFingerprint, ensureClusterCa, makeKeyAndCsr, signedByClusterCa } from './cluster-ca.js';
import type { JoinAnswer } from './cluster-join.js';
import { JOIN_REQUEST_MAX_AGE_MS, decodeJoinToken, signJoinRequest } from './join-token.js';
import { ensurePlatformSecrets, secretsOf } from './platform-secrets.js';
import { openSecret } from './sealed-secret.js';
import { resolvePlatformSettings, savePlatformSettings } from './platform-settings.js';

const userKey = () => nkeys.createUser().getPublicKey();

/** A first host's data root with an address (its CA, keys, registry credentials), no process running. */
async function firstHost(dataRoot: string, options: { natsCluster?: boolean } = {}) {
  const settings = await resolvePlatformSettings({ dataRoot, registryPort: 0, address: '10.9.0.1', ...options });
  savePlatformSettings(settings);
  ensurePlatformSecrets(dataRoot, firstHostNatsOptions(settings));
  await ensureClusterCa(secretsOf(dataRoot).dir, { hostId: settings.hostId, address: '10.9.0.1' });
  return settings;
}

describe('admitting a host that joins with the token', () => {
  it('makes the join key on first use, lets it ask to join only, and rotates it', async () => {
    await using first = tempDir('berth-admit-');
    const settings = await firstHost(first.path);
    const { token, url } = await clusterJoinToken({ dataRoot: first.path });
    expect(url).toBe(`nats://10.9.0.1:${settings.natsPort}`);
    const decoded = decodeJoinToken(token);
    expect(decoded.caFingerprint).toBe(certificateFingerprint(readFileSync(join(first.path, 'secrets', 'tls', 'ca.pem'), 'utf8')));
    const joinKey = nkeys.fromSeed(new TextEncoder().encode(decoded.seed)).getPublicKey();
    const config = readFileSync(secretsOf(first.path).natsConfig, 'utf8');
    expect(config).toContain(`{ nkey: "${joinKey}", permissions: { publish: { allow: ["berth.cluster.join"] }, subscribe: { allow: ["_INBOX_join.>"] } } }`);
    expect((await clusterJoinToken({ dataRoot: first.path })).token).toBe(token);
    const rotated = await clusterJoinToken({ dataRoot: first.path, rotate: true });
    expect(rotated.token).not.toBe(token);
    expect(readFileSync(secretsOf(first.path).natsConfig, 'utf8')).not.toContain(joinKey);
  });

  it('signs its CSR, records its keys with its own host\'s permissions, and answers with the registry', async () => {
    await using first = tempDir('berth-admit-');
    await using joiner = tempDir('berth-admit-joiner-');
    const settings = await firstHost(first.path);
    const { seed } = decodeJoinToken((await clusterJoinToken({ dataRoot: first.path })).token);
    const signed = (request: object) => signJoinRequest(request, seed);
    const [agentKey, builderKey] = [userKey(), userKey()];
    const csr = await makeKeyAndCsr(join(joiner.path, 'key.pem'), 'host-2');
    const wire = await admitHost(first.path, signed({ op: 'join', hostId: 'host-2', address: '10.9.0.2', nodeName: 'node-2', agentKey, builderKey, csr }));
    // The answer is signed by the CA (the joining host pins it): altered, it no longer checks.
    expect(signedByClusterCa(wire.ca, wire.answer, wire.sig)).toBe(true);
    expect(signedByClusterCa(wire.ca, wire.answer.replace('10.9.0.1', '10.6.6.6'), wire.sig)).toBe(false);
    const answer = JSON.parse(wire.answer) as Omit<JoinAnswer, 'ca'>;
    expect(new X509Certificate(answer.cert).subjectAltName).toBe('IP Address:10.9.0.2');
    expect(wire.ca).toBe(readFileSync(join(first.path, 'secrets', 'tls', 'ca.pem'), 'utf8'));
    const auth = JSON.parse(readFileSync(secretsOf(first.path).registryAuth, 'utf8')) as { password: string };
    // The registry's credentials are sealed for the joining host's key: NATS may be overheard.
    expect(answer.registry.address).toBe(`10.9.0.1:${settings.registryPort}`);
    expect(JSON.stringify(wire)).not.toContain(auth.password);
    expect(JSON.parse(openSecret(answer.registry.credentials, createPrivateKey(readFileSync(join(joiner.path, 'key.pem')))))).toEqual(auth);
    const config = readFileSync(secretsOf(first.path).natsConfig, 'utf8');
    expect(config).toContain(`# runtime-agent of host host-2\n    { nkey: "${agentKey}"`);
    expect(config).toContain('$KV.hosts.host-2');
    expect(config).toContain(`# builder of host host-2\n    { nkey: "${builderKey}"`);
    expect(JSON.parse(readFileSync(join(first.path, 'secrets', 'hosts', 'host-2.json'), 'utf8'))).toEqual({ hostId: 'host-2', agent: agentKey, builder: builderKey, address: '10.9.0.2', nodeName: 'node-2' });
    // The certificate is kept for `node rm`, which revokes it (certificate-revocation.ts).
    expect(readFileSync(join(first.path, 'secrets', 'tls', 'issued', 'host-2.pem'), 'utf8')).toBe(answer.cert);
    // A host id that is a member already (this one, the first host) is refused: no taking over its keys.
    await expect(admitHost(first.path, signed({ op: 'join', hostId: 'host-2', address: '10.9.0.3', agentKey: userKey(), builderKey, csr }))).rejects.toThrow(
      'Host "host-2" is a member of the cluster already: remove it first (berth node rm)',
    );
    await expect(admitHost(first.path, signed({ op: 'join', hostId: settings.hostId, address: '10.9.0.3', agentKey, builderKey, csr }))).rejects.toThrow('is a member of the cluster already');
    // Another host's CSR (CN) is refused, and nothing is recorded for it.
    await expect(admitHost(first.path, signed({ op: 'join', hostId: 'host-3', address: '10.9.0.3', agentKey: userKey(), builderKey: userKey(), csr }))).rejects.toThrow(
      'its subject is "CN=host-2", expected "CN=host-3"',
    );
    expect(existsSync(join(first.path, 'secrets', 'hosts', 'host-3.json'))).toBe(false);
    // `node rm`: its keys are let out, and the host id may join again.
    await revokeJoinedHost(first.path, 'host-2');
    expect(readFileSync(secretsOf(first.path).natsConfig, 'utf8')).not.toContain(agentKey);
    expect(existsSync(join(first.path, 'secrets', 'hosts', 'host-2.json'))).toBe(false);
    await admitHost(first.path, signed({ op: 'join', hostId: 'host-2', address: '10.9.0.2', agentKey: userKey(), builderKey, csr }));
  });

  it('in a NATS cluster, routes to the host\'s own nats-server and sends the routes\' credentials sealed, the servers and the users', async () => {
    await using first = tempDir('berth-admit-');
    await using joiner = tempDir('berth-admit-joiner-');
    const settings = await firstHost(first.path, { natsCluster: true });
    expect(await clusterCaAnswer(first.path)).toEqual({ ca: readFileSync(join(first.path, 'secrets', 'tls', 'ca.pem'), 'utf8'), natsCluster: true });
    const { seed } = decodeJoinToken((await clusterJoinToken({ dataRoot: first.path })).token);
    // The join token's key is let in with the cluster block kept (the first host still routes).
    expect(readFileSync(secretsOf(first.path).natsConfig, 'utf8')).toContain(`listen: "10.9.0.1:${settings.natsRoutePort}"`);
    const [agentKey, builderKey] = [userKey(), userKey()];
    const csr = await makeKeyAndCsr(join(joiner.path, 'key.pem'), 'host-2');
    const request = { op: 'join', hostId: 'host-2', address: '10.9.0.2', agentKey, builderKey, csr };
    await expect(admitHost(first.path, signJoinRequest(request, seed))).rejects.toThrow(
      'Invalid join request: natsPort, natsRoutePort and routeCsr missing: this cluster is a NATS cluster',
    );
    const routeCsr = await makeKeyAndCsr(join(joiner.path, 'route-key.pem'), 'berth route host-2');
    const wire = await admitHost(first.path, signJoinRequest({ ...request, natsPort: 4300, natsRoutePort: 6300, routeCsr }, seed));
    const answer = JSON.parse(wire.answer) as Omit<JoinAnswer, 'ca'>;
    const routes = JSON.parse(readFileSync(join(first.path, 'secrets', 'nats-routes.json'), 'utf8')) as { password: string };
    expect(wire.answer).not.toContain(routes.password);
    expect(JSON.parse(openSecret(answer.nats!.routeAuth, createPrivateKey(readFileSync(join(joiner.path, 'key.pem')))))).toEqual(routes);
    // Its route certificate: for its route key, by the route CA sent with it, naming its address.
    const routeCert = new X509Certificate(answer.nats!.routeCert);
    expect(routeCert.verify(new X509Certificate(answer.nats!.routeCa).publicKey)).toBe(true);
    expect(routeCert.checkPrivateKey(createPrivateKey(readFileSync(join(joiner.path, 'route-key.pem'))))).toBe(true);
    expect(routeCert.subjectAltName).toBe('IP Address:10.9.0.2');
    expect(answer.nats!.membership.servers).toEqual([
      { hostId: settings.hostId, address: '10.9.0.1', port: settings.natsPort, routePort: settings.natsRoutePort },
      { hostId: 'host-2', address: '10.9.0.2', port: 4300, routePort: 6300 },
    ]);
    expect(answer.nats!.membership.users.map((u) => u.comment)).toEqual(['api', 'runtime-agent', 'registry', 'builder', 'runtime-agent of host host-2', 'builder of host host-2']);
    // The first host's nats-server routes to it and lets its keys in.
    const config = readFileSync(secretsOf(first.path).natsConfig, 'utf8');
    expect(config).toContain('@10.9.0.2:6300"');
    expect(config).toContain(agentKey);
    await revokeJoinedHost(first.path, 'host-2');
    expect(readFileSync(secretsOf(first.path).natsConfig, 'utf8')).not.toContain('10.9.0.2:6300');
  });

  it('admits only a request signed with the current join token, and recent', async () => {
    await using first = tempDir('berth-admit-');
    await firstHost(first.path);
    const request = { op: 'join', hostId: 'host-2', address: '10.9.0.2', agentKey: userKey(), builderKey: userKey(), csr: '-----BEGIN CERTIFICATE REQUEST-----\n' };
    const other = new TextDecoder().decode(nkeys.createUser().getSeed());
    await expect(admitHost(first.path, signJoinRequest(request, other))).rejects.toThrow('This cluster has no join token');
    const { seed } = decodeJoinToken((await clusterJoinToken({ dataRoot: first.path })).token);
    await expect(admitHost(first.path, request)).rejects.toThrow('Invalid join request: it is not signed with the join token');
    await expect(admitHost(first.path, signJoinRequest(request, other))).rejects.toThrow("Invalid join request: its signature is not the current join token's");
    const good = signJoinRequest(request, seed);
    await expect(admitHost(first.path, { ...good, request: good.request.replace('host-2', 'host-9') })).rejects.toThrow('its signature is not');
    const old = { ...request, time: Date.now() - JOIN_REQUEST_MAX_AGE_MS - 1_000 };
    const oldBody = JSON.stringify(old);
    const oldSig = Buffer.from(nkeys.fromSeed(new TextEncoder().encode(seed)).sign(new TextEncoder().encode(oldBody))).toString('base64');
    await expect(admitHost(first.path, { op: 'join', request: oldBody, sig: oldSig })).rejects.toThrow('Invalid join request: it is older than 5 minutes');
    await clusterJoinToken({ dataRoot: first.path, rotate: true });
    await expect(admitHost(first.path, signJoinRequest(request, seed))).rejects.toThrow("its signature is not the current join token's");
  });

  it('gives no token without a first host with an address, and makes no platform asking', async () => {
    await using dir = tempDir('berth-admit-none-');
    await expect(clusterJoinToken({ dataRoot: join(dir.path, 'none') })).rejects.toThrow(`No platform in "${join(dir.path, 'none')}"`);
    expect(existsSync(join(dir.path, 'none'))).toBe(false);
    savePlatformSettings(await resolvePlatformSettings({ dataRoot: dir.path, registryPort: 0 }));
    await expect(clusterJoinToken({ dataRoot: dir.path })).rejects.toThrow('has no cluster CA: start it with `berth platform up --address ADDRESS`');
  });

  it('checks every field of a join request', () => {
    const ok = { op: 'join', hostId: 'h1', address: '10.0.0.2', agentKey: userKey(), builderKey: userKey(), csr: '-----BEGIN CERTIFICATE REQUEST-----\n' };
    expect(checkJoinRequest(ok)).toEqual(ok);
    expect(() => checkJoinRequest({ ...ok, address: '::1' })).toThrow('Invalid join request: address "::1": expected an IPv4 address');
    expect(() => checkJoinRequest({ ...ok, hostId: '../x' })).toThrow('Invalid join request: hostId "../x": expected a host id');
    expect(() => checkJoinRequest({ ...ok, agentKey: nkeys.createAccount().getPublicKey() })).toThrow('agentKey');
    expect(() => checkJoinRequest({ ...ok, builderKey: undefined })).toThrow('Invalid join request: builderKey missing: expected a public NATS user key');
    expect(() => checkJoinRequest({ ...ok, nodeName: 'a b' })).toThrow('Invalid join request: nodeName "a b": expected a node name');
    expect(() => checkJoinRequest({ ...ok, csr: 'x' })).toThrow('expected a PEM certificate signing request');
    const nats = { natsPort: 4222, natsRoutePort: 6222, routeCsr: ok.csr };
    expect(checkJoinRequest({ ...ok, ...nats })).toEqual({ ...ok, ...nats });
    expect(() => checkJoinRequest({ ...ok, natsPort: 4222 })).toThrow('Invalid join request: natsRoutePort missing: expected a port');
    expect(() => checkJoinRequest({ ...ok, ...nats, natsPort: 70000 })).toThrow('Invalid join request: natsPort 70000: expected a port');
    expect(() => checkJoinRequest({ ...ok, ...nats, routeCsr: 'x' })).toThrow('Invalid join request: routeCsr "x": expected a PEM certificate signing request');
  });
});
