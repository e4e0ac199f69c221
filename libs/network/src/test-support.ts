import { udpRequest } from '@berth/testing';
import { buildQuery, readAnswers } from './dns-message.js';

/** Tests' DNS client: one A query for `name` to `server`:53 over UDP, its answers (3 s timeout). */
export async function dnsAsk(server: string, name: string): Promise<ReturnType<typeof readAnswers>> {
  return readAnswers(await udpRequest(server, 53, buildQuery(1, name)));
}
