import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { DNS_TYPE_AAAA, RCODE_NXDOMAIN, RCODE_SERVFAIL, buildQuery, readAnswers } from './dns-message.js';
import { DnsServer, type DnsResolver } from './dns-server.js';

const servers: DnsServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function start(resolver: DnsResolver): Promise<DnsServer> {
  const server = await DnsServer.listen('127.0.0.1', 0, resolver);
  servers.push(server);
  return server;
}

function askUdp(port: number, name: string, type?: number): Promise<ReturnType<typeof readAnswers>> {
  return new Promise((resolve, reject) => {
    const socket = createSocket('udp4');
    const timer = setTimeout(() => (socket.close(), reject(new Error(`no answer for ${name} within 3 s`))), 3_000);
    socket.on('message', (reply) => {
      clearTimeout(timer);
      socket.close();
      resolve(readAnswers(reply));
    });
    socket.on('error', reject);
    socket.send(buildQuery(0x1234, name, type), port, '127.0.0.1');
  });
}

const names: Record<string, string[]> = { web: ['10.9.0.2', '10.9.0.3'], db: ['10.9.0.4'] };
const resolver = (upstreams: string[] = []): DnsResolver => ({
  lookup: (name) => names[name],
  upstreams: () => upstreams,
});

describe('DnsServer', () => {
  it('answers every A record of a name over UDP, case-insensitively, and an empty AAAA', async () => {
    const server = await start(resolver());
    expect(await askUdp(server.port, 'WEB')).toEqual({ rcode: 0, addresses: ['10.9.0.2', '10.9.0.3'] });
    expect(await askUdp(server.port, 'db', DNS_TYPE_AAAA)).toEqual({ rcode: 0, addresses: [] });
    expect(await askUdp(server.port, 'gone')).toEqual({ rcode: RCODE_NXDOMAIN, addresses: [] });
  });

  it('answers over TCP with length-prefixed messages', async () => {
    const server = await start(resolver());
    const reply = await new Promise<Buffer>((resolve, reject) => {
      const socket = connect(server.port, '127.0.0.1');
      const query = buildQuery(7, 'db');
      const length = Buffer.from([query.length >> 8, query.length & 255]);
      socket.write(Buffer.concat([length, query]));
      let data = Buffer.alloc(0);
      socket.on('data', (d) => {
        data = Buffer.concat([data, d]);
        if (data.length >= 2 && data.length >= 2 + data.readUInt16BE(0)) {
          socket.destroy();
          resolve(data.subarray(2));
        }
      });
      socket.on('error', reject);
    });
    expect(readAnswers(reply)).toEqual({ rcode: 0, addresses: ['10.9.0.4'] });
  });

  it('answers SERVFAIL when the resolver fails instead of leaving the client to time out', async () => {
    const server = await start({
      lookup: () => {
        throw new Error('database is locked');
      },
      upstreams: () => [],
    });
    expect(await askUdp(server.port, 'web')).toEqual({ rcode: RCODE_SERVFAIL, addresses: [] });
  });

  it('forwards other names to the upstream resolver and relays its answer', async () => {
    const upstream = await start({ lookup: (name) => (name === 'mirror.example' ? ['192.0.2.80'] : undefined), upstreams: () => [] });
    const server = await start(resolver([`127.0.0.1:${upstream.port}`]));
    expect(await askUdp(server.port, 'mirror.example')).toEqual({ rcode: 0, addresses: ['192.0.2.80'] });
    expect((await askUdp(server.port, 'other.example')).rcode).toBe(RCODE_NXDOMAIN);
  });
});
