import { isBerthError, messageOf } from '@berth/errors';
import { daemonMessage, isConnectionError, runFailureExitCode, StatusError } from './cli-errors.js';
import { type CommandDef, type GroupDef, isGroup, topLevel } from './commands.js';
import { type CliIo, type CommandContext, defaultHost } from './context.js';
import { checkArgCount, FlagError, flagDisplayName, type FlagSpec, parseArgs } from './flags.js';
import { FormatError } from './table-format.js';
import { berthVersion } from './version.js';

/**
 * The `berth` command line: global options, dispatch to a command, and the mapping of failures to
 * docker's messages and exit codes (125 for a bad command line, 1 for a failed operation, the
 * container's own status for run/exec/start -a, 126/127 when its command cannot run).
 */

const globalFlags: FlagSpec[] = [
  { long: 'host', short: 'H', type: 'string', description: 'Gateway address to connect to (unix:/path or host:port)' },
  { long: 'version', short: 'v', type: 'bool', description: 'Print version information and quit' },
];

/** Runs one command line (the words after `berth`) and resolves with the process exit code. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const err = (text: string) => io.stderr.write(text.endsWith('\n') ? text : `${text}\n`);
  let global;
  try {
    global = parseArgs(globalFlags, argv, { interspersed: false });
  } catch (e) {
    err(`${(e as Error).message}\n\nRun 'berth --help' for more information`);
    return 125;
  }
  if (global.values.version) {
    io.stdout.write(`Berth version ${berthVersion()}\n`);
    return 0;
  }
  const [name, ...rest] = global.args;
  if (name === undefined || global.help) {
    io.stdout.write(topLevelHelp());
    return 0;
  }
  const host = (global.values.host as string) || io.env.BERTH_HOST || defaultHost;

  if (name === 'platform') {
    // Owned by the lead (apps/cli/src/platform.ts); loaded only for this command.
    try {
      const { platformCommand } = (await import('./platform.js')) as { platformCommand: (argv: string[]) => Promise<number> };
      return await platformCommand(rest);
    } catch (e) {
      err(isBerthError(e) ? `Error: ${e.message}` : messageOf(e));
      return 1;
    }
  }
  if (name === 'compose') {
    // Compose has options before its subcommand; its dispatcher loads handlers lazily.
    const { composeCommand } = await import('./compose-commands.js');
    return composeCommand(rest, { io, host });
  }
  if (name === 'help') {
    io.stdout.write(topLevelHelp());
    return 0;
  }
  const entry = topLevel[name];
  if (!entry) {
    err(`berth: unknown command: berth ${name}\n\nRun 'berth --help' for more information`);
    return 1;
  }
  let command: CommandDef;
  let path = `berth ${name}`;
  let words = rest;
  if (isGroup(entry)) {
    const [sub, ...subRest] = rest;
    if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
      io.stdout.write(groupHelp(entry));
      return 0;
    }
    const found = entry.commands[sub];
    if (!found) {
      err(`berth: unknown command: berth ${name} ${sub}\n\nUsage:  berth ${name}\n\nRun 'berth ${name} --help' for more information`);
      return 1;
    }
    command = found;
    path = `berth ${name} ${sub}`;
    words = subRest;
  } else {
    command = entry;
  }
  return runCommand(command, path, words, { io, host });
}

async function runCommand(command: CommandDef, path: string, words: string[], options: { io: CliIo; host: string }): Promise<number> {
  const { io, host } = options;
  const err = (text: string) => io.stderr.write(text.endsWith('\n') ? text : `${text}\n`);
  const usageLine = `Usage:  ${path} ${command.usage}`;
  let parsed;
  try {
    parsed = parseArgs(command.flags, words, { interspersed: command.interspersed });
  } catch (e) {
    if (!(e instanceof FlagError)) throw e;
    err(`${e.message}\n\n${usageLine}\n\nRun '${path} --help' for more information`);
    return 125;
  }
  if (parsed.help) {
    io.stdout.write(commandHelp(command, path));
    return 0;
  }
  const bad = checkArgCount(command.args, parsed.args.length, path);
  if (bad) {
    err(`berth: ${bad.message}\n\n${usageLine}\n\n${bad.see ? 'See' : 'Run'} '${path} --help' for more information`);
    return 1;
  }
  const ctx: CommandContext = { io, path, host, cleanup: [] };
  try {
    const handler = await command.load();
    return await handler(ctx, parsed);
  } catch (e) {
    return reportFailure(e, { command, path, usageLine, ctx });
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

function reportFailure(e: unknown, o: { command: CommandDef; path: string; usageLine: string; ctx: CommandContext }): number {
  const { io, host } = o.ctx;
  const err = (text: string) => io.stderr.write(text.endsWith('\n') ? text : `${text}\n`);
  if (e instanceof FlagError) {
    // a flag value a handler validated (restart policy, env file, …)
    err(`${e.message}\n\n${o.usageLine}\n\nRun '${o.path} --help' for more information`);
    return 125;
  }
  if (e instanceof StatusError) {
    if (e.message) err(e.message);
    return e.exitCode;
  }
  if (e instanceof FormatError) {
    err(e.message);
    return 1;
  }
  if (o.command.runStyle) {
    // One line naming what went wrong (docker adds a help hint, which says nothing about a daemon error).
    err(`berth: ${daemonMessage(e, host)}`);
    return isBerthError(e) && !isConnectionError(e) ? runFailureExitCode(e.message) : 125;
  }
  if (isBerthError(e)) {
    err(daemonMessage(e, host));
    return 1;
  }
  // Local failures (a file that cannot be read, …) read as docker's plain errors.
  err(messageOf(e));
  return 1;
}

function flagTable(flags: FlagSpec[]): string {
  const typeName: Record<string, string> = { bool: '', string: 'string', list: 'list', int: 'int', bytes: 'bytes', decimal: 'decimal', filter: 'filter', duration: 'duration' };
  const visible = flags.filter((f) => !f.hidden).sort((a, b) => a.long.localeCompare(b.long));
  const left = visible.map((f) => {
    const name = f.short ? `  ${flagDisplayName(f)}` : `      --${f.long}`;
    const type = typeName[f.type];
    return type ? `${name} ${type}` : name;
  });
  const width = Math.max(0, ...left.map((l) => l.length));
  return visible
    .map((f, i) => {
      let description = f.description;
      if (f.default !== undefined && f.default !== false && f.default !== '' && f.default !== 0) {
        description += typeof f.default === 'string' ? ` (default "${f.default}")` : ` (default ${f.default})`;
      }
      return `${left[i]!.padEnd(width)}   ${description}`;
    })
    .join('\n');
}

/** docker's help layout for one command. */
export function commandHelp(command: CommandDef, path: string): string {
  const help: FlagSpec = { long: 'help', type: 'bool', description: 'Print usage' };
  return `Usage:  ${path} ${command.usage}\n\n${command.description}\n\nOptions:\n${flagTable([...command.flags, help])}\n`;
}

