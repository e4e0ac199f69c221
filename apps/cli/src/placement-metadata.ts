import { addPlacementHints, NODE_METADATA } from '@berth/proto';
import type { CommandContext } from './context.js';

/** Placement hints (`--node`, `--constraint`, BERTH_NODE) travel as gRPC metadata: libs/proto placement-hints.ts. */
const CREATE_PATH = '/berth.v1.Containers/Create';

/**
 * The metadata ctx's placement adds to a call of `path` (header name → values; none: empty): the
 * pinned node of BERTH_NODE on every call, the hints of `--node`/`--constraint` on Create. Both
 * transports send it (clients.ts's interceptor, unary-clients.ts).
 */
export function placementMetadata(ctx: CommandContext, path: string): Record<string, string[]> {
  const metadata: Record<string, string[]> = {};
  const headers = {
    set: (key: string, value: string) => void (metadata[key] = [value]),
    add: (key: string, value: string) => void (metadata[key] ??= []).push(value),
  };
  const pinned = process.env.BERTH_NODE;
  if (pinned) headers.set(NODE_METADATA, pinned);
  if (ctx.placement && path === CREATE_PATH) addPlacementHints(headers, ctx.placement);
  return metadata;
}
