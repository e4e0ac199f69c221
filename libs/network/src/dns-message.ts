import { InvalidArgumentError } from '@berth/errors';
import { parseIp } from './ipv4.js';

/**
 * The little of the DNS wire format (RFC 1035) the embedded server needs: read a query's header and
 * question, write an answer with A records. Everything else is forwarded as raw bytes.
 */

export const DNS_TYPE_A = 1;
export const DNS_TYPE_AAAA = 28;
export const DNS_CLASS_IN = 1;

export const RCODE_NOERROR = 0;
export const RCODE_FORMERR = 1;
export const RCODE_SERVFAIL = 2;
export const RCODE_NXDOMAIN = 3;

export interface DnsQuestion {
  /** Lowercase, without the final dot: `web`, `db.example.com`. */
  name: string;
  type: number;
  class: number;
}

export interface DnsQuery {
  id: number;
  /** The header flags word as received (opcode, RD). */
  flags: number;
  question: DnsQuestion;
  /** Offset of the first byte after the question (answers are written after a copy up to here). */
  questionEnd: number;
}

/** Parses a query with exactly one question. InvalidArgumentError for anything else. */
export function parseQuery(packet: Buffer): DnsQuery {
  if (packet.length < 12) throw new InvalidArgumentError('DNS message too short');
  const id = packet.readUInt16BE(0);
  const flags = packet.readUInt16BE(2);
  if (flags & 0x8000) throw new InvalidArgumentError('DNS message is not a query');
  if (packet.readUInt16BE(4) !== 1) throw new InvalidArgumentError('DNS query must have one question');
  const labels: string[] = [];
  let offset = 12;
  for (;;) {
    const length = packet[offset];
    if (length === undefined) throw new InvalidArgumentError('DNS name runs past the message');
    offset++;
    if (length === 0) break;
    if (length > 63) throw new InvalidArgumentError('DNS name compression is not allowed in a question');
    if (offset + length > packet.length) throw new InvalidArgumentError('DNS name runs past the message');
    labels.push(packet.toString('latin1', offset, offset + length));
    offset += length;
  }
  if (offset + 4 > packet.length) throw new InvalidArgumentError('DNS question runs past the message');
  return {
    id,
    flags,
    question: { name: labels.join('.').toLowerCase(), type: packet.readUInt16BE(offset), class: packet.readUInt16BE(offset + 2) },
    questionEnd: offset + 4,
  };
}

/**
 * The answer to `query` (recursion available, RD copied): `rcode` and one A record per address,
 * with a compression pointer to the question's name. Additional records of the query (EDNS) are
 * dropped.
 */
export function buildResponse(packet: Buffer, query: DnsQuery, options: { rcode?: number; addresses?: string[]; ttl?: number }): Buffer {
  const addresses = options.addresses ?? [];
  const header = Buffer.alloc(12);
  header.writeUInt16BE(query.id, 0);
  // QR=1, opcode from the query, AA=1 for our own names, RD copied, RA=1.
  const opcode = query.flags & 0x7800;
  const rd = query.flags & 0x0100;
  header.writeUInt16BE(0x8000 | opcode | 0x0400 | rd | 0x0080 | ((options.rcode ?? RCODE_NOERROR) & 0xf), 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(addresses.length, 6);
  const question = packet.subarray(12, query.questionEnd);
  const answers = addresses.map((address) => {
    const rr = Buffer.alloc(16);
    rr.writeUInt16BE(0xc00c, 0); // pointer to the name at offset 12
    rr.writeUInt16BE(DNS_TYPE_A, 2);
    rr.writeUInt16BE(DNS_CLASS_IN, 4);
    rr.writeUInt32BE(options.ttl ?? 600, 6);
    rr.writeUInt16BE(4, 10);
    rr.writeUInt32BE(parseIp(address), 12);
    return rr;
  });
  return Buffer.concat([header, question, ...answers]);
}

/** A bare error answer when even the question cannot be read: the id and rcode only. */
export function errorResponse(packet: Buffer, rcode: number): Buffer | undefined {
  if (packet.length < 12) return undefined;
  const header = Buffer.alloc(12);
  header.writeUInt16BE(packet.readUInt16BE(0), 0);
  header.writeUInt16BE(0x8000 | (packet.readUInt16BE(2) & 0x7900) | 0x0080 | rcode, 2);
  return header;
}

/** A query for `name` (tests and health checks). */
export function buildQuery(id: number, name: string, type = DNS_TYPE_A): Buffer {
  const labels = name.split('.').filter(Boolean);
  const parts = [Buffer.from([id >> 8, id & 255, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0])];
  for (const label of labels) parts.push(Buffer.from([label.length]), Buffer.from(label, 'latin1'));
  parts.push(Buffer.from([0, type >> 8, type & 255, 0, DNS_CLASS_IN]));
  return Buffer.concat(parts);
}

/** The rcode and A-record addresses of a response (tests). */
export function readAnswers(packet: Buffer): { rcode: number; addresses: string[] } {
  const rcode = packet.readUInt16BE(2) & 0xf;
  const qd = packet.readUInt16BE(4);
  const an = packet.readUInt16BE(6);
  let offset = 12;
  const skipName = () => {
    for (;;) {
      const length = packet[offset]!;
      if ((length & 0xc0) === 0xc0) {
        offset += 2;
        return;
      }
      offset += length + 1;
      if (length === 0) return;
    }
  };
  for (let i = 0; i < qd; i++) {
    skipName();
    offset += 4;
  }
  const addresses: string[] = [];
  for (let i = 0; i < an; i++) {
    skipName();
    const type = packet.readUInt16BE(offset);
    const length = packet.readUInt16BE(offset + 8);
    if (type === DNS_TYPE_A && length === 4) addresses.push([...packet.subarray(offset + 10, offset + 14)].join('.'));
    offset += 10 + length;
  }
  return { rcode, addresses };
}
