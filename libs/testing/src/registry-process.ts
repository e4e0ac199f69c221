import { spawn, type ChildProcess } from 'node:child_process';
import { REPO_ROOT } from '@berth/platform';

/** Berth's registry (apps/registry) running as a real process. */
export interface RegistryProcess extends AsyncDisposable {
  /** `http://<address>:<port>` (or https with `--tls-self-signed`), as the registry printed it. */
  url: string;
  port: number;
  /** `127.0.0.1:<port>`: the domain of image references to it. */
  host: string;
  child: ChildProcess;
  /** Output so far (stdout + stderr), for failure messages. */
  output(): string;
  /** SIGKILL (crash) or SIGTERM (clean stop), then wait for the exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * Starts apps/registry/src/main.ts with `args` (e.g. `['--listen', '127.0.0.1:0', '--root', dir]`) as
 * a real process (node + tsx loader, no wrapper process, so a signal reaches the server itself) and
 * waits for its "registry listening on" line. Tests of other projects use this rather than importing
 * the app: libraries never import apps. A project whose unit tests start it lists `registry` in its
 * test inputs (project.json) so that Nx's cache sees registry changes. `command` replaces
 * `node --import tsx apps/registry/src/main.ts` (e.g. the bundle, as the platform runs it).
 */
export async function startRegistryProcess(args: string[], options: { timeoutMs?: number; command?: string[] } = {}): Promise<RegistryProcess> {
  const timeoutMs = options.timeoutMs ?? 20_000;
  const [program, ...programArgs] = options.command ?? [process.execPath, '--import', 'tsx', 'apps/registry/src/main.ts'];
  const child = spawn(program!, [...programArgs, ...args], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (signal: NodeJS.Signals = 'SIGTERM') => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    await exited;
  };
  let url: string;
  try {
    url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`registry did not start within ${timeoutMs} ms:\n${out}`)), timeoutMs);
      const onData = (chunk: Buffer) => {
        out += chunk.toString();
        const m = /registry listening on (\S+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`registry exited with ${code} before listening:\n${out}`));
      });
    });
  } catch (err) {
    await stop('SIGKILL');
    throw err;
  }
  const port = Number(new URL(url).port);
  return {
    url,
    port,
    host: `127.0.0.1:${port}`,
    child,
    output: () => out,
    stop,
    [Symbol.asyncDispose]: () => stop('SIGKILL'),
  };
}
