import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it, onTestFinished } from 'vitest';
import { createTestNetwork } from '@berth/testing';
import { reserveNetnsPorts } from './netns-ports.js';

/** Runs `sh -c script` in the network namespace `netns`; its stdout. */
function inNetns(netns: string, command: string[]): string {
  const r = spawnSync('nsenter', [`--net=/run/netns/${netns}`, '--', ...command], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${command.join(' ')} in ${netns} exited with ${r.status}: ${r.stderr}`);
  return r.stdout.trim();
}

// In the namespace: three listeners, one connection to each, kept open, then a listener on
// 127.0.0.1:PORT, as a service that was given PORT binds it once connections are under way.
const probe = `
const net = require('node:net');
const port = Number(process.argv[1]);
const listen = (p) => new Promise((resolve) => { const s = net.createServer(); s.once('error', (e) => resolve(e.code)); s.listen(p, '127.0.0.1', () => resolve(s)); });
(async () => {
  const servers = await Promise.all([39001, 39002, 39003].map(listen));
  const clients = await Promise.all([39001, 39002, 39003].map((p) => new Promise((resolve) => { const c = net.connect(p, '127.0.0.1', () => resolve(c)); })));
  const service = await listen(port);
  console.log(JSON.stringify({ sources: clients.map((c) => c.localPort), service: typeof service === 'string' ? service : 'listening' }));
  process.exit(0);
})();
`;

describe('reserveNetnsPorts', () => {
  it('keeps a service\'s port from the outgoing connections of its network namespace, and adds to the namespace\'s list only', async () => {
    const network = createTestNetwork();
    onTestFinished(() => network.remove());
    const { netns } = network.addHost(1);
    const rootBefore = readFileSync('/proc/sys/net/ipv4/ip_local_reserved_ports', 'utf8');
    // Two ephemeral ports in the namespace: the kernel gives connections the even one first.
    inNetns(netns, ['sh', '-c', 'echo "40000 40001" > /proc/sys/net/ipv4/ip_local_port_range']);

    reserveNetnsPorts(netns, [40000]);
    reserveNetnsPorts(netns, [40000, 41000]); // again at the next `platform up`, with another port
    expect(inNetns(netns, ['cat', '/proc/sys/net/ipv4/ip_local_reserved_ports'])).toBe('40000,41000');
    expect(readFileSync('/proc/sys/net/ipv4/ip_local_reserved_ports', 'utf8')).toBe(rootBefore);

    // Connections get the other port; the service binds its own.
    expect(JSON.parse(inNetns(netns, [process.execPath, '-e', probe, '40000']))).toEqual({ sources: [40001, 40001, 40001], service: 'listening' });
  });

  it('says which namespace it could not reserve the ports in', () => {
    expect(() => reserveNetnsPorts('bt-none', [40000])).toThrow(/^Cannot reserve the ports 40000 in network namespace "bt-none": nsenter: /);
  });
});
