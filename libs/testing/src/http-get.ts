import { connect } from 'node:net';

/**
 * One HTTP/1.0 GET to 127.0.0.1:`port` (or `host`, e.g. a test host's address) over TCP (a
 * published container port), retried every 200 ms while the server starts (up to 30 times); the
 * raw response, headers included.
 */
export async function httpGet(port: number, options: { host?: string } = {}): Promise<string> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await new Promise<string>((resolve, reject) => {
        const socket = connect(port, options.host ?? '127.0.0.1');
        let data = '';
        socket.setTimeout(3_000, () => socket.destroy(new Error('timeout')));
        socket.on('connect', () => socket.write('GET / HTTP/1.0\r\n\r\n'));
        socket.on('data', (d) => (data += d));
        socket.on('end', () => resolve(data));
        socket.on('error', reject);
      });
    } catch (err) {
      if (attempt >= 30) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}
