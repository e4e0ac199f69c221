import { spawn, type ChildProcess } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'nats';
import { describe, expect, it } from 'vitest';
import { tempDir, waitForPort } from '@berth/testing';
import { clusterTlsOf, ensureClusterCa, makeKeyAndCsr, signRouteCsr } from './cluster-ca.js';
import { freeLoopbackPort } from './loopback-ports.js';
import { waitJetStream, writeMemberNatsConfigs } from './nats-cluster.js';
import { ensureNatsTls, natsCaFile, natsServerTlsConfig, natsUsesTls } from './nats-tls.js';
import { prepareJoin } from './platform-join.js';
import { secretsOf } from './platform-secrets.js';
import { resolvePlatformSettings, savePlatformSettings } from './platform-settings.js';

/** A first host with an address in a NATS cluster, and a host joined to it on this machine: both on loopback. */
async function twoHosts(first: string, second: string) {
  const one = await resolvePlatformSettings({ dataRoot: first, registryPort: 0, natsCluster: true, address: '127.0.0.1' });
  savePlatformSettings(one);
  await ensureClusterCa(secretsOf(first).dir, { hostId: one.hostId, address: '127.0.0.1' });
  await ensureNatsTls(one);
  const two = await resolvePlatformSettings({ dataRoot: second, join: first, address: '127.0.0.1' });
  savePlatformSettings(two);
  await ensureNatsTls(two);
  prepareJoin(two, one);
  writeMemberNatsConfigs(first);
  return { one, two };
}

function extendedKeyUsage(pem: string): string[] {
  return new X509Certificate(pem).keyUsage ?? [];
}

