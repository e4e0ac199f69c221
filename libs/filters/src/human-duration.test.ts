import { describe, expect, it } from 'vitest';
import { humanDuration } from './human-duration.js';

describe('humanDuration (go-units HumanDuration)', () => {
  it.each([
    [0, 'Less than a second'],
    [999, 'Less than a second'],
    [1_000, '1 second'],
    [59_999, '59 seconds'],
    [90_000, 'About a minute'],
    [59 * 60_000, '59 minutes'],
    [90 * 60_000, '2 hours'],
    [47 * 3_600_000, '47 hours'],
    [13 * 86_400_000, '13 days'],
    [59 * 86_400_000, '8 weeks'],
    [729 * 86_400_000, '24 months'],
    [3 * 365 * 86_400_000, '3 years'],
  ])('%d ms is %s', (ms, text) => {
    expect(humanDuration(ms)).toBe(text);
  });
});
