import { X509Certificate } from 'node:crypto';
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type DetailedPeerCertificate } from 'node:tls';
import { InvalidArgumentError, UnavailableError } from '@berth/errors';

/**
 * The pinning of a token join (cluster-join.ts): before the joining host sends its credential (the
 * join key's signature of the server's nonce, in CONNECT) it learns, from the TLS handshake itself,
 * which CA the cluster's nats-server is certified by, and goes on only if that CA's SHA-256 is the
 * one its token names. As swarm's join, pinned by the token's digest.
 *
 * nats-server 2.9 has no TLS-first (2.10.3's `handshake_first`): it sends INFO in plain text, then
 * the client starts TLS. So the probe reads the INFO line, starts TLS on the same socket without
 * trusting anyone (it has no CA yet), takes the chain the server sends (nats-server.pem has the
 * CA after the host's certificate, nats-tls.ts), and keeps the CA whose digest is the token's,
 * once it checked that the server's certificate is signed by it and names the address dialled.
 * It sends nothing but the TLS handshake and closes. The real connection then verifies with that
 * CA as any TLS client does (nats.js `tls: { ca }`).
 */

const PROBE_TIMEOUT_MS = 5_000;

/**
 * The cluster CA (PEM) of the first of `urls` that answers, when its SHA-256 is `fingerprint`
 * (lowercase hex). InvalidArgumentError when the server's certificate is not of that CA (or it
 * offers no TLS); UnavailableError when none answers.
 */
export async function probeNatsCa(urls: string[], fingerprint: string): Promise<string> {
  const failures: string[] = [];
  for (const url of urls) {
    const { hostname, port } = new URL(url);
    let chain: DetailedPeerCertificate;
    try {
      chain = await peerChain(hostname, Number(port));
    } catch (err) {
      if (err instanceof InvalidArgumentError) throw new InvalidArgumentError(`The cluster's NATS at ${url} ${err.message}`);
      failures.push((err as Error).message);
      continue;
    }
    return pinnedCa(url, chain, fingerprint);
  }
  throw new UnavailableError(`Cannot reach the cluster's NATS at ${urls.join(',')}: ${failures.join('; ')}`);
}

/** The CA of `chain` whose digest is `fingerprint`, checked against the server's certificate. */
function pinnedCa(url: string, chain: DetailedPeerCertificate, fingerprint: string): string {
  const certs: DetailedPeerCertificate[] = [];
  for (let c: DetailedPeerCertificate | undefined = chain; c !== undefined && !certs.includes(c); c = c.issuerCertificate) certs.push(c);
  const digest = (c: DetailedPeerCertificate) => c.fingerprint256.replaceAll(':', '').toLowerCase();
  const pinned = certs.find((c) => digest(c) === fingerprint);
  const { hostname } = new URL(url);
  if (pinned === undefined || pinned === chain) {
    const top = certs[certs.length - 1]!;
    throw new InvalidArgumentError(
      `The cluster's NATS at ${url} has a certificate of CA sha256:${digest(top)} (${top.subject?.CN ?? 'no name'}), not of the join token's CA sha256:${fingerprint}: the token is for another cluster, or something between passes for this one`,
    );
  }
  const ca = new X509Certificate(pinned.raw);
  const leaf = new X509Certificate(chain.raw);
  if (!leaf.verify(ca.publicKey)) {
    throw new InvalidArgumentError(`The cluster's NATS at ${url} sent the join token's CA, but its own certificate is not signed by it: something between passes for the cluster`);
  }
  if (leaf.checkIP(hostname) === undefined) {
    throw new InvalidArgumentError(`The cluster's NATS at ${url} has a certificate of the join token's CA for another address (${leaf.subjectAltName ?? 'no names'})`);
  }
  return ca.toString();
}

/** Dials a nats-server, reads its INFO, starts TLS trusting nobody and returns the chain it sent. */
async function peerChain(host: string, port: number): Promise<DetailedPeerCertificate> {
  const socket = netConnect({ host, port });
  try {
    return await withTimeout(
      (async () => {
        await new Promise<void>((resolve, reject) => {
          socket.once('connect', resolve);
          socket.once('error', reject);
        });
        const info = await readInfo(socket);
        if (info.tls_required !== true && info.tls_available !== true) {
          throw new InvalidArgumentError('offers no TLS: the join token\'s CA cannot be checked (its first host must run a Berth whose NATS speaks TLS)');
        }
        return await new Promise<DetailedPeerCertificate>((resolve, reject) => {
          // No CA yet: the chain is checked by pinnedCa, and nothing but the handshake is sent.
          const tls = tlsConnect({ socket, rejectUnauthorized: false });
          tls.once('secureConnect', () => {
            resolve(tls.getPeerCertificate(true));
            tls.destroy();
          });
          tls.once('error', reject);
        });
      })(),
      `no TLS handshake within ${PROBE_TIMEOUT_MS / 1000} s`,
    );
  } finally {
    socket.destroy();
  }
}

/** The server's first line, `INFO {…}\r\n`, parsed (nats.js reads it the same way before it starts TLS). */
async function readInfo(socket: Socket): Promise<{ tls_required?: boolean; tls_available?: boolean }> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    const done = (err: Error | undefined, info?: { tls_required?: boolean }) => {
      socket.off('data', onData);
      socket.off('close', onClose);
      if (err) reject(err);
      else resolve(info!);
    };
    const notNats = () => new UnavailableError('it is not a NATS server (no INFO line)');
    const onClose = () => done(new UnavailableError('it closed the connection before its INFO line'));
    const onData = (chunk: Buffer) => {
      buffered += chunk.toString('latin1');
      const end = buffered.indexOf('\r\n');
      if (end === -1) {
        if (buffered.length > 64 * 1024) done(notNats());
        return;
      }
      const line = buffered.slice(0, end);
      if (!line.startsWith('INFO ')) return done(notNats());
      try {
        done(undefined, JSON.parse(line.slice('INFO '.length)) as { tls_required?: boolean });
      } catch {
        done(notNats());
      }
    };
    socket.on('data', onData);
    socket.once('close', onClose);
  });
}

async function withTimeout<T>(work: Promise<T>, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([work, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new UnavailableError(message)), PROBE_TIMEOUT_MS)))]);
  } finally {
    clearTimeout(timer);
  }
}
