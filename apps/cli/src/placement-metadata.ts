import * as grpc from '@grpc/grpc-js';
import { addPlacementHints, NODE_METADATA } from '@berth/proto';
import type { CommandContext } from './context.js';

/** Placement hints (`--node`, `--constraint`, BERTH_NODE) travel as gRPC metadata: libs/proto placement-hints.ts. */
const CREATE_PATH = '/berth.v1.Containers/Create';

/** The interceptor that adds ctx's placement hints (none: undefined, the channel stays plain). */
export function placementInterceptor(ctx: CommandContext): grpc.Interceptor {
  return (options, next) =>
    new grpc.InterceptingCall(next(options), {
      start(metadata, listener, nextStart) {
        const pinned = process.env.BERTH_NODE;
        if (pinned) metadata.set(NODE_METADATA, pinned);
        if (ctx.placement && options.method_definition.path === CREATE_PATH) {
          addPlacementHints(metadata, ctx.placement);
        }
        nextStart(metadata, listener);
      },
    });
}
