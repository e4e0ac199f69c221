import { readdir } from 'node:fs/promises';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ContainersService as generatedContainersService, CreateContainerRequest, LogEntry, LogsRequest } from './generated/berth/v1/containers.js';
import { forwardService } from './forward.js';
import { handleServerStream, handleUnary } from './grpc.js';
import { ContainersService, UndecodableRequest } from './index.js';

/**
 * Real grpc-js servers on loopback: a request the server cannot decode (an int64 beyond 2^53, a
 * truncated body) is answered INVALID_ARGUMENT with what went wrong, and no handler runs; the
 * gateway's forwarding refuses it the same way before choosing a host.
 */

const handled: string[] = [];
const picked: string[] = [];
let agent: grpc.Server;
let gateway: grpc.Server;
let unguarded: grpc.Server;
const addresses: Record<'agent' | 'gateway' | 'unguarded', string> = { agent: '', gateway: '', unguarded: '' };
const clients: grpc.Client[] = [];

const impl = {
  create: handleUnary(async () => {
    handled.push('create');
    return { id: 'x', warnings: [] };
  }),
  logs: handleServerStream(async function* () {
    handled.push('logs');
    yield LogEntry.fromPartial({});
  }),
};

async function listen(server: grpc.Server): Promise<string> {
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return `127.0.0.1:${port}`;
}

function client(address: string): grpc.Client {
  const c = new grpc.Client(address, grpc.credentials.createInsecure());
  clients.push(c);
  return c;
}

beforeAll(async () => {
  agent = new grpc.Server();
  agent.addService(ContainersService, impl as unknown as grpc.UntypedServiceImplementation);
  addresses.agent = await listen(agent);
  gateway = new grpc.Server();
  gateway.addService(
    ContainersService,
    forwardService(ContainersService, async (method) => {
      picked.push(method);
      return client(addresses.agent);
    }),
  );
  addresses.gateway = await listen(gateway);
  unguarded = new grpc.Server();
  unguarded.addService(generatedContainersService, impl as unknown as grpc.UntypedServiceImplementation);
  addresses.unguarded = await listen(unguarded);
});

afterAll(async () => {
  for (const c of clients) c.close();
  for (const s of [agent, gateway, unguarded]) await new Promise<void>((resolve) => s.tryShutdown(() => resolve()));
});

beforeEach(() => {
  handled.length = 0;
  picked.length = 0;
});

/** Sends raw bytes as the request of a unary method and returns the status it ends with. */
function unaryRaw(address: string, path: string, body: Buffer): Promise<grpc.ServiceError | undefined> {
  return new Promise((resolve) => {
    client(address).makeUnaryRequest(path, (b: Buffer) => b, (b: Buffer) => b, body, (err) => resolve(err ?? undefined));
  });
}

function serverStreamRaw(address: string, path: string, body: Buffer): Promise<grpc.ServiceError | undefined> {
  return new Promise((resolve) => {
    const call = client(address).makeServerStreamRequest(path, (b: Buffer) => b, (b: Buffer) => b, body);
    call.on('data', () => undefined);
    call.on('error', (err: grpc.ServiceError) => resolve(err));
    call.on('end', () => resolve(undefined));
  });
}

const hugeMemory = Buffer.from(CreateContainerRequest.encode(CreateContainerRequest.fromPartial({ spec: { image: 'busybox', resources: { memory: 2 ** 60 } } })).finish());
const truncated = Buffer.from([0x0a, 0x7f, 0x0a]);

describe('undecodable requests', () => {
  it('are INVALID_ARGUMENT with the reason, and reach no handler', async () => {
    const err = await unaryRaw(addresses.agent, '/berth.v1.Containers/Create', hugeMemory);
    expect({ code: err?.code, details: err?.details }).toEqual({
      code: grpc.status.INVALID_ARGUMENT,
      details: 'Cannot decode the request to /berth.v1.Containers/Create: Value is larger than Number.MAX_SAFE_INTEGER',
    });
    const garbage = await unaryRaw(addresses.agent, '/berth.v1.Containers/Create', truncated);
    expect(garbage?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(garbage?.details).toMatch(/^Cannot decode the request to \/berth\.v1\.Containers\/Create: /);
    const stream = await serverStreamRaw(addresses.agent, '/berth.v1.Containers/Logs', truncated);
    expect(stream?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(handled).toEqual([]);
  });

  it('are refused by the gateway before it picks a host', async () => {
    const err = await unaryRaw(addresses.gateway, '/berth.v1.Containers/Create', hugeMemory);
    expect(err?.code).toBe(grpc.status.INVALID_ARGUMENT);
    const stream = await serverStreamRaw(addresses.gateway, '/berth.v1.Containers/Logs', truncated);
    expect(stream?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect({ picked, handled }).toEqual({ picked: [], handled: [] });
  });

  it('were INTERNAL with the generated definitions (what the guard changes)', async () => {
    const err = await unaryRaw(addresses.unguarded, '/berth.v1.Containers/Create', hugeMemory);
    expect({ code: err?.code, details: err?.details }).toEqual({ code: grpc.status.INTERNAL, details: 'Error deserializing request' });
  });

  it('leave decodable requests alone', async () => {
    const ok = Buffer.from(CreateContainerRequest.encode(CreateContainerRequest.fromPartial({ spec: { image: 'busybox' } })).finish());
    expect(await unaryRaw(addresses.gateway, '/berth.v1.Containers/Create', ok)).toBeUndefined();
    expect(await serverStreamRaw(addresses.gateway, '/berth.v1.Containers/Logs', Buffer.from(LogsRequest.encode(LogsRequest.fromPartial({ id: 'x' })).finish()))).toBeUndefined();
    expect({ picked, handled }).toEqual({ picked: ['create', 'logs'], handled: ['create', 'logs'] });
  });
});

describe('the service definitions index.ts exports', () => {
  it('are guarded for every service of proto/ (a server registering one answers INVALID_ARGUMENT)', async () => {
    const index = (await import('./index.js')) as Record<string, unknown>;
    const dir = new URL('./generated/berth/v1/', import.meta.url);
    const files = (await readdir(dir)).filter((f) => f.endsWith('.ts'));
    const services: string[] = [];
    for (const file of files) {
      const generated = (await import(new URL(file, dir).href)) as Record<string, unknown>;
      for (const [name, value] of Object.entries(generated)) {
        if (!name.endsWith('Service') || !isServiceDefinition(value)) continue;
        services.push(name);
        const exported = index[name] as grpc.ServiceDefinition | undefined;
        expect(exported, `${name} is not exported by index.ts`).toBeDefined();
        expect(exported, `${name} from index.ts is the unguarded generated definition`).not.toBe(value);
        for (const method of Object.values(exported!)) {
          if (method.requestStream) continue;
          expect(method.requestDeserialize(truncated), `${method.path} decodes garbage`).toBeInstanceOf(UndecodableRequest);
        }
      }
    }
    // The agent's worker services (the builder's way to the host) are among them.
    expect(services).toEqual(expect.arrayContaining(['ContentService', 'SnapshotsService', 'LeasesService', 'TasksService', 'ImageRecordsService']));
  });
});

function isServiceDefinition(value: unknown): value is grpc.ServiceDefinition {
  if (typeof value !== 'object' || value === null) return false;
  const methods = Object.values(value);
  return methods.length > 0 && methods.every((m) => typeof m === 'object' && m !== null && typeof (m as { path?: unknown }).path === 'string');
}
