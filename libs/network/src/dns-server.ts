import { createSocket, type Socket } from 'node:dgram';
import { createServer, type Server, type Socket as TcpSocket } from 'node:net';
import {
  DNS_CLASS_IN,
  DNS_TYPE_A,
  DNS_TYPE_AAAA,
  RCODE_FORMERR,
  RCODE_NXDOMAIN,
  RCODE_SERVFAIL,
  buildResponse,
  type DnsQuery,
  errorResponse,
  parseQuery,
} from './dns-message.js';

/** What the embedded DNS server asks about names (the network manager answers from its endpoints). */
export interface DnsResolver {
  /**
   * The addresses of `name` (lowercase, no final dot) for a query from `client` (its IPv4 address),
   * or undefined when the name is not a container, alias or service of the client's network.
   */
  lookup(name: string, client: string): string[] | undefined;
  /** The resolvers other names go to for this client (`host:port` or `host`); empty: NXDOMAIN. */
  upstreams(client: string): string[];
}

const forwardTimeoutMs = 2_000;

/**
 * Docker's embedded DNS server for one user-defined network: answers A (and empty AAAA) queries for
 * the network's containers and aliases, forwards every other name with a dot to the upstream
 * resolvers over UDP, and answers NXDOMAIN for other single-label names at once (an upstream
 * resolver cannot know them, and forwarding would only delay the failure). Serves UDP and TCP
 * (2-byte length prefix) on one address and port.
 */
export class DnsServer {
  private readonly tcpSockets = new Set<TcpSocket>();

  private constructor(
    private readonly udp: Socket,
    private readonly tcp: Server,
    private readonly resolver: DnsResolver,
  ) {}

  /** Binds UDP and TCP on `host:port` (port 0: any free port, same number for both when possible). */
  static async listen(host: string, port: number, resolver: DnsResolver): Promise<DnsServer> {
    const udp = createSocket({ type: 'udp4', reuseAddr: false });
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(port, host, () => {
        udp.off('error', reject);
        resolve();
      });
    });
    const tcp = createServer();
    try {
      await new Promise<void>((resolve, reject) => {
        tcp.once('error', reject);
        tcp.listen(udp.address().port, host, () => {
          tcp.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      udp.close();
      throw err;
    }
    const server = new DnsServer(udp, tcp, resolver);
    udp.on('message', (packet, rinfo) => {
      void server.answer(packet, rinfo.address).then((reply) => {
        if (reply) udp.send(reply, rinfo.port, rinfo.address);
      });
    });
    udp.on('error', () => {});
    tcp.on('connection', (socket) => server.serveTcp(socket));
    return server;
  }

  get port(): number {
    return this.udp.address().port;
  }

  async close(): Promise<void> {
    for (const socket of this.tcpSockets) socket.destroy();
    await Promise.all([
      new Promise<void>((resolve) => this.udp.close(() => resolve())),
      new Promise<void>((resolve) => this.tcp.close(() => resolve())),
    ]);
  }

  /** The reply to one query packet from `client`: every query gets one (FORMERR, SERVFAIL at worst). */
  async answer(packet: Buffer, client: string): Promise<Buffer | undefined> {
    let query;
    try {
      query = parseQuery(packet);
    } catch {
      return errorResponse(packet, RCODE_FORMERR);
    }
    try {
      return await this.resolve(packet, query, client);
    } catch {
      // The resolver failed (the metadata database unreadable for a moment, say): answer SERVFAIL,
      // as Docker does; a dropped query costs the client its whole timeout (busybox nslookup: 5 s).
      return buildResponse(packet, query, { rcode: RCODE_SERVFAIL });
    }
  }

  private async resolve(packet: Buffer, query: DnsQuery, client: string): Promise<Buffer> {
    const { name, type } = query.question;
    if (query.question.class === DNS_CLASS_IN && (type === DNS_TYPE_A || type === DNS_TYPE_AAAA)) {
      const addresses = this.resolver.lookup(name, client);
      if (addresses !== undefined) {
        return buildResponse(packet, query, { addresses: type === DNS_TYPE_A ? addresses : [] });
      }
    }
    const upstreams = this.resolver.upstreams(client);
    if (!name.includes('.') || upstreams.length === 0) return buildResponse(packet, query, { rcode: RCODE_NXDOMAIN });
    for (const upstream of upstreams) {
      const reply = await forwardUdp(packet, upstream).catch(() => undefined); // that upstream did not answer: the next one is asked
      if (reply) return reply;
    }
    return buildResponse(packet, query, { rcode: RCODE_SERVFAIL });
  }

  private serveTcp(socket: TcpSocket): void {
    this.tcpSockets.add(socket);
    socket.on('close', () => this.tcpSockets.delete(socket));
    socket.on('error', () => {});
    socket.setTimeout(10_000, () => socket.destroy());
    let pending = Buffer.alloc(0);
    socket.on('data', (data: Buffer) => {
      pending = Buffer.concat([pending, data]);
      while (pending.length >= 2 && pending.length >= 2 + pending.readUInt16BE(0)) {
        const packet = pending.subarray(2, 2 + pending.readUInt16BE(0));
        pending = pending.subarray(2 + packet.length);
        void this.answer(Buffer.from(packet), socket.remoteAddress?.replace(/^::ffff:/, '') ?? '').then((reply) => {
          if (!reply || socket.destroyed) return;
          const length = Buffer.alloc(2);
          length.writeUInt16BE(reply.length);
          socket.write(Buffer.concat([length, reply]));
        });
      }
    });
  }
}

/** Sends `packet` to `upstream` (`ip` or `ip:port`) over UDP; resolves with the reply with the same id. */
function forwardUdp(packet: Buffer, upstream: string): Promise<Buffer> {
  const [host, port = '53'] = upstream.split(':') as [string, string | undefined];
  return new Promise((resolve, reject) => {
    const socket = createSocket('udp4');
    const timer = setTimeout(() => finish(new Error(`DNS forward to ${upstream} timed out`)), forwardTimeoutMs);
    const finish = (err: Error | undefined, reply?: Buffer) => {
      clearTimeout(timer);
      socket.close();
      if (err) reject(err);
      else resolve(reply!);
    };
    socket.on('error', (err) => finish(err));
    socket.on('message', (reply) => {
      if (reply.length >= 2 && reply.readUInt16BE(0) === packet.readUInt16BE(0)) finish(undefined, reply);
    });
    socket.send(packet, Number(port), host);
  });
}