function groupHelp(group: GroupDef): string {
  const seen = new Set<CommandDef['load']>();
  const lines: string[] = [];
  // The first name of each command in the table is its own; the others are aliases.
  for (const [name, command] of Object.entries(group.commands)) {
    if (seen.has(command.load)) continue;
    seen.add(command.load);
    lines.push(`  ${name.padEnd(12)}${command.description}`);
  }
  lines.sort();
  return `Usage:  berth ${group.name} COMMAND\n\n${group.description}\n\nCommands:\n${lines.join('\n')}\n\nRun 'berth ${group.name} COMMAND --help' for more information on a command.\n`;
}

function topLevelHelp(): string {
  const commands: string[] = [];
  const groups: string[] = [];
  for (const [name, entry] of Object.entries(topLevel).sort(([a], [b]) => a.localeCompare(b))) {
    if (isGroup(entry)) groups.push(`  ${name.padEnd(12)}${entry.description}`);
    else commands.push(`  ${name.padEnd(12)}${entry.description}`);
  }
  groups.push(`  ${'compose'.padEnd(12)}Define and run multi-container applications`);
  groups.push(`  ${'platform'.padEnd(12)}Start, stop and check the Berth platform's services`);
  return [
    'Usage:  berth [OPTIONS] COMMAND',
    '',
    'A Docker-compatible container platform',
    '',
    'Management Commands:',
    ...groups,
    '',
    'Commands:',
    ...commands,
    '',
    'Global Options:',
    flagTable(globalFlags),
    '',
    "Run 'berth COMMAND --help' for more information on a command.",
    '',
  ].join('\n');
}
