import { describe, expect, it } from 'vitest';
import { HelperGone, ResidentHelper } from './resident-helper.js';

// Echoes each line back upper-cased; the line "die" makes it exit first.
const SCRIPT = `$| = 1; while (my $l = <STDIN>) { chomp $l; exit 3 if $l eq 'die'; print uc($l), "\\n"; }`;

describe('ResidentHelper', () => {
  it('answers requests in order, several in flight at once', async () => {
    const helper = new ResidentHelper('echo helper', SCRIPT);
    expect(await Promise.all(['a', 'b', 'c'].map((l) => helper.ask(l)))).toEqual(['A', 'B', 'C']);
  });

  it('fails the requests in flight when it dies, and the next request starts a new helper', async () => {
    const helper = new ResidentHelper('echo helper', SCRIPT);
    const inFlight = [helper.ask('die'), helper.ask('x')];
    for (const r of inFlight) await expect(r).rejects.toThrow(new HelperGone('the echo helper exited'));
    expect(await helper.ask('again')).toBe('AGAIN');
    expect(helper.available).toBe(true);
  });

  it('refuses at once when turned off', async () => {
    const helper = new ResidentHelper('echo helper', SCRIPT, [], true);
    expect(helper.available).toBe(false);
    await expect(helper.ask('x')).rejects.toThrow(new HelperGone('no echo helper'));
  });
});
