import type * as grpc from '@grpc/grpc-js';
import { BerthError, InternalError, InvalidArgumentError } from '@berth/errors';
import { type BuildInput, type BuildOutput, type BuilderServer, failStream, handleUnary } from '@berth/proto';
import type { Builder, BuildResult, ContextSync } from '@berth/build';
import { contextFileFromProto, decodeListing } from '@berth/filesync';

type BuildCall = grpc.ServerDuplexStream<BuildInput, BuildOutput>;

/**
 * The Builder gRPC service over a Builder (libs/build): `Build` reads the options, then the
 * context chunks, and streams the progress lines and finally the image id; a cancelled call stops
 * the build (its running step is killed). `Prune` empties the cache.
 */
export function builderService(builder: Builder): BuilderServer {
  return {
    build: (call: BuildCall) => void build(builder, call),
    prune: handleUnary(async (request) => {
      const keep = request.keepDurationSeconds;
      const result = await builder.prune(keep > 0 ? { olderThan: new Date(Date.now() - keep * 1000) } : {});
      return { records: result.records, reclaimed: result.reclaimed };
    }),
  };
}

async function build(builder: Builder, call: BuildCall): Promise<void> {
  const cancelled = new AbortController();
  let answered = false;
  call.on('cancelled', () => cancelled.abort(new InvalidArgumentError('The build was cancelled by the client')));
  try {
    const messages = peekable(readMessages(call));
    const first = await messages.next();
    if (first.done || first.value.input?.$case !== 'options') throw new InvalidArgumentError('Build must begin with an options message');
    const options = first.value.input.value;
    const send = (output: BuildOutput['output']) => {
      if (!call.cancelled && !call.destroyed && !call.writableEnded) call.write({ output });
    };
    // File sync: the listing comes next; the files come after the builder asked for them. The
    // build starts meanwhile (the client sends its options before it lists the directory).
    let contextSync: ContextSync | undefined;
    if (options.contextKey) {
      const files = messages.next().then((list) => {
        if (list.done || list.value.input?.$case !== 'contextFiles') throw new InvalidArgumentError('A synced build must list its context right after its options');
        const { files, listing } = list.value.input.value;
        return listing.length > 0 ? decodeListing(listing) : files.map(contextFileFromProto);
      });
      files.catch(() => undefined); // awaited by the build's sync, which reports the failure
      contextSync = {
        key: options.contextKey,
        files,
        fetch: (paths) => {
          send({ $case: 'contextRequest', value: { paths } });
          return context;
        },
      };
    }
    // The main context ends where the named contexts begin (or with the stream).
    const context = (async function* () {
      for (;;) {
        const next = await messages.peek();
        if (next.done || next.value.input?.$case === 'namedContext') return;
        await messages.next();
        if (next.value.input?.$case === 'context') yield next.value.input.value;
      }
    })();
    // Each named local context: its chunks, read after the main context, in the order of the options.
    const namedContext = (name: string) =>
      (async function* () {
        for (;;) {
          const next = await messages.peek();
          if (next.done) return;
          const input = next.value.input;
          if (input?.$case === 'namedContext' && input.value.name !== name) return;
          await messages.next();
          if (input?.$case === 'namedContext') yield input.value.data;
        }
      })();
    for (const named of options.buildContexts) {
      if (named.image && !named.image.startsWith('docker-image://')) throw new InvalidArgumentError(`Unknown build context source "${named.image}": expected docker-image://REF or a local directory`);
    }
    // Output chunks wait for the client to take them (a large export is not buffered here).
    const sendData = (chunk: Uint8Array) =>
      new Promise<void>((resolve, reject) => {
        if (call.cancelled || call.destroyed || call.writableEnded) return reject(new InvalidArgumentError('The build was cancelled by the client'));
        if (call.write({ output: { $case: 'data', value: Buffer.from(chunk) } })) return resolve();
        const settle = (err?: Error) => {
          call.off('drain', onDrain);
          call.off('cancelled', onCancel);
          if (err) reject(err);
          else resolve();
        };
        const onDrain = () => settle();
        const onCancel = () => settle(new InvalidArgumentError('The build was cancelled by the client'));
        call.once('drain', onDrain);
        call.once('cancelled', onCancel);
      });
    // The answer goes as soon as the image exists; the lease's end and the scratch directory's
    // removal follow (a builder killed meanwhile leaves them to the lease's expiry).
    const answer = (result: BuildResult) => {
      if (answered) return;
      answered = true;
      for (const warning of result.warnings) send({ $case: 'line', value: warning });
      send({ $case: 'imageId', value: result.imageId });
      call.end();
    };
    const outputType = options.outputType;
    if (outputType !== '' && outputType !== 'oci' && outputType !== 'tar' && outputType !== 'local') {
      throw new InvalidArgumentError(`Unknown output type "${outputType}": expected oci, tar or local`);
    }
    const result = await builder.build(
      {
        ...(contextSync ? { contextSync } : { context }),
        ...(options.dockerfileContent ? { dockerfileContent: options.dockerfileContent } : {}),
        ...(options.dockerfile ? { dockerfile: options.dockerfile } : {}),
        ...(options.dockerfileName ? { dockerfileName: options.dockerfileName } : {}),
        buildArgs: Object.fromEntries(options.buildArgs.map((a) => [a.key, a.value])),
        ...(options.target ? { target: options.target } : {}),
        tags: options.tags,
        noCache: options.noCache,
        labels: Object.fromEntries(options.labels.map((a) => [a.key, a.value])),
        noCacheFilter: options.noCacheFilter,
        pull: options.pull,
        push: options.push,
        registryAuth: Object.fromEntries(
          options.registryAuths.filter((a) => a.auth && a.auth.username !== '').map((a) => [a.server, { username: a.auth!.username, password: a.auth!.password }]),
        ),
        ...(outputType ? { output: outputType } : {}),
        squash: options.squash,
        cacheTo: options.cacheTo,
        cacheFrom: options.cacheFrom,
        network: options.network,
        extraHosts: options.extraHosts,
        platform: options.platform,
        secrets: Object.fromEntries(options.secrets.map((secret) => [secret.id, secret.value])),
        namedContexts: options.buildContexts.map((named) =>
          named.image ? { name: named.name, image: named.image.slice('docker-image://'.length) } : { name: named.name, context: namedContext(named.name) },
        ),
      },
      { onProgress: (line) => send({ $case: 'line', value: line }), onOutput: sendData, signal: cancelled.signal, onResult: answer },
    );
    answer(result);
  } catch (err) {
    // After the answer only the build's own clean-up can fail: the client has its image, and the lease's expiry removes what is left.
    if (!answered) failStream(call as unknown as grpc.ServerDuplexStream<unknown, unknown>, bounded(err));
  }
}

