import { rmSync } from 'node:fs';
import { parseArgs } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { connect } from 'nats';
import { channelOptions, grpcTarget } from '@berth/proto';
import { Gateway } from './gateway.js';

const { values } = parseArgs({
  options: {
    listen: { type: 'string', default: 'unix:/run/berth/api.sock' },
    nats: { type: 'string', default: 'nats://127.0.0.1:4222' },
  },
});

const nc = await connect({ servers: values.nats!, name: 'berth-api', maxReconnectAttempts: -1 });
const gateway = new Gateway(nc);
await gateway.start();
const server = new grpc.Server(channelOptions);
gateway.register(server);
const target = grpcTarget(values.listen!);
if (target.startsWith('unix:')) rmSync(target.slice('unix:'.length), { force: true });
await new Promise<void>((resolve, reject) =>
  server.bindAsync(target, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())),
);
console.log(`berth-api listening on ${values.listen}`);

const shutdown = () => {
  server.tryShutdown(() => {
    gateway.close();
    void nc.close().finally(() => process.exit(0));
  });
  setTimeout(() => process.exit(0), 5_000).unref();
};
process.once('SIGTERM', shutdown);
process.once('SIGINT', shutdown);
