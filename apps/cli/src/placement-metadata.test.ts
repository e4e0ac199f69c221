import { afterEach, describe, expect, it } from 'vitest';
import { placementMetadata } from './placement-metadata.js';
import type { CommandContext } from './context.js';

const ctx = (placement?: CommandContext['placement']) => ({ placement }) as CommandContext;

describe('placementMetadata', () => {
  const pinned = process.env.BERTH_NODE;
  afterEach(() => {
    if (pinned === undefined) delete process.env.BERTH_NODE;
    else process.env.BERTH_NODE = pinned;
  });

  it('sends BERTH_NODE on every call, and --node/--constraint on the calls that create a container only', () => {
    delete process.env.BERTH_NODE;
    expect(placementMetadata(ctx(), '/berth.v1.Containers/Inspect')).toEqual({});
    process.env.BERTH_NODE = 'node-2';
    expect(placementMetadata(ctx(), '/berth.v1.Containers/List')).toEqual({ 'berth-node': ['node-2'] });
    const placed = ctx({ node: 'node-3', constraints: ['node.labels.zone==a', 'node.role!=manager'] });
    expect(placementMetadata(placed, '/berth.v1.Containers/Create')).toEqual({ 'berth-node': ['node-3'], 'berth-constraint': ['node.labels.zone==a', 'node.role!=manager'] });
    // Attached `run` creates through RunAttached: without the hints it ran anywhere (CI: cluster-join's
    // `run --rm --node node-2` of a revoked node answered 0).
    expect(placementMetadata(placed, '/berth.v1.Containers/RunAttached')).toEqual({ 'berth-node': ['node-3'], 'berth-constraint': ['node.labels.zone==a', 'node.role!=manager'] });
    expect(placementMetadata(placed, '/berth.v1.Containers/Start')).toEqual({ 'berth-node': ['node-2'] });
  });
});
