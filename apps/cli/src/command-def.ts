import type { CommandContext } from './context.js';
import type { ArgRule, FlagSpec, ParsedArgs } from './flags.js';

/**
 * The shape of the command table (commands.ts): every `berth` command with docker's usage line,
 * flags and argument rule, and the groups (`container`, `image`, …) that hold subcommands.
 * Handlers live in ./commands/*.ts and are imported only when their command runs, so that
 * `berth --version` and `berth run --help` do not load gRPC.
 */

export type Handler = (ctx: CommandContext, parsed: ParsedArgs) => Promise<number>;

export interface CommandDef {
  name: string;
  /** What follows the command path on docker's Usage line. */
  usage: string;
  description: string;
  flags: FlagSpec[];
  args: ArgRule;
  /** false: options stop at the first argument (the rest belongs to the container's command). */
  interspersed?: boolean;
  /** Errors are reported as `docker run` does: `berth: …`, a help hint, exit 125. */
  runStyle?: boolean;
  load: () => Promise<Handler>;
}

export interface GroupDef {
  name: string;
  description: string;
  /** Subcommands by every name they answer to (`ls`, `list`, `ps`). */
  commands: Record<string, CommandDef>;
}

export const formatFlag = (description = 'Format output using a custom template'): FlagSpec => ({ long: 'format', type: 'string', description });

/** `-f, --format` of the inspect commands. */
export const inspectFormatFlag: FlagSpec = { ...formatFlag(), short: 'f' };

export const filterFlag = (short?: string, description = 'Filter output based on conditions provided'): FlagSpec => ({ long: 'filter', short, type: 'filter', description });

export const quietFlag = (description: string): FlagSpec => ({ long: 'quiet', short: 'q', type: 'bool', description });

export const forceFlag = (description: string): FlagSpec => ({ long: 'force', short: 'f', type: 'bool', description });

/** `-a, --all` of the listings and prunes. */
export const allFlag = (description: string): FlagSpec => ({ long: 'all', short: 'a', type: 'bool', description });

/** `-d, --detach` of the commands that can leave a container or a command running. */
export const detachFlag = (description: string): FlagSpec => ({ long: 'detach', short: 'd', type: 'bool', description });

/** `--label` of the create commands that store labels as given (no `-l`, no check of the `key=value` form). */
export const labelFlag = (description: string): FlagSpec => ({ long: 'label', type: 'list', description });

/** `-o, --opt` of `network create` and `volume create`. */
export const driverOptsFlag: FlagSpec = { long: 'opt', short: 'o', type: 'list', description: 'Set driver specific options' };

/** `--no-cache` of `build` and `compose build`. */
export const noCacheFlag: FlagSpec = { long: 'no-cache', type: 'bool', description: 'Do not use cache when building the image' };

/** `--no-trunc` of the listings. */
export const noTruncFlag: FlagSpec = { long: 'no-trunc', type: 'bool', description: "Don't truncate output" };

/** `-o, --output` of the commands that write a tar archive to STDOUT by default. */
export const outputFileFlag: FlagSpec = { long: 'output', short: 'o', type: 'string', description: 'Write to a file, instead of STDOUT' };

/** `-c, --change` of commit and import. */
export const changeFlag: FlagSpec = { long: 'change', short: 'c', type: 'list', description: 'Apply Dockerfile instruction to the created image' };

/** A prune command's `--force`. */
export const pruneForceFlag = forceFlag('Do not prompt for confirmation');

/**
 * `<group> inspect` of one kind of object (docker's `volume inspect`, `network inspect`, …):
 * `[OPTIONS] VOLUME [VOLUME...]`, `-f, --format`, at least one name.
 */
export function inspectCommand(noun: string, load: CommandDef['load'], extra: Partial<CommandDef> = {}): CommandDef {
  const word = noun.toUpperCase();
  return {
    name: 'inspect',
    usage: `[OPTIONS] ${word} [${word}...]`,
    description: `Display detailed information on one or more ${noun}s`,
    flags: [inspectFormatFlag],
    args: { min: 1 },
    load,
    ...extra,
  };
}

