import { connect, type NatsConnection } from 'nats';
import { startNatsServer, type NatsServer } from './nats-server.js';
import { tempDir, type TempDir } from './temp-dir.js';

/** A nats-server in its own temporary directory, and a connection to it. */
export interface NatsFixture extends AsyncDisposable {
  dir: TempDir;
  server: NatsServer;
  nc: NatsConnection;
  /** Closes the connection, stops the server and removes the directory. */
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
    const stop = async () => {
      await nc.close();
      await running.stop();
      dir.remove();
    };
    return { dir, server, nc, stop, [Symbol.asyncDispose]: stop };
  } catch (err) {
    await server?.stop();
    dir.remove();
    throw err;
  }
}
