/**
 * The registry's command line:
 *   tsx apps/registry/src/main.ts [serve] [--listen host:port] [--root dir] [--auth none|basic|token] ...
 *   tsx apps/registry/src/main.ts gc --root DIR [--dry-run] [--grace 1h]
 * Flags are documented in config.ts. `serve` prints `registry listening on <url>` once ready.
 */
import { buildApp } from './app.js';
import { parseGcArgs, parseServeArgs } from './config.js';
import { garbageCollect } from './storage/gc.js';

async function serve(argv: string[]): Promise<void> {
  const { host, port, config } = await parseServeArgs(argv);
  const app = await buildApp(config);
  const address = await app.listen({ host, port });
  process.stdout.write(`registry listening on ${address}\n`);
  const stop = (signal: string): void => {
    app.log.info(`${signal}: shutting down`);
    app.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

async function gc(argv: string[]): Promise<void> {
  const options = parseGcArgs(argv);
  await garbageCollect(options.root, { ...options, log: (line) => process.stdout.write(`${line}\n`) });
}

const [command, ...rest] = process.argv.slice(2);
const run = command === 'gc' ? gc(rest) : command === 'serve' ? serve(rest) : serve(process.argv.slice(2));
run.catch((err: unknown) => {
  process.stderr.write(`registry: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
