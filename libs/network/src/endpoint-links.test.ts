import { describe, expect, it } from 'vitest';
import { linkTarget, normalizeEndpointLinks } from './endpoint-links.js';

describe('endpoint links', () => {
  it("records `name[:alias]` as `name:alias`, as docker's ParseLink reads them", () => {
    expect(normalizeEndpointLinks(['db:database', '/cache', 'web:/app/web'])).toEqual(['db:database', 'cache:cache', 'web:web']);
    expect(() => normalizeEndpointLinks(['a:b:c'])).toThrow('bad format for links: "a:b:c"');
    expect(() => normalizeEndpointLinks([':x'])).toThrow('bad format for links: ":x"');
  });

  it("renames a query for the asking container only", () => {
    expect(linkTarget({ Links: ['db:database'] }, 'database')).toBe('db');
    expect(linkTarget({ Links: ['db:database'] }, 'db')).toBe('db');
    expect(linkTarget({}, 'database')).toBe('database');
    expect(linkTarget(undefined, 'database')).toBe('database');
  });
});