describe("NATS's TLS between machines", () => {
  it('writes the client and route TLS blocks, with the chain and a route certificate of a CA of its own', async () => {
    await using first = tempDir('berth-nats-tls-first-');
    await using second = tempDir('berth-nats-tls-second-');
    const { one, two } = await twoHosts(first.path, second.path);
    expect(natsUsesTls(one) && natsUsesTls(two)).toBe(true);
    expect(natsCaFile(two)).toBe(clusterTlsOf(secretsOf(second.path).dir).ca);
    const [tls1, tls2] = [clusterTlsOf(secretsOf(first.path).dir), clusterTlsOf(secretsOf(second.path).dir)];
    // The joined host got the first host's CA, a server certificate of it for its address, and the route CA.
    expect(readFileSync(tls2.ca, 'utf8')).toBe(readFileSync(tls1.ca, 'utf8'));
    expect(readFileSync(tls2.routeCa, 'utf8')).toBe(readFileSync(tls1.routeCa, 'utf8'));
    for (const tls of [tls1, tls2]) {
      // The chain: the host's certificate, then the CA's.
      expect(readFileSync(tls.natsServerCert, 'utf8')).toBe(readFileSync(tls.cert, 'utf8').trimEnd() + '\n' + readFileSync(tls.ca, 'utf8').trimEnd() + '\n');
      const host = new X509Certificate(readFileSync(tls.cert));
      const route = new X509Certificate(readFileSync(tls.routeCert));
      expect(host.verify(new X509Certificate(readFileSync(tls1.ca)).publicKey)).toBe(true);
      expect(extendedKeyUsage(readFileSync(tls.cert, 'utf8'))).toEqual(['1.3.6.1.5.5.7.3.1']); // serverAuth only, as before
      // A route certificate is a client's too, but of the route CA, which no agent trusts.
      expect(extendedKeyUsage(readFileSync(tls.routeCert, 'utf8')).sort()).toEqual(['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']);
      expect(route.verify(new X509Certificate(readFileSync(tls1.routeCa)).publicKey)).toBe(true);
      expect(route.verify(new X509Certificate(readFileSync(tls1.ca)).publicKey)).toBe(false);
      expect(route.subjectAltName).toBe('IP Address:127.0.0.1');
    }
    expect(new X509Certificate(readFileSync(tls1.routeCa)).subject).toBe(`CN=berth NATS route CA ${one.hostId.slice(0, 12)}`);
    // A route CSR must be for a route: a host's CSR (CN = host id) is refused.
    await using other = tempDir('berth-nats-tls-csr-');
    const hostCsr = await makeKeyAndCsr(join(other.path, 'key.pem'), 'host-x');
    await expect(signRouteCsr(secretsOf(first.path).dir, hostCsr, { hostId: 'host-x', address: '10.0.0.9' })).rejects.toThrow(
      'Invalid certificate signing request of host "host-x": its subject is "CN=host-x", expected "CN=berth route host-x"',
    );
    expect(readFileSync(tls1.routeCaKey, 'utf8')).toContain('PRIVATE KEY');
    expect(() => readFileSync(tls2.routeCaKey)).toThrow(/ENOENT/); // the CA keys stay on the first host
    expect(() => readFileSync(tls2.caKey)).toThrow(/ENOENT/);

    const config = readFileSync(secretsOf(second.path).natsConfig, 'utf8');
    const blocks = natsServerTlsConfig(secretsOf(second.path).dir, { cluster: true });
    expect(config).toContain(blocks.client.join('\n'));
    expect(config).toContain(blocks.route.join('\n'));
    expect(blocks.client.join('\n')).toContain(`cert_file: "${tls2.natsServerCert}"`);
    expect(blocks.route.join('\n')).toMatch(/ca_file: ".*route-ca\.pem"\n {4}verify: true/);
    // nats-server reads it.
    const check = spawn('nats-server', ['-t', '-c', secretsOf(second.path).natsConfig], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    check.stdout!.on('data', (d) => (out += d));
    check.stderr!.on('data', (d) => (out += d));
    expect(await new Promise((r) => check.once('exit', r)), out).toBe(0);

    // Without an address NATS stays plain: no chain, no `tls` block.
    const plain = { ...one, address: undefined, agentTlsPort: undefined };
    expect(natsUsesTls(plain)).toBe(false);
    await ensureNatsTls(plain);
    expect(natsServerTlsConfig(secretsOf(first.path).dir, { cluster: true }).client).toEqual([]);
  }, 60_000);

  it('routes two servers over mutual TLS, serves clients with the CA only, and refuses a route certificate of the cluster CA', async () => {
    await using first = tempDir('berth-nats-tls-first-');
    await using second = tempDir('berth-nats-tls-second-');
    await using intruder = tempDir('berth-nats-tls-intruder-');
    const { one, two } = await twoHosts(first.path, second.path);
    const servers: ChildProcess[] = [];
    const logs = new Map<string, string>();
    const start = (name: string, config: string) => {
      const child = spawn('nats-server', ['-c', config], { stdio: ['ignore', 'ignore', 'pipe'] });
      logs.set(name, '');
      child.stderr!.on('data', (d) => logs.set(name, logs.get(name)! + String(d)));
      servers.push(child);
    };
    try {
      start('one', secretsOf(first.path).natsConfig);
      start('two', secretsOf(second.path).natsConfig);
      // A metadata leader: the two servers route to each other (over TLS: nothing else is configured),
      // asked as host 2's agent over TLS with its CA.
      await waitJetStream(two, 30_000);
      expect(logs.get('one')).toMatch(/Route connection created/);
      // Without the CA a client is refused (nats.js starts TLS as the server requires, and cannot verify it).
      await expect(connect({ servers: `nats://127.0.0.1:${one.natsPort}`, reconnect: false, timeout: 5_000 })).rejects.toThrow(/certificate/i);
      // Nor does it go plain.
      await expect(connect({ servers: `nats://127.0.0.1:${one.natsPort}`, reconnect: false, timeout: 5_000, tls: null })).rejects.toThrow();

      // A server presenting a certificate of the cluster CA (the first host's gateway's: clientAuth) on its routes.
      const tls1 = clusterTlsOf(secretsOf(first.path).dir);
      const routePort = await freeLoopbackPort();
      const forged = readFileSync(secretsOf(second.path).natsConfig, 'utf8')
        .replace(`listen: "127.0.0.1:${two.natsPort}"`, `listen: "127.0.0.1:${await freeLoopbackPort()}"`)
        .replace(`listen: "127.0.0.1:${two.natsRoutePort}"`, `listen: "127.0.0.1:${routePort}"`)
        .replace(join(second.path, 'nats'), join(intruder.path, 'nats'))
        .replace(/server_name: .*/, 'server_name: "intruder"')
        .replace(`cert_file: "${clusterTlsOf(secretsOf(second.path).dir).routeCert}"`, `cert_file: "${tls1.gatewayCert}"`)
        .replace(`key_file: "${clusterTlsOf(secretsOf(second.path).dir).routeKey}"`, `key_file: "${tls1.gatewayKey}"`);
      expect(forged).toContain(tls1.gatewayCert);
      writeFileSync(join(intruder.path, 'nats.conf'), forged, { mode: 0o600 });
      start('intruder', join(intruder.path, 'nats.conf'));
      await waitForPort(routePort);
      const deadline = Date.now() + 15_000;
      const refused = /TLS route handshake error/;
      while (!refused.test(logs.get('one')!) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(logs.get('one')).toMatch(refused);
      expect(logs.get('one')).not.toMatch(/Route connection created.*intruder/);
    } finally {
      for (const child of servers) child.kill('SIGKILL');
    }
  }, 90_000);
});
