import * as grpc from '@grpc/grpc-js';
import { NotFoundError, UnavailableError, errorKindOf, isBerthError } from '@berth/errors';
import { NODE_METADATA, fromServiceError, type AgentAnnouncement } from '@berth/proto';
import { findNode } from './placement.js';
import type { ServiceDirectory } from './service-directory.js';

/** gRPC metadata key of a pinned node (apps/cli placement-metadata.ts): the call goes to that host. */

/** How long a lookup or fan-out call to one host may take before that host counts as unavailable. */
export const HOST_CALL_TIMEOUT_MS = 5_000;

type UnaryDefinition = grpc.MethodDefinition<any, any>;

/** One host's answer in a fan-out: its result, or the error it gave (a dead host: UnavailableError). */
export interface HostAnswer<T> {
  host: AgentAnnouncement;
  result?: T;
  error?: unknown;
}

/**
 * Which host a call goes to. The live hosts are the agents announced in the NATS KV bucket `hosts`
 * (ServiceDirectory); a call that names an object (container, image, volume, network) goes to the
 * host that has it, found by asking every live host at once (Inspect, each with a deadline); a call
 * pinned with the `berth-node` metadata goes to that node; list calls fan out (cluster-services.ts).
 * A host that does not answer within HOST_CALL_TIMEOUT_MS is `host "N" is unavailable`, and the
 * others keep answering.
 */
/** How long a call pinned to a node not (yet) announced waits for it. */
const PIN_WAIT_MS = 2_000;

export class ClusterRouter {
  /** Hosts the node keeper found down although their announcement has not lapsed yet (node-keeper.ts). */
  isDown: (hostId: string) => boolean = () => false;

  constructor(
    private readonly hosts: ServiceDirectory<AgentAnnouncement>,
    readonly client: (address: string) => grpc.Client,
  ) {}

  /** Every announced host, down ones included (the node keeper probes them). */
  announced(): Promise<AgentAnnouncement[]> {
    return this.hosts.all();
  }

  /** The live hosts (announced, and not found down), by name. */
  async live(): Promise<AgentAnnouncement[]> {
    return (await this.hosts.all()).filter((h) => !this.isDown(h.hostId)).sort((a, b) => a.hostname.localeCompare(b.hostname) || a.hostId.localeCompare(b.hostId));
  }

  /**
   * The host pinned by the call's `berth-node` metadata, if any. A node not among the live hosts is
   * looked for again for up to PIN_WAIT_MS (the `hosts` bucket listed nothing for a moment in a
   * full-suite run right after a cluster formed, while its stream got its replicas: a new replica
   * answered direct gets before it had caught up, which the buckets no longer use —
   * libs/events platform-bucket.ts; the wait stays for a host announcing itself late), then
   * InvalidArgumentError naming the nodes ready.
   */
  async pinned(metadata: grpc.Metadata | undefined): Promise<AgentAnnouncement | undefined> {
    const ref = metadata?.get(NODE_METADATA)[0];
    if (typeof ref !== 'string' || ref === '') return undefined;
    const deadline = Date.now() + PIN_WAIT_MS;
    for (;;) {
      try {
        return findNode(await this.live(), ref);
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }

  /**
   * Where a call that names nothing goes (pull, load, build, info): the pinned node, else the most
   * recently started agent (waiting up to 5 s for one).
   */
  async defaultHost(metadata?: grpc.Metadata): Promise<AgentAnnouncement> {
    return (await this.pinned(metadata)) ?? (await this.hosts.pick(5_000, { where: (h) => !this.isDown(h.hostId) }));
  }

  /** Calls a unary method on one host, with a deadline; a host that does not answer is `host "N" is unavailable`. */
  call<Res>(host: AgentAnnouncement, method: UnaryDefinition, request: unknown, o: { metadata?: grpc.Metadata; timeoutMs?: number } = {}): Promise<Res> {
    const timeoutMs = o.timeoutMs ?? HOST_CALL_TIMEOUT_MS;
    return new Promise((resolve, reject) => {
      this.client(host.address).makeUnaryRequest(
        method.path,
        method.requestSerialize,
        method.responseDeserialize,
        request,
        o.metadata ?? new grpc.Metadata(),
        { deadline: Date.now() + timeoutMs },
        (err, res) => (err ? reject(hostError(host, err)) : resolve(res as Res)),
      );
    });
  }

  /** Calls a unary method on every live host (or `hosts`) at once; each answer or error per host. */
  async fanOut<Res>(method: UnaryDefinition, request: unknown, o: { hosts?: AgentAnnouncement[]; timeoutMs?: number } = {}): Promise<Array<HostAnswer<Res>>> {
    const hosts = o.hosts ?? (await this.live());
    return Promise.all(
      hosts.map((host) =>
        this.call<Res>(host, method, request, o).then(
          (result) => ({ host, result }),
          (error: unknown) => ({ host, error }),
        ),
      ),
    );
  }

  /**
   * The hosts that have the object `inspect` finds (a container, image, volume or network):
   * pinned: that node only. NotFoundError (the agents' own message) when no live host has it;
   * UnavailableError naming the hosts that did not answer when none has it and some did not answer.
   */
  async locate(inspect: UnaryDefinition, request: unknown, metadata?: grpc.Metadata): Promise<Array<HostAnswer<unknown>>> {
    const pinned = await this.pinned(metadata);
    const answers = await this.fanOut<unknown>(inspect, request, pinned ? { hosts: [pinned] } : {});
    const found = answers.filter((a) => a.error === undefined);
    if (found.length > 0) return found;
    const down = answers.filter((a) => errorKindOf(a.error) === 'unavailable');
    const notFound = answers.find((a) => errorKindOf(a.error) === 'not-found');
    if (down.length > 0) {
      throw new UnavailableError(`${down.map((a) => messageOfError(a.error)).join('; ')}${notFound ? ` (no other host has it: ${messageOfError(notFound.error)})` : ''}`);
    }
    if (answers.length === 0) throw new UnavailableError('No runtime agent is running: start the platform with `berth platform up`');
    throw answers.find((a) => errorKindOf(a.error) !== 'not-found')?.error ?? notFound?.error ?? new NotFoundError('Not found');
  }
}

/**
 * The results of a fan-out call (a list, a prune). A host's refusal of the request (an unknown
 * filter, a bad `until`: every host would say the same) is the caller's error; a host that did not
 * answer is left out, unless none answered.
 */
export function answered<T>(answers: Array<HostAnswer<T>>): T[] {
  const refused = answers.find((a) => a.error !== undefined && errorKindOf(a.error) !== 'unavailable');
  if (refused) throw refused.error;
  const results = answers.filter((a) => a.error === undefined).map((a) => a.result!);
  if (results.length === 0 && answers.length > 0) throw answers[0]!.error;
  return results;
}

/** A host's error as the Berth class; a host that does not answer is `host "N" is unavailable`. */
export function hostError(host: AgentAnnouncement, err: grpc.ServiceError): unknown {
  if (err.code === grpc.status.UNAVAILABLE || err.code === grpc.status.DEADLINE_EXCEEDED) {
    return new UnavailableError(`host "${host.hostname}" is unavailable: ${err.details}`, { cause: err });
  }
  return fromServiceError(err);
}

function messageOfError(err: unknown): string {
  return isBerthError(err) || err instanceof Error ? (err as Error).message : String(err);
}
