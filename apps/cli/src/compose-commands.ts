import { isBerthError, messageOf } from '@berth/errors';
import { StatusError } from './cli-errors.js';
import { type CommandDef, formatFlag, type Handler, quietFlag } from './command-def.js';
import type { CliIo, CommandContext } from './context.js';
import { checkArgCount, FlagError, flagDisplayName, type FlagSpec, parseArgs, type ParsedArgs } from './flags.js';
import { composeControllerCommands } from './compose/command-table.js';

/**
 * `berth compose …`: Docker Compose's command line. Compose has options of its own before the
 * subcommand (`berth compose -f a.yaml -p demo config`), which every subcommand also accepts
 * (cobra's persistent flags), so the group is dispatched here rather than by cli.ts's generic
 * group code. Handlers live in ./commands/compose-*.ts and are imported only when their command
 * runs; `config` never loads gRPC and works without the platform.
 */

/** Compose's global options (docker compose --help), given before or after the subcommand. */
export const composeGlobalFlags: FlagSpec[] = [
  { long: 'file', short: 'f', type: 'list', description: 'Compose configuration files' },
  { long: 'project-name', short: 'p', type: 'string', description: 'Project name' },
  { long: 'project-directory', type: 'string', description: 'Specify an alternate working directory (default: the path of the, first specified, Compose file)' },
  { long: 'env-file', type: 'list', description: 'Specify an alternate environment file' },
  { long: 'profile', type: 'list', description: 'Specify a profile to enable' },
];

const configHandlers = () => import('./commands/compose-config.js');

export const composeCommands: Record<string, CommandDef> = {
  config: {
    name: 'config',
    usage: '[OPTIONS] [SERVICE...]',
    description: 'Parse, resolve and render compose file in canonical format',
    flags: [
      formatFlag('Format the output. Values: [yaml | json]'),
      quietFlag("Only validate the configuration, don't print anything"),
      { long: 'no-interpolate', type: 'bool', description: "Don't interpolate environment variables" },
      { long: 'services', type: 'bool', description: 'Print the service names, one per line.' },
      { long: 'volumes', type: 'bool', description: 'Print the volume names, one per line.' },
      { long: 'profiles', type: 'bool', description: 'Print the profile names, one per line.' },
      { long: 'images', type: 'bool', description: 'Print the image names, one per line.' },
      { long: 'hash', type: 'string', description: 'Print the service config hash, one per line.' },
      { long: 'output', short: 'o', type: 'string', description: 'Save to file (default to stdout)' },
    ],
    args: {},
    load: () => configHandlers().then((m) => m.config as Handler),
  },
  ...composeControllerCommands,
};

/** The global options a subcommand can take: its own short letters win (`logs -f`, `run -p`). */
function globalFlagsFor(command: CommandDef): FlagSpec[] {
  const own = new Set(command.flags.map((f) => f.short).filter(Boolean));
  return composeGlobalFlags.map((f) => (f.short && own.has(f.short) ? { ...f, short: undefined } : f));
}

function help(): string {
  const width = Math.max(...composeGlobalFlags.map((f) => flagDisplayName(f).length + (f.type === 'bool' ? 0 : f.type.length + 1)));
  const options = composeGlobalFlags
    .map((f) => {
      const name = `${flagDisplayName(f)}${f.type === 'bool' ? '' : ` ${f.type === 'list' ? 'stringArray' : f.type}`}`;
      return `  ${f.short ? '' : '    '}${name.padEnd(width + (f.short ? 4 : 0))}   ${f.description}`;
    })
    .join('\n');
  const commands = Object.values(composeCommands)
    .map((c) => `  ${c.name.padEnd(12)}${c.description}`)
    .join('\n');
  return `Usage:  berth compose [OPTIONS] COMMAND\n\nDefine and run multi-container applications with Berth\n\nOptions:\n${options}\n\nCommands:\n${commands}\n\nRun 'berth compose COMMAND --help' for more information on a command.\n`;
}

/** Runs `berth compose <words>`; resolves with the exit code. */
export async function composeCommand(words: string[], options: { io: CliIo; host: string }): Promise<number> {
  const { io } = options;
  const err = (text: string) => io.stderr.write(text.endsWith('\n') ? text : `${text}\n`);
  let global: ParsedArgs;
  try {
    global = parseArgs(composeGlobalFlags, words, { interspersed: false });
  } catch (e) {
    if (!(e instanceof FlagError)) throw e;
    err(`${e.message}\n\nRun 'berth compose --help' for more information`);
    return 125;
  }
  const [sub, ...rest] = global.args;
  if (sub === undefined || global.help || sub === 'help') {
    io.stdout.write(help());
    return 0;
  }
  const command = composeCommands[sub];
  if (!command) {
    err(`berth: unknown command: berth compose ${sub}\n\nRun 'berth compose --help' for more information`);
    return 1;
  }
  const path = `berth compose ${sub}`;
  let parsed: ParsedArgs;
  try {
    parsed = parseArgs([...command.flags, ...globalFlagsFor(command)], rest, { interspersed: command.interspersed !== false });
  } catch (e) {
    if (!(e instanceof FlagError)) throw e;
    err(`${e.message}\n\nUsage:  ${path} ${command.usage}\n\nRun '${path} --help' for more information`);
    return 125;
  }
  if (parsed.help) {
    const { commandHelp } = await import('./help.js');
    io.stdout.write(commandHelp({ ...command, flags: [...command.flags, ...globalFlagsFor(command)] }, path, { columns: io.stdout.isTTY ? io.stdout.columns : undefined }));
    return 0;
  }
  const bad = checkArgCount(command.args, parsed.args.length, path);
  if (bad) {
    err(`berth: ${bad.message}\n\nUsage:  ${path} ${command.usage}\n\nRun '${path} --help' for more information`);
    return 1;
  }
  // Options before the subcommand and after it add up (lists) or the later one wins (strings).
  for (const flag of composeGlobalFlags) {
    const before = global.values[flag.long];
    const after = parsed.values[flag.long];
    if (flag.type === 'list') parsed.values[flag.long] = [...(before as string[]), ...(after as string[])];
    else if (!parsed.changed.has(flag.long) && global.changed.has(flag.long)) parsed.values[flag.long] = before!;
    if (global.changed.has(flag.long)) parsed.changed.add(flag.long);
  }
  const ctx: CommandContext = { io, path, host: options.host, cleanup: [] };
  try {
    const handler = await command.load();
    return await handler(ctx, parsed);
  } catch (e) {
    if (e instanceof StatusError) {
      if (e.message) err(e.message);
      return e.exitCode;
    }
    err(isBerthError(e) ? e.message : messageOf(e));
    return 1;
  } finally {
    for (const fn of ctx.cleanup.reverse()) {
      try {
        fn();
      } catch {
        // cleanup must not hide the command's result
      }
    }
  }
}
