import { describe, expect, it } from 'vitest';
import { RestartManager, restartsOnAgentStart } from './restart-manager.js';

describe('RestartManager', () => {
  it('backs off from 100 ms, doubling up to a minute, and resets after a 10 s run', () => {
    const rm = new RestartManager({ Name: 'always', MaximumRetryCount: 0 });
    const delays = Array.from({ length: 12 }, (_, i) => rm.shouldRestart(0, i, false, 50));
    expect(delays).toEqual([100, 200, 400, 800, 1600, 3200, 6400, 12800, 25600, 51200, 60000, 60000]);
    expect(rm.shouldRestart(0, 12, false, 10_000)).toBe(100);
  });

  it('on-failure restarts non-zero exits up to the maximum', () => {
    const rm = new RestartManager({ Name: 'on-failure', MaximumRetryCount: 2 });
    expect(rm.shouldRestart(0, 0, false, 10)).toBeUndefined();
    expect(rm.shouldRestart(1, 0, false, 10)).toBeDefined();
    expect(rm.shouldRestart(1, 1, false, 10)).toBeDefined();
    expect(rm.shouldRestart(1, 2, false, 10)).toBeUndefined();
    const unlimited = new RestartManager({ Name: 'on-failure', MaximumRetryCount: 0 });
    expect(unlimited.shouldRestart(1, 100, false, 10)).toBeDefined();
  });

  it('unless-stopped respects a manual stop; cancel ends every policy', () => {
    expect(new RestartManager({ Name: 'unless-stopped', MaximumRetryCount: 0 }).shouldRestart(0, 0, true, 10)).toBeUndefined();
    expect(new RestartManager({ Name: 'unless-stopped', MaximumRetryCount: 0 }).shouldRestart(0, 0, false, 10)).toBe(100);
    expect(new RestartManager({ Name: 'no', MaximumRetryCount: 0 }).shouldRestart(1, 0, false, 10)).toBeUndefined();
    const rm = new RestartManager({ Name: 'always', MaximumRetryCount: 0 });
    rm.cancel();
    expect(rm.shouldRestart(1, 0, false, 10)).toBeUndefined();
  });

  it('restartsOnAgentStart follows Docker: always even when stopped, unless-stopped only when not', () => {
    expect(restartsOnAgentStart({ Name: 'always', MaximumRetryCount: 0 }, true)).toBe(true);
    expect(restartsOnAgentStart({ Name: 'unless-stopped', MaximumRetryCount: 0 }, true)).toBe(false);
    expect(restartsOnAgentStart({ Name: 'unless-stopped', MaximumRetryCount: 0 }, false)).toBe(true);
    expect(restartsOnAgentStart({ Name: 'on-failure', MaximumRetryCount: 0 }, false)).toBe(false);
  });
});
