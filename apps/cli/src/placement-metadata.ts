import * as grpc from '@grpc/grpc-js';
import type { CommandContext } from './context.js';

/**
 * Placement hints travel as gRPC metadata, which the gateway reads (apps/api cluster placement):
 *   berth-node        pin the call to one node (name, host id or unique id prefix): `run --node`, and
 *                     every call when BERTH_NODE is set (e.g. `BERTH_NODE=node-2 berth image load`)
 *   berth-constraint  one `--constraint` of `run`/`create` (repeated), e.g. node.labels.zone==z1
 * Metadata rather than ContainerSpec fields: placement is the cluster's business, not the container's,
 * and the agent never sees it.
 */
export const NODE_METADATA = 'berth-node';
export const CONSTRAINT_METADATA = 'berth-constraint';
const CREATE_PATH = '/berth.v1.Containers/Create';

/** The interceptor that adds ctx's placement hints (none: undefined, the channel stays plain). */
export function placementInterceptor(ctx: CommandContext): grpc.Interceptor {
  return (options, next) =>
    new grpc.InterceptingCall(next(options), {
      start(metadata, listener, nextStart) {
        const pinned = process.env.BERTH_NODE;
        if (pinned) metadata.set(NODE_METADATA, pinned);
        if (ctx.placement && options.method_definition.path === CREATE_PATH) {
          if (ctx.placement.node) metadata.set(NODE_METADATA, ctx.placement.node);
          for (const c of ctx.placement.constraints) metadata.add(CONSTRAINT_METADATA, c);
        }
        nextStart(metadata, listener);
      },
    });
}
