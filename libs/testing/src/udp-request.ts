import { createSocket } from 'node:dgram';

/** One UDP datagram to `host`:`port` and the first reply to it; fails when none comes within 3 s. */
export function udpRequest(host: string, port: number, message: Buffer | string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = createSocket('udp4');
    const timer = setTimeout(() => (socket.close(), reject(new Error(`No UDP answer from ${host}:${port} within 3 s`))), 3_000);
    socket.on('message', (reply) => {
      clearTimeout(timer);
      socket.close();
      resolve(reply);
    });
    socket.send(message, port, host);
  });
}
