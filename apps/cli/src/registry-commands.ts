import { commandsIn, formatFlag, type GroupDef, withName } from './command-def.js';

/** The `registry` group (the platform registry's admin API): usage, flags, argument rules. */

const fromRegistryAdmin = commandsIn(() => import('./commands/registry-admin.js'));

const jsonFormatFlag = formatFlag('Format output: "json" for the raw answer');

const registryRm = fromRegistryAdmin('rm', {
  usage: 'REPOSITORY[:TAG|@DIGEST] [REPOSITORY[:TAG|@DIGEST]...]',
  description: 'Remove a tag, a manifest or a whole repository from the registry (the bytes go at the next gc)',
});

export const registryGroup: GroupDef = {
  name: 'registry',
  description: "Manage the platform's registry",
  commands: {
    df: fromRegistryAdmin('df', {
      usage: '[OPTIONS]',
      description: 'Show the registry storage usage per repository',
      flags: [jsonFormatFlag],
    }),
    gc: fromRegistryAdmin('gc', {
      usage: '[OPTIONS]',
      description: 'Remove blobs no manifest references, and stale uploads',
      flags: [
        { long: 'dry-run', type: 'bool', description: 'Only list what would be removed' },
        { long: 'grace', type: 'string', description: 'Keep blobs and uploads touched within this duration, e.g. "30m" or "0" (default "1h")' },
        jsonFormatFlag,
      ],
    }),
    ls: fromRegistryAdmin('ls', {
      usage: '[OPTIONS]',
      description: 'List the repositories and tags of the registry',
      flags: [jsonFormatFlag],
    }),
    rm: registryRm,
    remove: withName(registryRm, 'remove'),
  },
};
