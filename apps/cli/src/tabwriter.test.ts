import { describe, expect, it } from 'vitest';
import { tabwrite } from './tabwriter.js';

describe('tabwrite', () => {
  it('aligns columns as docker (minwidth 10, padding 3); the last cell is not padded', () => {
    const text = 'CONTAINER ID\tIMAGE\tNAMES\nabc\tbusybox:latest\tweb\n';
    expect(tabwrite(text)).toBe(['CONTAINER ID   IMAGE            NAMES', 'abc            busybox:latest   web', ''].join('\n'));
  });

  it('gives each column block its own width, as Go does', () => {
    const text = 'a\tb\nlonger-cell\n';
    expect(tabwrite(text, { minWidth: 0, padding: 1 })).toBe('a b\nlonger-cell\n');
  });

  it('counts characters, not bytes', () => {
    expect(tabwrite('"sh -c…"\tx\nab\ty\n', { minWidth: 0, padding: 1 })).toBe('"sh -c…" x\nab       y\n');
  });
});
