import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { clusterTlsOf, ensureClusterCa, revokeCertificate, revokedSerials, tlsListenCredentials } from '@berth/platform';
import { callPing, startPingServer, tempDir } from '@berth/testing';
import { clusterChannelCredentials, readGatewayTls } from './cluster-credentials.js';

/** A cluster CA made for host-1 in a temporary directory, and host-1's agent on TCP with its certificate. */
async function hostOnTcp(prefix: string) {
  const dir = tempDir(prefix);
  try {
    await ensureClusterCa(dir.path, { hostId: 'host-1', address: '127.0.0.1' });
    const tls = clusterTlsOf(dir.path);
    const gateway = readGatewayTls(tls);
    const server = await startPingServer(tlsListenCredentials('127.0.0.1:0', tls));
    return {
      dir,
      tls,
      /** The gateway's files, for its credentials. */
      gateway,
      /** Where host-1's agent (a ping server with host-1's certificate) listens. */
      address: `127.0.0.1:${server.port}`,
      [Symbol.asyncDispose]: async () => {
        await server[Symbol.asyncDispose]();
        dir.remove();
      },
    };
  } catch (err) {
    dir.remove();
    throw err;
  }
}

describe("the gateway's credentials for a host on TCP", () => {
  it("reach the agent whose certificate is the announced host's, not another member's", async () => {
    await using host = await hostOnTcp('berth-cluster-creds-');
    const call = (announced: string | undefined) => callPing(host.address, clusterChannelCredentials(host.gateway, () => announced));
    expect(await call('host-1')).toBe('pong');
    expect(await call('host-2')).toContain('the certificate at 127.0.0.1 is host "host-1"\'s, not "host-2"\'s');
    expect(await call(undefined)).toContain('no host is announced at 127.0.0.1');
  });

  it('refuse an agent whose certificate is revoked', async () => {
    await using host = await hostOnTcp('berth-cluster-revoked-');
    let revoked = new Set<string>();
    const credentials = () => clusterChannelCredentials(host.gateway, () => 'host-1', { revoked: (serial) => revoked.has(serial) });
    expect(await callPing(host.address, credentials())).toBe('pong');
    const hostCert = readFileSync(host.tls.cert, 'utf8');
    revoked = revokedSerials(await revokeCertificate(host.dir.path, hostCert));
    const refused = await callPing(host.address, credentials());
    expect(refused).toContain('the certificate at 127.0.0.1 (host "host-1", serial ');
    expect(refused).toContain(') is revoked: the host was removed from the cluster');
  });
});
