import { describe, expect, it } from 'vitest';
import { labelFields } from './label-fields.js';

describe('labelFields', () => {
  it('lists labels sorted by key and reads one label, empty when unset', () => {
    const fields = labelFields({ tier: 'web', 'com.example': 'x' });
    expect(fields.Labels()).toBe('com.example=x,tier=web');
    expect(fields.Label('tier')).toBe('web');
    expect(fields.Label('nope')).toBe('');
  });
});
