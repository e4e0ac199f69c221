import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { tempDir } from '@berth/testing';
import { ensureClusterCa, makeKeyAndCsr, signHostCsr } from './cluster-ca.js';
import { tlsListenCredentials } from './tls-listen.js';

const raw = (b: Buffer) => b;
const ping: grpc.MethodDefinition<Buffer, Buffer> = {
  path: '/test.Test/Ping',
  requestStream: false,
  responseStream: false,
  requestSerialize: raw,
  requestDeserialize: raw,
  responseSerialize: raw,
  responseDeserialize: raw,
};

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
    const server = new grpc.Server();
    server.addService({ ping }, { ping: (_call: unknown, done: grpc.sendUnaryData<Buffer>) => done(null, Buffer.from('pong')) });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', tlsListenCredentials('127.0.0.1:0', { ca: tls.ca, cert: tls.cert, key: tls.key }), (err, p) => (err ? reject(err) : resolve(p))),
    );
    const call = (credentials: grpc.ChannelCredentials) =>
      new Promise<string>((resolve) => {
        const client = new grpc.Client(`127.0.0.1:${port}`, credentials);
        client.makeUnaryRequest(ping.path, raw, raw, Buffer.from('ping'), { deadline: Date.now() + 5_000 }, (err, res) => {
          client.close();
          resolve(err ? `refused: ${err.message}` : res!.toString());
        });
      });
    try {
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
    } finally {
      server.forceShutdown();
    }
  });
});
