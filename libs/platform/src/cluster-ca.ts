import { createPrivateKey, randomBytes, sign, verify, X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InternalError, InvalidArgumentError } from '@berth/errors';
import { runCommand } from '@berth/subprocess';
import { writeSecret } from './platform-secrets.js';

/**
 * The cluster's certificate authority and the certificates it signs (as Docker swarm's root CA):
 * the gateway reaches the agents and builders of other machines over TCP with mutual TLS, each
 * side proving itself with a certificate of this CA.
 *
 *   <secrets>/tls/ca.pem            the cluster CA's certificate (every host; a joined host gets it with its join)
 *   <secrets>/tls/ca-key.pem        its key: on the first host only, which signs joining hosts' CSRs
 *   <secrets>/tls/host.pem, host-key.pem
 *                                   this host's server certificate (SAN IP:<its --address>, serverAuth only)
 *                                   for its agent's and builder's TCP listeners; the key is made on the host
 *                                   and never leaves it
 *   <secrets>/tls/gateway.pem, gateway-key.pem
 *                                   the first host's gateway's client certificate (clientAuth only)
 *
 * Keys are EC P-256, made with the openssl command. A host's certificate is a server's only (its
 * extended key usage): an agent refuses it as a client, so a joined host cannot drive another's agent.
 */
export interface ClusterTls {
  dir: string;
  ca: string;
  caKey: string;
  cert: string;
  key: string;
  gatewayCert: string;
  gatewayKey: string;
}

export function clusterTlsOf(secretsDir: string): ClusterTls {
  const dir = join(secretsDir, 'tls');
  return {
    dir,
    ca: join(dir, 'ca.pem'),
    caKey: join(dir, 'ca-key.pem'),
    cert: join(dir, 'host.pem'),
    key: join(dir, 'host-key.pem'),
    gatewayCert: join(dir, 'gateway.pem'),
    gatewayKey: join(dir, 'gateway-key.pem'),
  };
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
const CERT_DAYS = '825';

async function openssl(args: string[], what: string, input?: string): Promise<string> {
  const res = await runCommand('openssl', args, input !== undefined ? { input } : {});
  if (res.code !== 0) throw new InternalError(`Cannot ${what}: ${res.stderr.toString().trim() || `openssl exited with ${res.code}`}`);
  return res.stdout.toString();
}

/** The SHA-256 fingerprint of a certificate (lowercase hex, no colons): what a join token pins. */
export function certificateFingerprint(pem: string): string {
  return new X509Certificate(pem).fingerprint256.replaceAll(':', '').toLowerCase();
}

/**
 * The first host's CA, its gateway's client certificate and its own server certificate for
 * `address`, each made when missing (the server certificate also when its address changed).
 */
export async function ensureClusterCa(secretsDir: string, host: { hostId: string; address: string }): Promise<ClusterTls> {
  const tls = clusterTlsOf(secretsDir);
  mkdirSync(tls.dir, { recursive: true, mode: 0o700 });
  if (!existsSync(tls.ca) || !existsSync(tls.caKey)) {
    await openssl(
      ['req', '-x509', ...EC_KEY, '-days', '3650', '-keyout', tls.caKey, '-out', tls.ca, '-subj', `/CN=berth cluster CA ${host.hostId.slice(0, 12)}`,
        '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'],
      'make the cluster CA',
    );
    rmSync(tls.gatewayCert, { force: true });
    rmSync(tls.cert, { force: true });
  }
  if (!existsSync(tls.gatewayCert) || !existsSync(tls.gatewayKey)) {
    const csr = await makeKeyAndCsr(tls.gatewayKey, 'berth gateway');
    writeFileSync(tls.gatewayCert, await signCsr(secretsDir, csr, { subject: 'berth gateway', usage: 'clientAuth' }), { mode: 0o600 });
  }
  if (!existsSync(tls.cert) || !existsSync(tls.key) || !certificateNames(readFileSync(tls.cert, 'utf8')).includes(`IP Address:${host.address}`)) {
    const csr = await makeKeyAndCsr(tls.key, host.hostId);
    writeFileSync(tls.cert, await signHostCsr(secretsDir, csr, host), { mode: 0o600 });
  }
  return tls;
}

function certificateNames(pem: string): string[] {
  return (new X509Certificate(pem).subjectAltName ?? '').split(', ');
}

/** Makes an EC P-256 key in `keyFile` (0600) and returns a CSR for it, subject CN=`commonName`. */
export async function makeKeyAndCsr(keyFile: string, commonName: string): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'berth-key-'));
  try {
    const tmpKey = join(dir, 'key.pem');
    const csr = await openssl(['req', '-new', ...EC_KEY, '-keyout', tmpKey, '-subj', `/CN=${commonName}`], 'make a TLS key and its signing request');
    writeSecret(keyFile, readFileSync(tmpKey, 'utf8'));
    return csr;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Signs a joining host's CSR with the cluster CA of `secretsDir` (the first host's): the CSR's own
 * signature must check (it proves the host holds the key) and its subject must be CN=`hostId`;
 * the certificate gets its subject and extensions from here, not from the CSR: CN=hostId, SAN
 * IP:`address`, serverAuth only. InvalidArgumentError for a bad CSR.
 */
