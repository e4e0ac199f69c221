import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { clusterTlsOf, ensureClusterCa, revokeCertificate, revokedSerials, tlsListenCredentials } from '@berth/platform';
import { callPing, startPingServer, tempDir } from '@berth/testing';
import { clusterChannelCredentials } from './cluster-credentials.js';

describe("the gateway's credentials for a host on TCP", () => {
  it("reach the agent whose certificate is the announced host's, not another member's", async () => {
    await using dir = tempDir('berth-cluster-creds-');
    await ensureClusterCa(dir.path, { hostId: 'host-1', address: '127.0.0.1' });
    const tls = clusterTlsOf(dir.path);
    await using server = await startPingServer(tlsListenCredentials('127.0.0.1:0', tls));
    const files = { ca: readFileSync(tls.ca), cert: readFileSync(tls.gatewayCert), key: readFileSync(tls.gatewayKey) };
    const call = (announced: string | undefined) => callPing(`127.0.0.1:${server.port}`, clusterChannelCredentials(files, () => announced));
    expect(await call('host-1')).toBe('pong');
    expect(await call('host-2')).toContain('the certificate at 127.0.0.1 is host "host-1"\'s, not "host-2"\'s');
    expect(await call(undefined)).toContain('no host is announced at 127.0.0.1');
  });

  it('refuse an agent whose certificate is revoked', async () => {
    await using dir = tempDir('berth-cluster-revoked-');
    await ensureClusterCa(dir.path, { hostId: 'host-1', address: '127.0.0.1' });
    const tls = clusterTlsOf(dir.path);
    await using server = await startPingServer(tlsListenCredentials('127.0.0.1:0', tls));
    const files = { ca: readFileSync(tls.ca), cert: readFileSync(tls.gatewayCert), key: readFileSync(tls.gatewayKey) };
    let revoked = new Set<string>();
    const credentials = () => clusterChannelCredentials(files, () => 'host-1', { revoked: (serial) => revoked.has(serial) });
    expect(await callPing(`127.0.0.1:${server.port}`, credentials())).toBe('pong');
    const hostCert = readFileSync(tls.cert, 'utf8');
    revoked = revokedSerials(await revokeCertificate(dir.path, hostCert));
    const refused = await callPing(`127.0.0.1:${server.port}`, credentials());
    expect(refused).toContain('the certificate at 127.0.0.1 (host "host-1", serial ');
    expect(refused).toContain(') is revoked: the host was removed from the cluster');
  });
});
