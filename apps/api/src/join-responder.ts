import type { Msg, NatsConnection, Subscription } from 'nats';
import { CLUSTER_JOIN_SUBJECT } from '@berth/events';
import { admitHost, clusterCaCertificate } from '@berth/platform';
import type { Logger } from '@berth/log';

/**
 * The gateway's answer to hosts joining the cluster with its join token (libs/platform
 * cluster-join.ts, the joining side): on `berth.cluster.join`, which only the token's `join` user
 * may publish to, `{op: "ca"}` gets the cluster CA's certificate (the joining host checks its
 * fingerprint against the token's), and `{op: "join", …}` is admitted by libs/platform
 * cluster-admission.ts: its CSR signed, its keys let into the nats-server, the registry's
 * credentials sent. A refusal is `{error}`. Runs on the first host's gateway only (`--cluster-secrets`:
 * it needs the CA's key and the nats-server's config); several gateways share the work (a queue group).
 */
export function startJoinResponder(nc: NatsConnection, options: { firstDataRoot: string; log: Logger }): Subscription {
  const sub = nc.subscribe(CLUSTER_JOIN_SUBJECT, { queue: 'berth-join' });
  void (async () => {
    for await (const msg of sub) void answer(msg, options);
  })();
  return sub;
}

async function answer(msg: Msg, options: { firstDataRoot: string; log: Logger }): Promise<void> {
  let reply: object;
  // What the log says of the host asking (the signed request's fields, checked by admitHost).
  let host: { hostId?: unknown; address?: unknown; nodeName?: unknown } = {};
  try {
    const request = JSON.parse(msg.string()) as { op?: unknown; request?: unknown };
    if (typeof request.request === 'string') host = JSON.parse(request.request) as typeof host;
    if (request.op === 'ca') reply = { ca: clusterCaCertificate(options.firstDataRoot) };
    else if (request.op === 'join') {
      reply = await admitHost(options.firstDataRoot, request);
      options.log.info({ host: host.hostId, address: host.address, node: host.nodeName }, 'A host joined the cluster with the join token');
    } else reply = { error: `Unknown join request "${String(request.op)}": expected "ca" or "join"` };
  } catch (err) {
    options.log.warn({ host: host.hostId, address: host.address, err }, 'Refused a host asking to join the cluster');
    reply = { error: (err as Error).message };
  }
  msg.respond(JSON.stringify(reply));
}
