import { connect } from 'node:net';

/**
 * For this library's tests: all a TCP server at host:port sends before it closes the connection,
 * retried every 100 ms (up to `attempts` tries) while the server starts or the forwarding appears.
 */
export async function readTcp(host: string, port: number, options: { attempts: number }): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await new Promise<string>((resolve, reject) => {
        const socket = connect(port, host);
        let data = '';
        socket.setTimeout(2_000, () => socket.destroy(new Error('timeout')));
        socket.on('data', (d) => (data += d));
        socket.on('end', () => resolve(data));
        socket.on('error', reject);
      });
    } catch (err) {
      if (attempt >= options.attempts) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
