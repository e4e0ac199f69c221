import { join } from 'node:path';
import { isBerthError, messageOf } from '@berth/errors';
import { daemonMessage, isConnectionError, runFailureExitCode, StatusError } from './cli-errors.js';
import { type CommandDef, type GroupDef, isGroup } from './command-def.js';
import { topLevel } from './commands.js';
import { type CliIo, type CommandContext, defaultHost, type GatewayTls, printErr, printOut } from './context.js';
import { ContextError, resolveEndpoint, type Endpoint } from './context-store.js';
import { checkArgCount, FlagError, type FlagSpec, parseArgs } from './flags.js';
import { commandHelp, flagUsages } from './help.js';
import { FormatError } from './table-format.js';
import { homeDir } from './home-dir.js';
import { berthVersion } from './version.js';

/**
 * The `berth` command line: global options, dispatch to a command, and the mapping of failures to
 * docker's messages and exit codes (125 for a bad command line, 1 for a failed operation, the
 * container's own status for run/exec/start -a, 126/127 when its command cannot run).
 */

const globalFlags: FlagSpec[] = [
  {
    long: 'context',
    short: 'c',
    type: 'string',
    description: 'Name of the context to use to connect to the gateway (overrides BERTH_HOST env var and default context set with "berth context use")',
  },
  { long: 'host', short: 'H', type: 'string', description: 'Gateway address to connect to (unix:/path or host:port)' },
  { long: 'tlsverify', type: 'bool', description: 'Use TLS and verify the gateway (needed for a TCP -H; env BERTH_TLS_VERIFY)' },
  { long: 'tlscacert', type: 'string', description: 'Trust certs signed only by this CA (default "$BERTH_CERT_PATH/ca.pem")' },
  { long: 'tlscert', type: 'string', description: 'Path to TLS certificate file (default "$BERTH_CERT_PATH/cert.pem")' },
  { long: 'tlskey', type: 'string', description: 'Path to TLS key file (default "$BERTH_CERT_PATH/key.pem")' },
  { long: 'version', short: 'v', type: 'bool', description: 'Print version information and quit' },
];

/** TLS for the gateway from the global flags and BERTH_TLS_VERIFY / BERTH_CERT_PATH, as docker's. */
function gatewayTls(values: Record<string, unknown>, env: CliIo['env']): GatewayTls | undefined {
  const flag = (name: string) => (values[name] as string | undefined) || undefined;
  const explicit = flag('tlscacert') !== undefined || flag('tlscert') !== undefined || flag('tlskey') !== undefined;
  if (!values.tlsverify && !explicit && !env.BERTH_TLS_VERIFY) return undefined;
  const dir = env.BERTH_CERT_PATH || join(homeDir(env), '.berth');
  return {
    ca: flag('tlscacert') ?? join(dir, 'ca.pem'),
    cert: flag('tlscert') ?? join(dir, 'cert.pem'),
    key: flag('tlskey') ?? join(dir, 'key.pem'),
  };
}

/** Runs one command line (the words after `berth`) and resolves with the process exit code. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const err = (text: string) => printErr(io, text.endsWith('\n') ? text : `${text}\n`);
  let global;
  try {
    global = parseArgs(globalFlags, argv, { interspersed: false });
  } catch (e) {
    err(`${(e as Error).message}\n\nRun 'berth --help' for more information`);
    return 125;
  }
  if (global.values.version) {
    printOut(io, `Berth version ${berthVersion()}\n`);
    return 0;
  }
  const [name, ...rest] = global.args;
  if (name === undefined || global.help) {
    io.stdout.write(topLevelHelp());
    return 0;
  }
  let endpoint: Endpoint;
  try {
    endpoint = resolveEndpoint(
      { host: global.values.host as string, context: global.values.context as string, explicitTls: gatewayTls(global.values, io.env) },
      io.env,
    );
  } catch (e) {
    if (!(e instanceof ContextError)) throw e;
    // `berth context …` must still work to repair a current context that went missing.
    if (name !== 'context') {
      err(e.message);
      return 1;
    }
    endpoint = { context: 'default', host: io.env.BERTH_HOST || defaultHost };
  }
  const { host, tls, context: contextName } = endpoint;

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
  return runCommand(command, path, words, { io, host, tls, contextName });
}

async function runCommand(
  command: CommandDef,
  path: string,
  words: string[],
  options: { io: CliIo; host: string; tls?: GatewayTls; contextName: string },
): Promise<number> {
  const { io, host, tls, contextName } = options;
  const err = (text: string) => printErr(io, text.endsWith('\n') ? text : `${text}\n`);
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
    io.stdout.write(commandHelp(command, path, { columns: io.stdout.isTTY ? io.stdout.columns : undefined }));
    return 0;
  }
  const bad = checkArgCount(command.args, parsed.args.length, path);
  if (bad) {
    err(`berth: ${bad.message}\n\n${usageLine}\n\n${bad.see ? 'See' : 'Run'} '${path} --help' for more information`);
    return 1;
  }
  const ctx: CommandContext = { io, path, host, ...(tls ? { tls } : {}), contextName, cleanup: [] };
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
  const err = (text: string) => printErr(io, text.endsWith('\n') ? text : `${text}\n`);
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
    // An error with a code of its own (a missing device, …) is a create failure: 125, whatever its text.
    const ownCode = isBerthError(e) && e.code !== undefined && !e.code.startsWith('COMMAND_');
    return isBerthError(e) && !isConnectionError(e) && !ownCode ? runFailureExitCode(e.message) : 125;
  }
  if (isBerthError(e)) {
    err(daemonMessage(e, host));
    return 1;
  }
  // Local failures (a file that cannot be read, …) read as docker's plain errors.
  err(messageOf(e));
  return 1;
}

function groupHelp(group: GroupDef): string {
  const seen = new Set<CommandDef['load']>();
  const lines: string[] = [];
  // The first name of each command in the table is its own; the others are aliases.
  for (const [name, command] of Object.entries(group.commands)) {
    if (seen.has(command.load)) continue;
    seen.add(command.load);
    lines.push(`  ${name.padEnd(12)}${command.description.split('\n')[0]}`);
  }
  lines.sort();
  return `Usage:  berth ${group.name} COMMAND\n\n${group.description}\n\nCommands:\n${lines.join('\n')}\n\nRun 'berth ${group.name} COMMAND --help' for more information on a command.\n`;
}

function topLevelHelp(): string {
  const commands: string[] = [];
  const groups: string[] = [];
  for (const [name, entry] of Object.entries(topLevel).sort(([a], [b]) => a.localeCompare(b))) {
    if (isGroup(entry)) groups.push(`  ${name.padEnd(12)}${entry.description}`);
    else commands.push(`  ${name.padEnd(12)}${entry.description.split('\n')[0]}`);
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
    flagUsages(globalFlags, 79).trimEnd(),
    '',
    "Run 'berth COMMAND --help' for more information on a command.",
    '',
  ].join('\n');
}
