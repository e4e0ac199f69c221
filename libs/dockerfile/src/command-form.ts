/**
 * Exec form vs shell form, the way Docker turns RUN/CMD/ENTRYPOINT into argv.
 */
import { parseHeredocWord } from './line-parser.js';
import type { RunInstruction } from './types.js';

/** The default SHELL on Linux. */
export const defaultShell: readonly string[] = ['/bin/sh', '-c'];

/** Exec form is used as is; shell form becomes `[...shell, command]` (`SHELL` or `/bin/sh -c`). */
export function resolveCommandForm(command: readonly string[] | string, shell: readonly string[] = defaultShell): string[] {
  return typeof command === 'string' ? [...shell, command] : [...command];
}

export interface RunCommand {
  /** The argv of the step's process. */
  args: string[];
  /**
   * A script the builder must provide read-only at `path` (mode 0755) before running `args`:
   * BuildKit runs `RUN <<EOF` whose body starts with `#!` as a file under `/dev/pipes/`.
   */
  script?: { path: string; content: string };
}

/**
 * The argv for a RUN, heredocs included, exactly as BuildKit builds it:
 * - no heredoc: `resolveCommandForm`;
 * - the command is a single heredoc (`RUN <<EOF`): a body starting with `#!` is run as a script
 *   file (`/dev/pipes/EOF`), any other body is run by the shell (`[...shell, body]`);
 * - otherwise (`RUN python3 <<EOF`, several heredocs): the heredocs are put back after the command
 *   line and the whole text is given to the shell, which handles them natively.
 */
export function resolveRunCommand(run: Pick<RunInstruction, 'command' | 'heredocs'>, shell: readonly string[] = defaultShell): RunCommand {
  const { command, heredocs } = run;
  if (heredocs.length === 0 || typeof command !== 'string') return { args: resolveCommandForm(command, shell) };
  if (parseHeredocWord(command.trim())) {
    const doc = heredocs[0]!;
    if (doc.content.startsWith('#!')) {
      const path = `/dev/pipes/${doc.name}`;
      return { args: [path], script: { path, content: doc.content } };
    }
    return { args: [...shell, doc.content] };
  }
  let full = command;
  for (const doc of heredocs) full += '\n' + doc.content + doc.name;
  return { args: [...shell, full] };
}