/**
 * A status message travels in HTTP/2 trailers, whose size is limited: a bigger one never reaches
 * the client, which then waits forever. Long messages are cut (the progress has the whole text).
 * The limit is on the trailer as sent: percent-encoded, where a character other than printable
 * ASCII costs 3 bytes per UTF-8 byte (a line of `é` grows sixfold).
 */
const MAX_STATUS_BYTES = 4096;

function bounded(err: unknown): unknown {
  const message = err instanceof Error ? err.message : String(err);
  let bytes = 0;
  let end = 0; // where the cut goes, leaving room for the `…` (3 UTF-8 bytes, encoded)
  for (const ch of message) {
    const code = ch.codePointAt(0)!;
    bytes += code >= 0x20 && code <= 0x7e && ch !== '%' ? 1 : 3 * Buffer.byteLength(ch);
    if (bytes <= MAX_STATUS_BYTES - 9) end += ch.length;
    else if (bytes > MAX_STATUS_BYTES) break;
  }
  if (bytes <= MAX_STATUS_BYTES) return err;
  const text = `${message.slice(0, end)}…`;
  if (!(err instanceof BerthError)) return new InternalError(text, { cause: err });
  const Class = err.constructor as new (message: string, options: ConstructorParameters<typeof BerthError>[1]) => BerthError;
  return new Class(text, { code: err.code, cause: err, detail: err.detail });
}

/**
 * The call's messages, read with 'data' listeners attached at once (the stream is paused while
 * more than a few messages wait, so a large context is not buffered in memory).
 */
function readMessages(call: BuildCall): AsyncIterator<BuildInput> {
  const queue: BuildInput[] = [];
  let ended = false;
  let failure: unknown;
  let wake: (() => void) | undefined;
  const notify = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  call.on('data', (m: BuildInput) => {
    queue.push(m);
    if (queue.length >= 16) call.pause();
    notify();
  });
  call.on('end', () => {
    ended = true;
    notify();
  });
  call.on('error', (err) => {
    failure = err;
    notify();
  });
  call.on('cancelled', () => {
    failure ??= new InvalidArgumentError('The build was cancelled by the client');
    notify();
  });
  return {
    async next(): Promise<IteratorResult<BuildInput>> {
      for (;;) {
        if (queue.length > 0) {
          const value = queue.shift()!;
          if (queue.length < 4) call.resume();
          return { value, done: false };
        }
        if (failure) throw failure;
        if (ended) return { value: undefined, done: true };
        await new Promise<void>((r) => (wake = r));
      }
    },
  };
}

/** A message iterator that can look at the next message without taking it. */
function peekable(messages: AsyncIterator<BuildInput>): AsyncIterator<BuildInput> & { peek(): Promise<IteratorResult<BuildInput>> } {
  let ahead: Promise<IteratorResult<BuildInput>> | undefined;
  return {
    next: () => {
      const taken = ahead ?? messages.next();
      ahead = undefined;
      return taken;
    },
    peek: () => (ahead ??= messages.next()),
  };
}
