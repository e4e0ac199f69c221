import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { callPing, startPingServer, tempDir } from '@berth/testing';
import { revokeCertificate } from './certificate-revocation.js';
import { ensureClusterCa, makeKeyAndCsr, signHostCsr } from './cluster-ca.js';
import { tlsListenCredentials, tlsListener } from './tls-listen.js';

describe("an agent's TCP listener", () => {
  it('refuses to listen without the TLS files', () => {
    expect(() => tlsListenCredentials('10.0.0.2:7000', { ca: '/x/ca.pem' })).toThrow(
      'Refusing to listen on TCP "10.0.0.2:7000" without the cluster\'s TLS files: add --tlscacert, --tlscert and --tlskey',
    );
    expect(() => tlsListenCredentials('10.0.0.2:7000', { ca: '/nonexistent/ca.pem', cert: '/x', key: '/y' })).toThrow('Cannot read --tlscacert "/nonexistent/ca.pem"');
  });

  it("answers the gateway's certificate only: not a host's (a server certificate), nor none, nor another CA's", async () => {
    await using dir = tempDir('berth-tls-listen-');
    const tls = await ensureClusterCa(dir.path, { hostId: 'host-1', address: '127.0.0.1' });
    await using server = await startPingServer(tlsListenCredentials('127.0.0.1:0', { ca: tls.ca, cert: tls.cert, key: tls.key }));
    const call = (credentials: grpc.ChannelCredentials) => callPing(`127.0.0.1:${server.port}`, credentials);
    const ca = readFileSync(tls.ca);
    expect(await call(grpc.credentials.createSsl(ca, readFileSync(tls.gatewayKey), readFileSync(tls.gatewayCert)))).toBe('pong');
    // Another host's certificate of the same CA is a server's: it cannot drive this agent.
    const otherKey = join(dir.path, 'other-key.pem');
    const other = await signHostCsr(dir.path, await makeKeyAndCsr(otherKey, 'host-2'), { hostId: 'host-2', address: '127.0.0.2' });
    expect(await call(grpc.credentials.createSsl(ca, readFileSync(otherKey), Buffer.from(other)))).toMatch(/^refused: /);
    expect(await call(grpc.credentials.createSsl(ca))).toMatch(/^refused: /);
    await using rogue = tempDir('berth-tls-rogue-');
    const rogueTls = await ensureClusterCa(rogue.path, { hostId: 'rogue', address: '127.0.0.1' });
    expect(await call(grpc.credentials.createSsl(ca, readFileSync(rogueTls.gatewayKey), readFileSync(rogueTls.gatewayCert)))).toMatch(/^refused: /);
  });

  it('refuses a client certificate the CRL revokes, from its next connection on; a new certificate is answered', async () => {
    await using dir = tempDir('berth-tls-crl-');
    const tls = await ensureClusterCa(dir.path, { hostId: 'host-1', address: '127.0.0.1' });
    const listener = tlsListener('127.0.0.1:0', { ca: tls.ca, cert: tls.cert, key: tls.key });
    await using server = await startPingServer(listener.credentials);
    const ca = readFileSync(tls.ca);
    const gatewayCredentials = () => grpc.credentials.createSsl(ca, readFileSync(tls.gatewayKey), readFileSync(tls.gatewayCert));
    const revoked = gatewayCredentials();
    expect(await callPing(`127.0.0.1:${server.port}`, revoked)).toBe('pong');

    // The bound server takes the CRL: the revoked certificate's next handshake fails.
    const list = await revokeCertificate(dir.path, readFileSync(tls.gatewayCert, 'utf8'));
    listener.useCrl(list.crl);
    expect(await callPing(`127.0.0.1:${server.port}`, revoked)).toMatch(/^refused: /);

    // A certificate signed afterwards (another serial) is answered with that CRL in place.
    rmSync(tls.gatewayCert);
    await ensureClusterCa(dir.path, { hostId: 'host-1', address: '127.0.0.1' });
    expect(await callPing(`127.0.0.1:${server.port}`, gatewayCredentials())).toBe('pong');

    // A listener made with the CRL before its bind refuses the revoked certificate from the start.
    const fresh = tlsListener('127.0.0.1:0', { ca: tls.ca, cert: tls.cert, key: tls.key });
    fresh.useCrl(list.crl);
    await using second = await startPingServer(fresh.credentials);
    expect(await callPing(`127.0.0.1:${second.port}`, revoked)).toMatch(/^refused: /);
    expect(await callPing(`127.0.0.1:${second.port}`, gatewayCredentials())).toBe('pong');
  });
});
