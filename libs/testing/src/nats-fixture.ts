import { connect, type NatsConnection } from 'nats';
import { startNatsServer, type NatsServer } from './nats-server.js';
import { tempDir, type TempDir } from './temp-dir.js';

/** A nats-server in its own temporary directory, and a connection to it. */
export interface NatsFixture extends AsyncDisposable {
  dir: TempDir;
  server: NatsServer;
  nc: NatsConnection;
  /** One more connection to the server (another service's, as a second gateway has); `stop()` closes it. */
  connect(): Promise<NatsConnection>;
  /** Closes the connections, stops the server and removes the directory. */
  stop(): Promise<void>;
}

/** Starts a NatsFixture (`beforeAll`); `stop()` it in `afterAll`. */
export async function startNatsFixture(): Promise<NatsFixture> {
  const dir = tempDir();
  let server: NatsServer | undefined;
  try {
    server = await startNatsServer(dir.path);
    const nc = await connect({ servers: server.url });
    const running = server;
    const others: NatsConnection[] = [];
    const another = async () => {
      const other = await connect({ servers: running.url });
      others.push(other);
      return other;
    };
    const stop = async () => {
      await Promise.all([nc, ...others].map((c) => c.close()));
      await running.stop();
      dir.remove();
    };
    return { dir, server, nc, connect: another, stop, [Symbol.asyncDispose]: stop };
  } catch (err) {
    await server?.stop();
    dir.remove();
    throw err;
  }
}
