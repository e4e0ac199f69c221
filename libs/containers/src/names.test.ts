import { describe, expect, it } from 'vitest';
import { generateName, normalizeName } from './names.js';

describe('normalizeName', () => {
  it('adds the leading slash', () => {
    expect(normalizeName('web')).toBe('/web');
    expect(normalizeName('/web.1_a-b')).toBe('/web.1_a-b');
  });

  it("refuses names Docker refuses, with Docker's message", () => {
    expect(() => normalizeName('-web')).toThrow('Invalid container name (-web), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed');
    expect(() => normalizeName('a')).toThrow('Invalid container name (a), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed');
    expect(() => normalizeName('we b')).toThrow('Invalid container name (we b)');
  });
});

describe('generateName', () => {
  it('makes valid adjective_surname names', () => {
    for (let i = 0; i < 50; i++) {
      const name = generateName();
      expect(name).toMatch(/^[a-z]+_[a-z]+$/);
      expect(name).not.toBe('boring_wozniak');
      expect(normalizeName(name)).toBe(`/${name}`);
    }
    expect(generateName(1)).toMatch(/^[a-z]+_[a-z]+\d$/);
  });
});
