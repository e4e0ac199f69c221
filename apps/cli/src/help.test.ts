import { describe, expect, it } from 'vitest';
import { runCliCaptured } from './test-support.js';
import { wrapText } from './help.js';
import { detailsOf } from './log-details.js';

async function help(args: string[], columns?: number): Promise<string> {
  const { code, stdout } = await runCliCaptured(args, { columns });
  expect(code).toBe(0);
  return stdout;
}

describe("--help as docker 28 prints it", () => {
  it('has Usage, the description, the Aliases line and wrapped options', async () => {
    const text = await help(['run', '--help']);
    expect(text.startsWith('Usage:  berth run [OPTIONS] IMAGE [COMMAND] [ARG...]\n\nCreate and run a new container from an image\n\nAliases:\n  berth container run, berth run\n\nOptions:\n')).toBe(true);
    // pflag: descriptions start two columns after the longest flag, wrapped at 79 columns
    expect(text).toContain('      --add-host list                    Add a custom host-to-IP mapping\n                                         (host:ip)\n');
    expect(text.split('\n').every((line) => line.length <= 79)).toBe(true);
    expect(text).toMatch(/\n {6}--help +Print usage\n/);
  });

  it('wraps to the terminal width when there is one', async () => {
    const wide = await help(['run', '--help'], 200);
    expect(wide).toContain('      --add-host list                    Add a custom host-to-IP mapping (host:ip)\n');
  });

  it('lists every name of a command, management command first', async () => {
    expect(await help(['ps', '--help'])).toContain('\nAliases:\n  berth container ls, berth container list, berth container ps, berth ps\n');
    expect(await help(['image', 'build', '--help'])).toContain('\nAliases:\n  berth image build, berth build, berth builder build\n');
    expect(await help(['container', 'cp', '--help'])).toContain('\nAliases:\n  berth container cp, berth cp\n');
    expect(await help(['update', '--help'])).toContain('\nAliases:\n  berth container update, berth update\n');
    expect(await help(['system', 'prune', '--help'])).not.toContain('Aliases:');
  });

  it("wraps text with pflag's rules", () => {
    expect(wrapText(10, 40, 'one two three four five six seven eight nine ten')).toBe('one two three four five\n          six seven eight nine ten');
    expect(wrapText(10, 0, 'a\nb')).toBe('a\n          b');
  });
});

describe('logs --details', () => {
  it("prefixes docker's attributes: the labels and env the log options name, sorted and escaped", () => {
    expect(detailsOf({ labels: 'tier,missing', env: 'MODE' }, { tier: 'web app', other: 'x' }, ['MODE=prod', 'X=1'])).toBe('MODE=prod,tier=web+app');
    expect(detailsOf({ 'labels-regex': '^t', 'env-regex': '^X' }, { tier: 'a', zone: 'b' }, ['X=1'])).toBe('X=1,tier=a');
    expect(detailsOf({}, { tier: 'web' }, ['A=1'])).toBe('');
  });
});
