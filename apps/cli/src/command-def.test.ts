import { describe, expect, it } from 'vitest';
import { argsOfUsage, commandsIn, withName } from './command-def.js';

describe('argsOfUsage', () => {
  it.each([
    ['[OPTIONS]', { max: 0 }],
    ['', { max: 0 }],
    ['[OPTIONS] CONTAINER [CONTAINER...]', { min: 1 }],
    ['[OPTIONS] NETWORK CONTAINER', { min: 2, max: 2 }],
    ['[SERVER]', { max: 1 }],
    ['[OPTIONS] IMAGE [COMMAND] [ARG...]', { min: 1 }],
    ['[OPTIONS] PATH | -', { min: 1, max: 1 }],
    ['busybox|debian [NAME[:TAG]]', { min: 1, max: 2 }],
    ['[OPTIONS] [CONTAINER...]', {}],
  ])('%j', (usage, rule) => {
    expect(argsOfUsage(usage)).toEqual(rule);
  });
});

describe('commandsIn', () => {
  const fromModule = commandsIn(async () => ({ greet: async () => 7 }));

  it("names the command after its handler, loads that handler, and takes the usage's argument rule", async () => {
    const greet = fromModule('greet', { usage: 'NAME [NAME...]', description: 'Greet' });
    expect(greet).toMatchObject({ name: 'greet', flags: [], args: { min: 1 } });
    expect(await (await greet.load())({} as never, {} as never)).toBe(7);
  });

  it('keeps a name and an argument rule given', () => {
    expect(fromModule('greet', { name: 'hello', usage: 'NAME', description: 'Greet', args: { min: 0 } })).toMatchObject({ name: 'hello', args: { min: 0 } });
  });

  it('works the argument rule out when it is asked for, in an alias (withName) too', () => {
    const greet = fromModule('greet', { usage: 'NAME NAME', description: 'Greet' });
    const alias = withName(greet, 'hi');
    // Still a getter, not a value copied at start-up (every command's usage parsed at every start).
    expect(typeof Object.getOwnPropertyDescriptor(alias, 'args')?.get).toBe('function');
    expect(alias).toMatchObject({ name: 'hi', args: { min: 2, max: 2 }, usage: 'NAME NAME' });
    expect(greet.name).toBe('greet');
  });
});
