import type { Msg, NatsConnection, Subscription } from 'nats';
import { CLUSTER_JOIN_SUBJECT } from '@berth/events';
import type { Logger } from '@berth/log';
import { admitHost, clusterCaAnswer } from './cluster-admission.js';

/**
 * The answer to hosts joining the cluster with its join token (cluster-join.ts, the joining side):
 * on `berth.cluster.join`, which only the token's `join` user may publish to, `{op: "ca"}` gets the
 * cluster CA's certificate (the joining host checks its fingerprint against the token's) and
 * whether it is a NATS cluster, and `{op: "join", …}` is admitted by cluster-admission.ts: its CSR
 * signed, its keys let into the nats-server, the registry's credentials (and a NATS cluster's
 * routes and users) sent. A refusal is `{error}`. Runs on the first host only, as the gateway's
 * NATS user (it needs the CA's key and the nats-server's config): in its gateway (apps/api
 * `--cluster-secrets`), and in `platform up --nats-cluster` while JetStream waits for a second
 * server (platform.ts); several share the work (a queue group: a join is answered once).
 * `onAdmitted` is told of each host let in (the gateway writes KV `nats-members` then).
 */
export interface JoinResponderOptions {
  firstDataRoot: string;
  log: Pick<Logger, 'info' | 'warn'>;
  onAdmitted?: (hostId: string) => void;
}

export function startJoinResponder(nc: NatsConnection, options: JoinResponderOptions): Subscription {
  const sub = nc.subscribe(CLUSTER_JOIN_SUBJECT, { queue: 'berth-join' });
  void (async () => {
    for await (const msg of sub) void answer(msg, options);
  })();
  return sub;
}

async function answer(msg: Msg, options: JoinResponderOptions): Promise<void> {
  let reply: object;
  // What the log says of the host asking (the signed request's fields, checked by admitHost).
  let host: { hostId?: unknown; address?: unknown; nodeName?: unknown } = {};
  try {
    const request = JSON.parse(msg.string()) as { op?: unknown; request?: unknown };
    if (typeof request.request === 'string') host = JSON.parse(request.request) as typeof host;
    if (request.op === 'ca') reply = await clusterCaAnswer(options.firstDataRoot);
    else if (request.op === 'join') {
      reply = await admitHost(options.firstDataRoot, request);
      options.log.info({ host: host.hostId, address: host.address, node: host.nodeName }, 'A host joined the cluster with the join token');
      options.onAdmitted?.(String(host.hostId));
    } else reply = { error: `Unknown join request "${String(request.op)}": expected "ca" or "join"` };
  } catch (err) {
    options.log.warn({ host: host.hostId, address: host.address, err }, 'Refused a host asking to join the cluster');
    reply = { error: (err as Error).message };
  }
  msg.respond(JSON.stringify(reply));
}
