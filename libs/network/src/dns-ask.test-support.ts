import { createSocket } from 'node:dgram';
import { buildQuery, readAnswers } from './dns-message.js';

/** Tests' DNS client: one A query for `name` to `server`:53 over UDP, its answers (3 s timeout). */
export function dnsAsk(server: string, name: string): Promise<ReturnType<typeof readAnswers>> {
  return new Promise((resolve, reject) => {
    const socket = createSocket('udp4');
    const timer = setTimeout(() => (socket.close(), reject(new Error('DNS timeout'))), 3_000);
    socket.on('message', (reply) => {
      clearTimeout(timer);
      socket.close();
      resolve(readAnswers(reply));
    });
    socket.send(buildQuery(1, name), 53, server);
  });
}
