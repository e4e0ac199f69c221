import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { clusterTlsOf, ensureClusterCa, tlsListenCredentials } from '@berth/platform';
import { tempDir } from '@berth/testing';
import { clusterChannelCredentials } from './cluster-credentials.js';

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

describe("the gateway's credentials for a host on TCP", () => {
  it('reach the agent whose certificate is the announced host\'s, not another member\'s', async () => {
    await using dir = tempDir('berth-cluster-creds-');
    await ensureClusterCa(dir.path, { hostId: 'host-1', address: '127.0.0.1' });
    const tls = clusterTlsOf(dir.path);
    const server = new grpc.Server();
    server.addService({ ping }, { ping: (_call: unknown, done: grpc.sendUnaryData<Buffer>) => done(null, Buffer.from('pong')) });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', tlsListenCredentials('127.0.0.1:0', tls), (err, p) => (err ? reject(err) : resolve(p))),
    );
    const files = { ca: readFileSync(tls.ca), cert: readFileSync(tls.gatewayCert), key: readFileSync(tls.gatewayKey) };
    const call = (announced: string | undefined) =>
      new Promise<string>((resolve) => {
        const client = new grpc.Client(`127.0.0.1:${port}`, clusterChannelCredentials(files, () => announced));
        client.makeUnaryRequest(ping.path, raw, raw, Buffer.from('ping'), { deadline: Date.now() + 5_000 }, (err, res) => {
          client.close();
          resolve(err ? `refused: ${err.details}` : res!.toString());
        });
      });
    try {
      expect(await call('host-1')).toBe('pong');
      expect(await call('host-2')).toContain('the certificate at 127.0.0.1 is host "host-1"\'s, not "host-2"\'s');
      expect(await call(undefined)).toContain('no host is announced at 127.0.0.1');
    } finally {
      server.forceShutdown();
    }
  });
});
