import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'nats';
import { describe, expect, it } from 'vitest';
import { natsTlsOptions } from '@berth/events';
import { startNatsServer, tempDir } from '@berth/testing';
import { certificateFingerprint, clusterTlsOf, ensureClusterCa, ensureHostCertificate } from './cluster-ca.js';
import { probeNatsCa } from './nats-ca-probe.js';

/** A cluster CA and a server certificate of it for 127.0.0.1, in `dir`/tls. */
async function makeCa(dir: string, hostId: string) {
  return ensureClusterCa(dir, { hostId, address: '127.0.0.1' });
}

/**
 * A server certificate for 127.0.0.1 that names `caFile`'s CA as its issuer (subject and key id),
 * signed by another key: what something between would send, followed by the real CA's certificate.
 */
function forgedLeaf(dir: string, caFile: string): { cert: string; key: string } {
  mkdirSync(dir, { recursive: true });
  const openssl = (args: string[], input?: string) => execFileSync('openssl', args, { cwd: dir, input, stdio: ['pipe', 'pipe', 'ignore'] }).toString();
  const keyId = /Subject Key Identifier:\s*([0-9A-F:]+)/.exec(openssl(['x509', '-in', caFile, '-noout', '-ext', 'subjectKeyIdentifier']))![1]!;
  const subject = openssl(['x509', '-in', caFile, '-noout', '-subject', '-nameopt', 'compat']).trim().replace(/^subject=/, '');
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(['req', '-x509', ...ec, '-keyout', 'ca-key.pem', '-out', 'ca.pem', '-subj', subject, '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-addext', `subjectKeyIdentifier=${keyId.replaceAll(':', '')}`]);
  const csr = openssl(['req', '-new', ...ec, '-keyout', 'key.pem', '-subj', '/CN=host-a']);
  writeFileSync(join(dir, 'ext'), 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\nauthorityKeyIdentifier=keyid\n');
  writeFileSync(join(dir, 'cert.pem'), openssl(['x509', '-req', '-CA', 'ca.pem', '-CAkey', 'ca-key.pem', '-set_serial', '7', '-days', '1', '-extfile', 'ext'], csr));
  return { cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') };
}

/** A nats-server config serving clients TLS with `cert` (a chain file) and `key`. */
function tlsConfig(cert: string, key: string): string {
  return `tls { cert_file: ${JSON.stringify(cert)}, key_file: ${JSON.stringify(key)}, timeout: 5 }\n`;
}

describe("a joining host's probe of the cluster's NATS CA", () => {
  it("takes the CA at the end of the server's chain when its digest is the token's, and a TLS connection with it works", async () => {
    await using dir = tempDir('berth-probe-');
    const tls = await makeCa(dir.path, 'host-a');
    const chain = join(dir.path, 'chain.pem');
    writeFileSync(chain, readFileSync(tls.cert, 'utf8') + readFileSync(tls.ca, 'utf8'));
    await using server = await startNatsServer(dir.path, { config: tlsConfig(chain, tls.key) });
    const ca = await probeNatsCa([server.url], certificateFingerprint(readFileSync(tls.ca, 'utf8')));
    expect(ca.trim()).toBe(readFileSync(tls.ca, 'utf8').trim());
    const nc = await connect({ servers: server.url, tls: natsTlsOptions(ca), reconnect: false, timeout: 5_000 });
    expect(nc.info?.tls_required).toBe(true);
    await nc.close();
    // A certificate of the same CA for another address does not pass for the server at 127.0.0.1.
    const elsewhere = join(dir.path, 'elsewhere');
    await ensureHostCertificate(dir.path, { hostId: 'host-c', address: '127.0.0.9', secretsDir: elsewhere });
    const wrong = clusterTlsOf(elsewhere);
    await using misnamed = await startNatsServer(join(dir.path, 'misnamed'), { config: tlsConfig(wrong.cert, wrong.key) });
    await expect(connect({ servers: misnamed.url, tls: natsTlsOptions(ca), reconnect: false, timeout: 5_000 })).rejects.toThrow(/IP: 127\.0\.0\.1 is not in the cert's list: 127\.0\.0\.9/);
  }, 30_000);

  it("refuses a server whose certificate is not of the token's CA, one that appends the token's CA to another's certificate, and one without TLS", async () => {
    await using dir = tempDir('berth-probe-');
    const ours = await makeCa(join(dir.path, 'ours'), 'host-a');
    const theirs = await makeCa(join(dir.path, 'theirs'), 'host-b');
    const pinned = certificateFingerprint(readFileSync(ours.ca, 'utf8'));
    const other = certificateFingerprint(readFileSync(theirs.ca, 'utf8'));

    // Another cluster's server (its own chain).
    const theirChain = join(dir.path, 'their-chain.pem');
    writeFileSync(theirChain, readFileSync(theirs.cert, 'utf8') + readFileSync(theirs.ca, 'utf8'));
    await using another = await startNatsServer(join(dir.path, 'another'), { config: tlsConfig(theirChain, theirs.key) });
    await expect(probeNatsCa([another.url], pinned)).rejects.toThrow(
      `The cluster's NATS at ${another.url} has a certificate of CA sha256:${other} (berth cluster CA host-b), not of the join token's CA sha256:${pinned}: the token is for another cluster, or something between passes for this one`,
    );

    // Something between that sends the cluster's (public) CA certificate after a certificate of its own.
    const spliced = join(dir.path, 'spliced.pem');
    const twin = forgedLeaf(join(dir.path, 'twin'), ours.ca);
    writeFileSync(spliced, readFileSync(twin.cert, 'utf8') + readFileSync(ours.ca, 'utf8'));
    await using impostor = await startNatsServer(join(dir.path, 'impostor'), { config: tlsConfig(spliced, twin.key) });
    await expect(probeNatsCa([impostor.url], pinned)).rejects.toThrow(
      `The cluster's NATS at ${impostor.url} sent the join token's CA, but its own certificate is not signed by it: something between passes for the cluster`,
    );

    // A server that does not send its chain: the CA cannot be read, so it is not the token's.
    await using bare = await startNatsServer(join(dir.path, 'bare'), { config: tlsConfig(ours.cert, ours.key) });
    await expect(probeNatsCa([bare.url], pinned)).rejects.toThrow(`not of the join token's CA sha256:${pinned}`);

    // Plain NATS: nothing to pin.
    await using plain = await startNatsServer(join(dir.path, 'plain'));
    await expect(probeNatsCa([plain.url], pinned)).rejects.toThrow(`The cluster's NATS at ${plain.url} offers no TLS: the join token's CA cannot be checked`);

    // Nobody listening: unavailable, naming every URL.
    await expect(probeNatsCa(['nats://127.0.0.1:1'], pinned)).rejects.toThrow("Cannot reach the cluster's NATS at nats://127.0.0.1:1: connect ECONNREFUSED");
  }, 60_000);
});