export async function signHostCsr(secretsDir: string, csr: string, host: { hostId: string; address: string }): Promise<string> {
  const res = await runCommand('openssl', ['req', '-noout', '-verify', '-subject', '-nameopt', 'RFC2253'], { input: csr });
  // OpenSSL 3.0 exits 0 when the signature does not verify: only its "verify OK" counts.
  if (res.code !== 0 || !/verify OK/.test(res.stderr.toString())) throw new InvalidArgumentError(`Invalid certificate signing request of host "${host.hostId}": ${res.stderr.toString().trim().split('\n')[0]}`);
  const subject = res.stdout.toString().trim();
  if (subject !== `subject=CN=${host.hostId}`) {
    throw new InvalidArgumentError(`Invalid certificate signing request of host "${host.hostId}": its subject is "${subject.slice('subject='.length)}", expected "CN=${host.hostId}"`);
  }
  return signCsr(secretsDir, csr, { subject: host.hostId, usage: 'serverAuth', ip: host.address });
}

async function signCsr(secretsDir: string, csr: string, cert: { subject: string; usage: 'serverAuth' | 'clientAuth'; ip?: string }): Promise<string> {
  const tls = clusterTlsOf(secretsDir);
  const dir = mkdtempSync(join(tmpdir(), 'berth-csr-'));
  try {
    const ext = [
      'basicConstraints=critical,CA:FALSE',
      'keyUsage=critical,digitalSignature',
      `extendedKeyUsage=${cert.usage}`,
      ...(cert.ip !== undefined ? [`subjectAltName=IP:${cert.ip}`] : []),
    ];
    writeFileSync(join(dir, 'ext'), ext.join('\n') + '\n');
    writeFileSync(join(dir, 'csr.pem'), csr);
    return await openssl(
      ['x509', '-req', '-in', join(dir, 'csr.pem'), '-CA', tls.ca, '-CAkey', tls.caKey, '-set_serial', `0x${randomBytes(16).toString('hex')}`,
        '-days', CERT_DAYS, '-extfile', join(dir, 'ext'), '-subj', `/CN=${cert.subject}`],
      `sign the certificate of "${cert.subject}"`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Checks a certificate a joining host received: signed by `caPem`, for the key in `keyFile`, with
 * SAN IP:`address`. InvalidArgumentError saying what is wrong.
 */
export function checkHostCertificate(certPem: string, caPem: string, options: { keyFile: string; address: string }): void {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
  } catch (err) {
    throw new InvalidArgumentError(`The cluster sent an invalid certificate: ${(err as Error).message}`);
  }
  if (!cert.verify(new X509Certificate(caPem).publicKey)) throw new InvalidArgumentError('The certificate the cluster sent is not signed by its CA');
  if (!cert.checkPrivateKey(createPrivateKey(readFileSync(options.keyFile)))) throw new InvalidArgumentError("The certificate the cluster sent is not for this host's key");
  if (!certificateNames(certPem).includes(`IP Address:${options.address}`)) {
    throw new InvalidArgumentError(`The certificate the cluster sent is not for address "${options.address}" (${cert.subjectAltName ?? 'no names'})`);
  }
}

/** Signs `data` with the cluster CA's key (on the first host), base64: a joining host checks it with the CA its token pins. */
export function signWithClusterCa(secretsDir: string, data: string): string {
  return sign('sha256', Buffer.from(data), createPrivateKey(readFileSync(clusterTlsOf(secretsDir).caKey))).toString('base64');
}

/** Whether `sig` is the signature of `data` by the CA of `caPem`. */
export function signedByClusterCa(caPem: string, data: string, sig: string): boolean {
  try {
    return verify('sha256', Buffer.from(data), new X509Certificate(caPem).publicKey, Buffer.from(sig, 'base64'));
  } catch {
    return false;
  }
}
