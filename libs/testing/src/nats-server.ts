import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, waitForPort } from './ports.js';

export interface NatsServer extends AsyncDisposable {
  url: string;
  port: number;
  process: ChildProcess;
  stop(): Promise<void>;
}

/**
 * Starts a real nats-server with JetStream on a random loopback port (or `port`: to restart one
 * where it was), storing under `dir`. No authentication: the platform's own server has it (see
 * libs/platform's platform-secrets.ts).
 */
export async function startNatsServer(dir: string, options: { port?: number; config?: string } = {}): Promise<NatsServer> {
  const port = options.port ?? (await freePort());
  const storeDir = join(dir, 'nats');
  mkdirSync(storeDir, { recursive: true });
  // `config`: nats-server configuration text (users and their permissions, for tests of those).
  const configFile = join(dir, 'nats-test.conf');
  if (options.config) writeFileSync(configFile, options.config, { mode: 0o600 });
  const child = spawn('nats-server', [...(options.config ? ['-c', configFile] : []), '-a', '127.0.0.1', '-p', String(port), '-js', '-sd', storeDir], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  try {
    await waitForPort(port);
  } catch (err) {
    child.kill('SIGKILL');
    throw new Error(`nats-server did not start: ${stderr}`, { cause: err });
  }
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  };
  return { url: `nats://127.0.0.1:${port}`, port, process: child, stop, [Symbol.asyncDispose]: stop };
}
