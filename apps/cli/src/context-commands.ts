import { commandsIn, forceFlag, formatFlag, inspectFormatFlag, objectGroup, quietFlag } from './command-def.js';

/**
 * `berth context …`: docker's context commands (usage, flags, argument rules); handlers in
 * ./commands/context.ts, the store in context-store.ts.
 */

const fromContexts = commandsIn(() => import('./commands/context.js'));

export const contextGroup = objectGroup({
  name: 'context',
  description: 'Manage contexts',
  commands: {
    create: fromContexts('create', {
      usage: '[OPTIONS] CONTEXT',
      description:
        'Create a context\n\nBerth endpoint config:\n\nNAME                DESCRIPTION\nfrom                Copy named context\'s Berth endpoint configuration\nhost                Gateway endpoint on which to connect\nca                  Trust certs signed only by this CA\ncert                Path to TLS certificate file\nkey                 Path to TLS key file\nskip-tls-verify     Skip TLS certificate validation\n\nExample:\n\n$ berth context create my-context --description "some description" --berth "host=tcp://myserver:2376,ca=~/ca-file,cert=~/cert-file,key=~/key-file"',
      flags: [
        { long: 'berth', type: 'list', typeName: 'stringToString', aliases: ['docker'], description: 'set the berth endpoint (default [])' },
        { long: 'description', type: 'string', description: 'Description of the context' },
        { long: 'from', type: 'string', description: 'create context from a named context' },
      ],
    }),
    inspect: fromContexts('inspect', {
      usage: '[OPTIONS] [CONTEXT] [CONTEXT...]',
      description: 'Display detailed information on one or more contexts',
      flags: [inspectFormatFlag],
    }),
    ls: fromContexts('ls', {
      usage: '[OPTIONS]',
      description: 'List contexts',
      flags: [formatFlag(), quietFlag('Only show context names')],
    }),
    rm: fromContexts('rm', {
      usage: 'CONTEXT [CONTEXT...]',
      description: 'Remove one or more contexts',
      flags: [forceFlag('Force the removal of a context in use')],
    }),
    show: fromContexts('show', {
      usage: '',
      description: 'Print the name of the current context',
    }),
    use: fromContexts('use', {
      usage: 'CONTEXT',
      description: 'Set the current berth context',
    }),
  },
});
