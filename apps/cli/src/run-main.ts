import { runCli } from './cli.js';
import { StdOutput } from './std-output.js';

/**
 * The `berth` process: runs the command line and exits with its status. main.ts calls it under tsx;
 * the bundle's loader (launch/launch.ts) calls it from the bundle.
 */
export async function runMain(): Promise<never> {
  // Standard output and error: written at once while no command needs Node's streams for them
  // (std-output.ts), made only when one does; a closed pipe (`berth ps | head -1`) ends the command quietly.
  const std = new StdOutput();
  const code = await runCli(process.argv.slice(2), {
    get stdout() {
      return std.stream(1);
    },
    get stderr() {
      return std.stream(2);
    },
    print: (fd, text) => std.print(fd, text),
    // Made when a command first reads it (`run -i`, `load`, a prune's prompt, …): Node makes
    // process.stdin at first use, and from a file or /dev/null that is an fs stream that loads
    // fs/promises, readline and Node's file watchers — 8 modules `ps`, `inspect` and `rm` need not
    // load (bench/README.md, "ps, inspect, rm: only the messages they use").
    get stdin() {
      return process.stdin;
    },
    env: process.env,
    signals: process,
  });
  process.exit(code);
}
