import * as grpc from '@grpc/grpc-js';

const raw = (b: Buffer) => b;

/** A one-method gRPC service (`/test.Test/Ping`, raw bytes both ways): what TLS tests call a listener with. */
export const pingMethod: grpc.MethodDefinition<Buffer, Buffer> = {
  path: '/test.Test/Ping',
  requestStream: false,
  responseStream: false,
  requestSerialize: raw,
  requestDeserialize: raw,
  responseSerialize: raw,
  responseDeserialize: raw,
};

/** A gRPC server answering Ping with "pong" on 127.0.0.1 (a free port) with `credentials`; dispose of it to stop it. */
export async function startPingServer(credentials: grpc.ServerCredentials): Promise<{ port: number; server: grpc.Server; [Symbol.asyncDispose](): Promise<void> }> {
  const server = new grpc.Server();
  server.addService({ ping: pingMethod }, { ping: (_call: unknown, done: grpc.sendUnaryData<Buffer>) => done(null, Buffer.from('pong')) });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', credentials, (err, p) => (err ? reject(err) : resolve(p))));
  return { port, server, [Symbol.asyncDispose]: async () => server.forceShutdown() };
}

/**
 * Calls Ping at `address` with `credentials` on a new channel (a new TLS handshake): "pong", or
 * "refused: <the status details>" (5 s deadline).
 */
export function callPing(address: string, credentials: grpc.ChannelCredentials): Promise<string> {
  return new Promise<string>((resolve) => {
    const client = new grpc.Client(address, credentials);
    client.makeUnaryRequest(pingMethod.path, raw, raw, Buffer.from('ping'), { deadline: Date.now() + 5_000 }, (err, res) => {
      client.close();
      resolve(err ? `refused: ${err.details}` : res!.toString());
    });
  });
}
