import { describe, expect, it } from 'vitest';
import { allCapabilities } from './generate-spec.js';
import { hostCapabilities } from './host-capabilities.js';

describe('hostCapabilities', () => {
  it('keeps the capabilities of the bounding set, by number', () => {
    const status = 'Name:\tnode\nCapInh:\t0000000000000000\nCapBnd:\t000001fffeffffff\nCapAmb:\t0000000000000000\n';
    const caps = hostCapabilities(allCapabilities, status);
    expect(caps).toHaveLength(40);
    expect(caps).not.toContain('CAP_SYS_RESOURCE');
    expect(caps).toContain('CAP_CHECKPOINT_RESTORE');
    expect(hostCapabilities(allCapabilities, 'CapBnd:\t0000000000000021\n')).toEqual(['CAP_CHOWN', 'CAP_KILL']);
  });

  it("reads this process's bounding set", () => {
    expect(hostCapabilities(allCapabilities)).toContain('CAP_CHOWN');
  });
});
