import type { ContainerSummary } from '@berth/proto';
import { describe, expect, it } from 'vitest';
import { planService, type ServiceTarget } from './convergence.js';
import type { ObservedContainer } from './observed-state.js';

function container(id: string, o: { number: number; state: string; created: number; configHash?: string }): ObservedContainer {
  return {
    id,
    name: `p-web-${o.number}`,
    service: 'web',
    number: o.number,
    configHash: o.configHash ?? 'h1',
    imageId: 'sha256:i',
    oneoff: false,
    state: o.state,
    status: o.state,
    created: o.created,
    labels: {},
    summary: {} as ContainerSummary,
  };
}

const target: ServiceTarget = { replicas: 2, configHash: 'h1', recreate: 'never' };
const ids = (cs: ObservedContainer[]) => cs.map((c) => c.id);

describe('planService with two containers of one number', () => {
  it('keeps the replacement of a drained node, running and newer, and lets the original go', () => {
    const original = container('original', { number: 1, state: 'running', created: 100 });
    const replacement = container('replacement', { number: 1, state: 'running', created: 160 });
    const other = container('other', { number: 2, state: 'running', created: 100 });
    for (const existing of [[original, replacement, other], [replacement, original, other]]) {
      const plan = planService(target, existing);
      expect(ids(plan.keep)).toEqual(['replacement', 'other']);
      expect(ids(plan.remove)).toEqual(['original']);
      expect(plan.create).toEqual([]);
    }
  });

  it('keeps the running one when the other was stopped (the drained original once stopped), whichever is newer', () => {
    const stoppedOriginal = container('original', { number: 1, state: 'exited', created: 100 });
    const replacement = container('replacement', { number: 1, state: 'running', created: 160 });
    expect(ids(planService(target, [stoppedOriginal, replacement]).keep)).toEqual(['replacement']);
    const runningOld = container('old', { number: 1, state: 'running', created: 100 });
    const createdNew = container('new', { number: 1, state: 'created', created: 160 });
    expect(ids(planService(target, [runningOld, createdNew]).keep)).toEqual(['old']);
    expect(ids(planService(target, [runningOld, createdNew]).remove)).toEqual(['new']);
  });

  it('still prefers an up-to-date container to a diverged one, and creates the missing number', () => {
    const diverged = container('diverged', { number: 1, state: 'running', created: 200, configHash: 'h0' });
    const current = container('current', { number: 1, state: 'exited', created: 100 });
    const plan = planService({ ...target, recreate: 'diverged' }, [diverged, current]);
    expect(ids(plan.keep)).toEqual(['current']);
    expect(ids(plan.remove)).toEqual(['diverged']);
    expect(plan.create).toEqual([2]);
  });
});
