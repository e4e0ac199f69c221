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
    stdin: process.stdin,
    env: process.env,
    signals: process,
  });
  process.exit(code);
}
