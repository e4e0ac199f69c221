import { Readable } from 'node:stream';
import * as grpc from '@grpc/grpc-js';
import type { BlobInfo, BlobSource } from '@berth/content';
import {
  channelOptions,
  ContentClient,
  fromServiceError,
  grpcTarget,
  ImageRecordsClient,
  ImagesClient,
  type IngestChunk,
  LeasesClient,
  serverStream,
  SnapshotsClient,
  TasksClient,
  unary,
} from '@berth/proto';
import {
  type BuildWorker,
  type Credentials,
  type TransferEvent,
  type WorkerContent,
  type WorkerImages,
  type WorkerLeases,
  type WorkerSnapshots,
  type WorkerTasks,
  workerProto,
} from '@berth/worker';

/** Bytes per message of a blob sent to the agent. */
const CHUNK = 1024 * 1024;

/**
 * The build worker of a host, reached through its runtime agent's gRPC services (Content,
 * Snapshots, Leases, ImageRecords, Tasks and Images), as BuildKit's containerd worker reaches
 * containerd. Same interface as the agent's in-process LocalWorker; conversions in
 * @berth/worker's convert.ts. Errors come back as the Berth error classes.
 */
export class GrpcWorker implements BuildWorker {
  readonly content: WorkerContent;
  readonly snapshots: WorkerSnapshots;
  readonly leases: WorkerLeases;
  readonly images: WorkerImages;
  readonly tasks: WorkerTasks;
  readonly #clients: grpc.Client[];

  constructor(address: string) {
    const target = grpcTarget(address);
    const credentials = grpc.credentials.createInsecure();
    const content = new ContentClient(target, credentials, channelOptions);
    const snapshots = new SnapshotsClient(target, credentials, channelOptions);
    const leases = new LeasesClient(target, credentials, channelOptions);
    const records = new ImageRecordsClient(target, credentials, channelOptions);
    const images = new ImagesClient(target, credentials, channelOptions);
    const tasks = new TasksClient(target, credentials, channelOptions);
    this.#clients = [content, snapshots, leases, records, images, tasks];

    this.content = {
      info: (digest) => unary(content, content.info, { digest }),
      read: async (digest) => {
        const chunks: Buffer[] = [];
        for await (const m of serverStream(content.read({ digest }))) chunks.push(Buffer.from(m.data));
        return Buffer.concat(chunks);
      },
      createReadStream: (digest) => {
        const call = content.read({ digest });
        return Readable.from(
          (async function* () {
            try {
              for await (const m of serverStream(call)) yield Buffer.from(m.data);
            } finally {
              call.cancel(); // the reader stopped early (or the stream ended: a no-op)
            }
          })(),
          { objectMode: false },
        );
      },
      ingest: (source, options = {}) => ingest(content, source, options),
    };

    const lease = (id: string | undefined) => id ?? '';
    const mounts = (r: { mounts: Parameters<typeof workerProto.mountFromProto>[0][] }) => r.mounts.map(workerProto.mountFromProto);
    this.snapshots = {
      prepare: async (key, o = {}) => mounts(await unary(snapshots, snapshots.prepare, { key, parent: o.parent ?? '', lease: lease(o.lease) })),
      view: async (key, o = {}) => mounts(await unary(snapshots, snapshots.view, { key, parent: o.parent ?? '', lease: lease(o.lease) })),
      mounts: async (key) => mounts(await unary(snapshots, snapshots.mounts, { key })),
      commit: async (name, key) => void (await unary(snapshots, snapshots.commit, { name, key })),
      remove: async (key) => void (await unary(snapshots, snapshots.remove, { key })),
      stat: async (key) => workerProto.snapshotInfoFromProto(await unary(snapshots, snapshots.stat, { key })),
      list: async () => (await unary(snapshots, snapshots.list, {})).snapshots.map(workerProto.snapshotInfoFromProto),
    };

    this.leases = {
      create: async (o = {}) => workerProto.leaseFromProto(await unary(leases, leases.create, { id: o.id ?? '', ttlMs: o.ttlMs ?? 0, labels: o.labels ?? {} })),
      renew: async (id, ttlMs) => workerProto.leaseFromProto(await unary(leases, leases.renew, { id, ttlMs })),
      delete: async (id) => void (await unary(leases, leases.delete, { id })),
      addResource: async (id, resource) => void (await unary(leases, leases.addResource, { lease: id, resource })),
      removeResource: async (id, resource) => unary(leases, leases.removeResource, { lease: id, resource }),
      list: async () => (await unary(leases, leases.list, {})).leases.map(workerProto.leaseFromProto),
    };

    const auth = (a: Credentials | undefined) => (a ? { username: a.username, password: a.password } : undefined);
    this.images = {
      get: async (ref) => workerProto.imageFromProto(await unary(records, records.get, { ref })),
      register: async (manifest, o = {}) =>
        workerProto.imageFromProto(
          await unary(records, records.register, { manifest, names: o.names ?? [], layerSizes: workerProto.layerSizesToProto(o.layerSizes) }),
        ),
      pull: (ref, a) => transfer(images.pull({ ref, platform: '', allTags: false, registryAuth: auth(a) })),
      push: (ref, a) => transfer(images.push({ ref, allTags: false, registryAuth: auth(a) })),
      save: (refs) =>
        (async function* () {
          for await (const m of serverStream(images.save({ refs }))) yield Buffer.from(m.data);
        })(),
    };

    this.tasks = {
      run: async (request, o = {}) => {
        o.signal?.throwIfAborted();
        const call = tasks.run(workerProto.taskRequestToProto(request));
        const cancel = () => call.cancel();
        o.signal?.addEventListener('abort', cancel, { once: true });
        try {
          for await (const m of serverStream(call)) {
            if (m.output?.$case === 'data') o.onOutput?.(Buffer.from(m.output.value).toString('utf8'));
            else if (m.output?.$case === 'exitCode') return m.output.value;
          }
        } catch (err) {
          if (o.signal?.aborted) throw o.signal.reason;
          throw err;
        } finally {
          o.signal?.removeEventListener('abort', cancel);
        }
        throw fromServiceError(new Error('The task ended without an exit code'));
      },
    };
  }

