import { rmSync } from 'node:fs';
import { parseArgs } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { connect } from 'nats';
import { channelOptions, grpcTarget } from '@berth/proto';
import { Agent } from './agent.js';

const { values } = parseArgs({
  options: {
    'data-root': { type: 'string', default: '/var/lib/berth' },
    'run-root': { type: 'string', default: '/run/berth' },
    nats: { type: 'string', default: 'nats://127.0.0.1:4222' },
    listen: { type: 'string', default: 'unix:/run/berth/agent.sock' },
    runtime: { type: 'string', default: 'runc' },
    // Docker's --insecure-registry, repeatable; also BERTH_INSECURE_REGISTRIES (comma-separated).
    'insecure-registry': { type: 'string', multiple: true, default: [] },
  },
});
if (values.runtime !== 'runc' && values.runtime !== 'crun') {
  console.error(`Invalid --runtime "${values.runtime}": expected runc or crun`);
  process.exit(2);
}

const log = (line: string) => console.log(`${new Date().toISOString()} ${line}`);
const nc = await connect({ servers: values.nats!, name: 'berth-runtime-agent', maxReconnectAttempts: -1 });
const agent = await Agent.open(
  {
    dataRoot: values['data-root']!,
    runRoot: values['run-root']!,
    runtime: values.runtime,
    address: values.listen!,
    insecureRegistries: [
      ...values['insecure-registry']!,
      ...(process.env.BERTH_INSECURE_REGISTRIES ?? '').split(',').map((s) => s.trim()).filter(Boolean),
    ],
    log,
  },
  nc,
);
const server = new grpc.Server(channelOptions);
agent.register(server);
const target = grpcTarget(values.listen!);
if (target.startsWith('unix:')) rmSync(target.slice('unix:'.length), { force: true });
await new Promise<void>((resolve, reject) =>
  server.bindAsync(target, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())),
);
await agent.announce();
log(`berth runtime agent ${agent.hostId} listening on ${values.listen}`);

// Containers keep running (conmon monitors them); the next agent re-adopts them.
const shutdown = () => {
  server.tryShutdown(() => {
    void agent
      .close()
      .then(() => nc.close())
      .finally(() => process.exit(0));
  });
  setTimeout(() => process.exit(0), 5_000).unref();
};
process.once('SIGTERM', shutdown);
process.once('SIGINT', shutdown);
