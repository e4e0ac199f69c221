import * as grpc from '@grpc/grpc-js';
import { InvalidArgumentError, UnavailableError } from '@berth/errors';
import { ContainersService, failStream, pipeResponses, isServiceError, type AgentAnnouncement, type CreatedContainer, type CreateContainerRequest, type StreamInput, type StreamOutput } from '@berth/proto';
import { hostError } from './cluster-router.js';
import type { RecentPlacements } from './recent-placements.js';

type Upstream = grpc.ClientDuplexStream<StreamInput, StreamOutput>;
type Place = (request: CreateContainerRequest, metadata: grpc.Metadata, createOn: (host: AgentAnnouncement) => Promise<CreatedContainer>) => Promise<{ id: string; hostId: string }>;

/**
 * The gateway's RunAttached (`berth run` without -d in one call): the container is placed as
 * `Create` places it (cluster-containers.ts placeContainer: name claim, host choice, image brought, placement recorded),
 * but its create is the chosen agent's RunAttached, whose stream then carries the attachment: the
 * CLI's Create then Attach (two round trips through the gateway, and two to the agent) become one.
 * The agent's `created` answer is passed on once the placement is done; then both directions are
 * piped as forwardService pipes Attach. An agent without RunAttached answers UNIMPLEMENTED, which
 * reaches the CLI before anything was created (it then creates, then attaches).
 */
export function runAttachedHandler(o: {
  client: (host: AgentAnnouncement) => grpc.Client;
  place: Place;
  placed: RecentPlacements;
  upstreamError: (err: grpc.ServiceError, client: grpc.Client) => unknown;
}): grpc.handleBidiStreamingCall<StreamInput, StreamOutput> {
  const method = ContainersService.runAttached;
  return (call) => {
    const ended = () => failStream(call, new InvalidArgumentError('the request stream ended before its first message'));
    call.once('end', ended);
    call.once('data', (first: StreamInput) => {
      call.pause();
      call.off('end', ended);
      let upstream: { stream: Upstream; client: grpc.Client; created?: CreatedContainer } | undefined;
      call.on('cancelled', () => upstream?.stream.cancel());
      // Called again when the image had to be brought to the host first (a new stream each time).
      const createOn = async (host: AgentAnnouncement): Promise<CreatedContainer> => {
        const client = o.client(host);
        const stream = client.makeBidiStreamRequest(method.path, method.requestSerialize, method.responseDeserialize, call.metadata) as Upstream;
        upstream = { stream, client };
        if (call.cancelled) stream.cancel();
        stream.write(first);
        // As router.call's errors (a missing image is NOT_FOUND, which brings it); UNIMPLEMENTED
        // (an older agent) goes back to the CLI as it is, so that it creates then attaches.
        const created = await createdAnswer(stream).catch((err: unknown) => {
          throw isServiceError(err) && err.code !== grpc.status.UNIMPLEMENTED ? hostError(host, err) : err;
        });
        upstream.created = created;
        return created;
      };
      void (async () => {
        const attach = first.input?.$case === 'attach' ? first.input.value : undefined;
        if (!attach?.create) throw new InvalidArgumentError('RunAttached must begin with an attach message holding the container to create');
        const { id, hostId } = await o.place({ spec: attach.create, start: false }, call.metadata, createOn);
        o.placed.remember(id, hostId);
        const up = upstream!;
        relay(call, up.stream, up.created!, (err) => o.upstreamError(err, up.client));
      })().catch((err: unknown) => failStream(call, err));
    });
  };
}

/**
 * The agent's first answer, `created`; the stream is left paused after it (what follows waits for
 * the relay), and an error meanwhile is kept for it.
 */
function createdAnswer(stream: Upstream): Promise<CreatedContainer> {
  return new Promise((resolve, reject) => {
    const cleanup = () => {
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('error', onError);
    };
    const onData = (m: StreamOutput) => {
      cleanup();
      stream.pause();
      if (m.output?.$case !== 'created') return reject(new UnavailableError('the runtime agent answered RunAttached without the container it created'));
      const early: { err?: grpc.ServiceError } = {};
      stream.on('error', (err: grpc.ServiceError) => (early.err ??= err));
      earlyErrors.set(stream, early);
      resolve(m.output.value);
    };
    const onEnd = () => (cleanup(), reject(new UnavailableError('the runtime agent ended RunAttached without an answer')));
    const onError = (err: Error) => (cleanup(), reject(err));
    stream.on('data', onData);
    stream.once('end', onEnd);
    stream.once('error', onError);
  });
}

const earlyErrors = new WeakMap<Upstream, { err?: grpc.ServiceError }>();

/** `created` to the client, then both directions piped, as forwardService pipes Attach. */
function relay(call: grpc.ServerDuplexStream<StreamInput, StreamOutput>, upstream: Upstream, created: CreatedContainer, upstreamError: (err: grpc.ServiceError) => unknown): void {
  const early = earlyErrors.get(upstream);
  if (call.cancelled) return upstream.cancel();
  if (early?.err) return failStream(call, upstreamError(early.err));
  call.write({ output: { $case: 'created', value: created } });
  call.pipe(upstream as unknown as NodeJS.WritableStream);
  pipeResponses(upstream, call, upstreamError);
  call.resume();
  upstream.resume();
}

