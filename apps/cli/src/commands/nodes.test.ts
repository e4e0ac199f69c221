import { describe, expect, it } from 'vitest';
import { drainSummary } from './nodes.js';

describe('drainSummary', () => {
  it('says nothing for a node not draining, and how far a drain got otherwise', () => {
    expect(drainSummary(undefined)).toBe('');
    expect(drainSummary({ state: 'draining', moved: 1, staying: [], updatedAt: 0 })).toBe('draining: 1 container moved to other nodes so far');
    expect(drainSummary({ state: 'drained', moved: 3, staying: [], updatedAt: 0 })).toBe('drained: 3 containers moved to other nodes');
    expect(
      drainSummary({
        state: 'incomplete',
        moved: 0,
        staying: [
          { id: '0123456789abcdef', name: 'db', reason: 'Cannot place the container: no node is active (node-1: pause)' },
          { id: 'fedcba9876543210', name: '', reason: 'it is exited (exit code 1)' },
        ],
        updatedAt: 0,
      }),
    ).toBe('drain incomplete: 0 containers moved to other nodes, 2 stay on this node: "db" (Cannot place the container: no node is active (node-1: pause)); "fedcba987654" (it is exited (exit code 1))');
  });
});