/**
 * A `<group> prune` command: `[OPTIONS]`, no arguments, `-a, --all` when `all` describes it,
 * `--filter` when `filter` gives its example, `-f, --force`, then any `flags` of its own.
 */
export function pruneCommand(
  description: string,
  load: CommandDef['load'],
  options: { all?: string; filter?: string; flags?: FlagSpec[] } = {},
): CommandDef {
  const flags: FlagSpec[] = [];
  if (options.all) flags.push(allFlag(options.all));
  if (options.filter) flags.push(filterFlag(undefined, `Provide filter values (e.g. "${options.filter}")`));
  flags.push(pruneForceFlag, ...(options.flags ?? []));
  return { name: 'prune', usage: '[OPTIONS]', description, flags, args: { max: 0 }, load };
}

/** The group of one kind of object, with docker's `list` and `remove` aliases of its `ls` and `rm`. */
export function objectGroup(group: GroupDef): GroupDef {
  const { ls, rm } = group.commands;
  return {
    ...group,
    commands: { ...group.commands, ...(ls ? { list: withName(ls, 'list') } : {}), ...(rm ? { remove: withName(rm, 'remove') } : {}) },
  };
}

/** The exports of a handler module that are handlers. */
type HandlerName<M> = { [K in keyof M]: M[K] extends Handler ? K : never }[keyof M] & string;

/** A command of a handler module: its definition but the handler; flags default to none, args to argsOfUsage. */
export type CommandSpec = Omit<CommandDef, 'name' | 'load' | 'flags' | 'args'> & { flags?: FlagSpec[]; args?: ArgRule; name?: string };

/**
 * The argument rule a usage line states: each word after `[OPTIONS]` is one argument (`A|B`, also
 * `A | B`, is one), required unless in brackets, any number of them when it ends with `...`
 * (`CONTAINER [CONTAINER...]`: at least 1; `[SERVER]`: at most 1; `NETWORK CONTAINER`: exactly 2).
 */
export function argsOfUsage(usage: string): ArgRule {
  const words = usage.replace(/\s*\|\s*/g, '|').split(' ').filter((w) => w !== '' && w !== '[OPTIONS]');
  let min = 0;
  let max: number | undefined = 0;
  for (const word of words) {
    if (/\.\.\.\]?$/.test(word)) max = undefined;
    else if (max !== undefined) max++;
    if (!word.startsWith('[')) min++;
  }
  return { ...(min > 0 ? { min } : {}), ...(max !== undefined ? { max } : {}) };
}

/**
 * The command maker of one handler module (imported only when one of its commands runs):
 * `command('kill', spec)` is the command whose handler is the module's `kill`, named after it
 * unless `spec.name` says otherwise.
 */
export function commandsIn<M>(module: () => Promise<M>): (handler: HandlerName<M>, spec: CommandSpec) => CommandDef {
  return (handler, { name = handler, flags = [], args, ...rest }) => {
    let rule = args;
    return {
      name,
      flags,
      // Worked out when asked (the command that runs, its help): the ~150 commands' usages parsed
      // up front cost every command ~0.5 ms.
      get args() {
        return (rule ??= argsOfUsage(rest.usage));
      },
      ...rest,
      load: () => module().then((m) => m[handler] as Handler),
    };
  };
}

export const def = (d: CommandDef): CommandDef => d;

/** `d` under another name (an alias: `ls` → `list`), its lazy `args` (commandsIn) left lazy: copied by descriptor, not spread. */
export function withName(d: CommandDef, name: string): CommandDef {
  return Object.defineProperties({}, { ...Object.getOwnPropertyDescriptors(d), name: { value: name, enumerable: true, writable: true, configurable: true } }) as CommandDef;
}

export function isGroup(entry: CommandDef | GroupDef): entry is GroupDef {
  return 'commands' in entry;
}
