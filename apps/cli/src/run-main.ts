import { runCli } from './cli.js';

/**
 * The `berth` process: runs the command line and exits with its status. main.ts calls it under tsx;
 * the bundle's loader (launch/launch.ts) calls it from the bundle.
 */
export async function runMain(): Promise<never> {
  // `berth ps | head -1`: a closed pipe ends the command quietly, as for any Unix tool.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(0);
      throw err;
    });
  }
  const code = await runCli(process.argv.slice(2), {
    stdout: process.stdout,
    stderr: process.stderr,
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
