import { describe, expect, it } from 'vitest';
import { parseYamlDocuments } from './parse-yaml.js';

describe('parseYamlDocuments', () => {
  it('refuses a billion-laughs alias bomb quickly, naming file, line and field', () => {
    const levels = ['x-a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]'];
    for (let i = 1; i < 10; i++) {
      const prev = String.fromCharCode(96 + i);
      const name = String.fromCharCode(97 + i);
      levels.push(`x-${name}: &${name} [${Array(10).fill(`*${prev}`).join(', ')}]`);
    }
    const start = performance.now();
    expect(() => parseYamlDocuments(levels.join('\n'), 'bomb.yaml')).toThrow(/^bomb\.yaml:\d+: x-\w(\[\d+\])*: document expands to more than 200000 values/);
    expect(performance.now() - start).toBeLessThan(1000);
  });

  it('keeps the line of every field, through aliases and merge keys', () => {
    const [doc] = parseYamlDocuments('x: &x\n  a: 1\nservices:\n  web:\n    <<: *x\n    b: [1, 2]\n', 'c.yaml');
    expect(doc!.lines.get('services.web.a')).toBe(5);
    expect(doc!.lines.get('services.web.b[1]')).toBe(6);
    expect(doc!.value).toEqual({ x: { a: 1 }, services: { web: { a: 1, b: [1, 2] } } });
  });

  it('reports syntax errors with the line', () => {
    expect(() => parseYamlDocuments('services:\n  web: [\n', 'bad.yaml')).toThrow(/^bad\.yaml:\d+: invalid YAML: /);
    expect(() => parseYamlDocuments('services:\n  1: x\n', 'k.yaml')).toThrow('k.yaml:2: services: non-string key 1: quote it to make it a string');
  });

  it('gives aliased values their own copy', () => {
    const [doc] = parseYamlDocuments('a: &a {k: [1]}\nb: *a\n', 'c.yaml');
    const v = doc!.value as { a: { k: number[] }; b: { k: number[] } };
    v.b.k.push(2);
    expect(v.a.k).toEqual([1]);
  });
});
