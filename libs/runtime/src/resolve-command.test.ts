import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '@berth/errors';
import { resolveCommand, type CommandOverride, type ImageCommand } from './resolve-command.js';

interface Case {
  name: string;
  image: ImageCommand;
  override: CommandOverride;
  expected?: string[];
  error?: string;
}

const cases = JSON.parse(readFileSync(new URL('../testdata/command-table.json', import.meta.url), 'utf8')) as Case[];

describe('resolveCommand (Docker ENTRYPOINT/CMD table)', () => {
  it.each(cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    if (c.error) {
      expect(() => resolveCommand(c.image, c.override)).toThrow(InvalidArgumentError);
      expect(() => resolveCommand(c.image, c.override)).toThrow(c.error);
    } else {
      expect(resolveCommand(c.image, c.override)).toEqual(c.expected);
    }
  });
});
