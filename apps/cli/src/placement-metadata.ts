import { addPlacementHints, NODE_METADATA } from '@berth/proto';
import type { CommandContext } from './context.js';

// Placement hints (`--node`, `--constraint`, BERTH_NODE) travel as gRPC metadata: libs/proto placement-hints.ts.

/** The calls that create a container: Create, and RunAttached (attached `run`'s create, attach and start in one). */
const CREATE_PATHS = new Set(['/berth.v1.Containers/Create', '/berth.v1.Containers/RunAttached']);

/**
 * The metadata ctx's placement adds to a call of `path` (header name → values; none: empty): the
 * pinned node of BERTH_NODE on every call, the hints of `--node`/`--constraint` on the calls that
 * create a container. Every transport sends it (clients.ts's interceptor, unary-clients.ts,
 * commands/stream-relay.ts).
 */
export function placementMetadata(ctx: CommandContext, path: string): Record<string, string[]> {
  const metadata: Record<string, string[]> = {};
  const headers = {
    set: (key: string, value: string) => void (metadata[key] = [value]),
    add: (key: string, value: string) => void (metadata[key] ??= []).push(value),
  };
  const pinned = process.env.BERTH_NODE;
  if (pinned) headers.set(NODE_METADATA, pinned);
  if (ctx.placement && CREATE_PATHS.has(path)) addPlacementHints(headers, ctx.placement);
  return metadata;
}