  close(): void {
    for (const c of this.#clients) c.close();
  }
}

async function* transfer(call: grpc.ClientReadableStream<{ id: string; status: string }>): AsyncGenerator<TransferEvent> {
  for await (const m of serverStream(call)) yield { id: m.id, status: m.status };
}

/** Streams `source` into the agent's content store: options first, then the bytes in 1 MiB messages. */
function ingest(client: ContentClient, source: BlobSource, options: { expected?: string; size?: number; lease?: string }): Promise<BlobInfo> {
  return new Promise<BlobInfo>((resolve, reject) => {
    let sourceError: unknown;
    let finished = false;
    const call = client.ingest((err, res) => {
      finished = true;
      if (err) reject(sourceError ?? fromServiceError(err));
      else resolve({ digest: res.digest, size: res.size });
    });
    // A write waits for the call to drain, or to end (the agent refused the blob early).
    const write = (m: IngestChunk) =>
      new Promise<void>((ok) => {
        if (finished || call.write(m)) return ok();
        call.once('drain', ok);
        call.once('close', ok);
      });
    (async () => {
      await write({ part: { $case: 'options', value: { expected: options.expected ?? '', size: options.size ?? -1, lease: options.lease ?? '' } } });
      const chunks = source instanceof Uint8Array ? [source] : (source as AsyncIterable<Uint8Array>);
      for await (const chunk of chunks) {
        if (finished) break;
        const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
        for (let i = 0; i < buffer.length; i += CHUNK) await write({ part: { $case: 'data', value: buffer.subarray(i, i + CHUNK) } });
      }
      call.end();
    })().catch((err) => {
      // The source failed: the agent must not store what it got so far.
      sourceError = err;
      call.cancel();
    });
  });
}
