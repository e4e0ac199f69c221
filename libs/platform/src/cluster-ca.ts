import { createPrivateKey, randomBytes, sign, verify, X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InternalError, InvalidArgumentError } from '@berth/errors';
import { runCommand } from '@berth/subprocess';
import { writeSecret } from './secret-files.js';

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
 *   <secrets>/tls/nats-server.pem   host.pem followed by ca.pem: what this host's nats-server serves
 *                                   clients with, its chain included (nats-tls.ts)
 *   <secrets>/tls/route-ca.pem, route-ca-key.pem
 *                                   a CA of its own for the NATS routes between the cluster's
 *                                   nats-servers (key on the first host only); route.pem, route-key.pem:
 *                                   this host's route certificate (clientAuth and serverAuth, SAN IP)
 *
 * Keys are EC P-256, made with the openssl command. A host's certificate is a server's only (its
 * extended key usage): an agent refuses it as a client, so a joined host cannot drive another's agent.
 * A route certificate must be a client's too (each nats-server dials the others): it is signed by
 * the route CA, which no agent trusts, so it does not open an agent either.
 */
export interface ClusterTls {
  dir: string;
  ca: string;
  caKey: string;
  cert: string;
  key: string;
  gatewayCert: string;
  gatewayKey: string;
  natsServerCert: string;
  routeCa: string;
  routeCaKey: string;
  routeCert: string;
  routeKey: string;
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
    natsServerCert: join(dir, 'nats-server.pem'),
    routeCa: join(dir, 'route-ca.pem'),
    routeCaKey: join(dir, 'route-ca-key.pem'),
    routeCert: join(dir, 'route.pem'),
    routeKey: join(dir, 'route-key.pem'),
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
  if (await ensureCa({ cert: tls.ca, key: tls.caKey }, `berth cluster CA ${host.hostId.slice(0, 12)}`)) {
    rmSync(tls.gatewayCert, { force: true });
    rmSync(tls.cert, { force: true });
  }
  if (!existsSync(tls.gatewayCert) || !existsSync(tls.gatewayKey)) {
    const csr = await makeKeyAndCsr(tls.gatewayKey, 'berth gateway');
    writeFileSync(tls.gatewayCert, await signCsr(tls, csr, { subject: 'berth gateway', usage: 'clientAuth' }), { mode: 0o600 });
  }
  await ensureHostCertificate(secretsDir, { ...host, secretsDir });
  return tls;
}

/**
 * The server certificate (`host.pem`, `host-key.pem`) of the host whose secrets are `host.secretsDir`,
 * signed by the cluster CA of `caSecretsDir` (the first host's), made when missing or for another
 * address. On one machine the first host signs its own and its `platform join --cluster` hosts'.
 */
export async function ensureHostCertificate(caSecretsDir: string, host: { hostId: string; address: string; secretsDir: string }): Promise<void> {
  const tls = clusterTlsOf(host.secretsDir);
  mkdirSync(tls.dir, { recursive: true, mode: 0o700 });
  if (existsSync(tls.cert) && existsSync(tls.key) && certificateHasIp(readFileSync(tls.cert, 'utf8'), host.address)) return;
  const csr = await makeKeyAndCsr(tls.key, host.hostId);
  writeFileSync(tls.cert, await signHostCsr(caSecretsDir, csr, host), { mode: 0o600 });
}

/** Makes a CA (`cert`, `key`) with subject CN=`commonName` unless both files exist. @returns whether it made one */
async function ensureCa(files: { cert: string; key: string }, commonName: string): Promise<boolean> {
  if (existsSync(files.cert) && existsSync(files.key)) return false;
  await openssl(
    ['req', '-x509', ...EC_KEY, '-days', '3650', '-keyout', files.key, '-out', files.cert, '-subj', `/CN=${commonName}`,
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'],
    `make the ${commonName}`,
  );
  return true;
}

/**
 * A route certificate for the nats-server of `host`, its key made in `host.keyFile` (on one machine,
 * the first host makes a joined host's): signRouteCsr.
 */
export async function signRouteCertificate(secretsDir: string, host: { hostId: string; address: string; keyFile: string }): Promise<string> {
  return signRouteCsr(secretsDir, await makeKeyAndCsr(host.keyFile, `berth route ${host.hostId}`), host);
}

/**
 * Signs the route CSR of `host`'s nats-server (subject CN=`berth route <host id>`) with the route CA
 * of the first host `secretsDir` (made when missing, named after the cluster CA): CN, SAN
 * IP:address, serverAuth and clientAuth (each server dials the others and is dialled) from here,
 * not from the CSR. InvalidArgumentError for a bad CSR.
 */
export async function signRouteCsr(secretsDir: string, csr: string, host: { hostId: string; address: string }): Promise<string> {
  await checkCsr(csr, { subject: `berth route ${host.hostId}`, hostId: host.hostId });
  const tls = clusterTlsOf(secretsDir);
  mkdirSync(tls.dir, { recursive: true, mode: 0o700 });
  const clusterCa = existsSync(tls.ca) ? (new X509Certificate(readFileSync(tls.ca)).subject.match(/CN=berth cluster CA (.*)/)?.[1] ?? '') : '';
  await ensureCa({ cert: tls.routeCa, key: tls.routeCaKey }, `berth NATS route CA ${clusterCa}`.trim());
  return signCsr({ ca: tls.routeCa, caKey: tls.routeCaKey }, csr, { subject: `berth route ${host.hostId}`, usage: 'serverAuth,clientAuth', ip: host.address });
}

/** Whether the certificate `pem` names IP address `address` (SAN). */
export function certificateHasIp(pem: string, address: string): boolean {
  return certificateNames(pem).includes(`IP Address:${address}`);
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
  await checkCsr(csr, { subject: host.hostId, hostId: host.hostId });
  return signCsr(clusterTlsOf(secretsDir), csr, { subject: host.hostId, usage: 'serverAuth', ip: host.address });
}

/** A CSR's own signature checks (its sender holds the key) and its subject is CN=`subject`. InvalidArgumentError otherwise. */
async function checkCsr(csr: string, expected: { subject: string; hostId: string }): Promise<void> {
  const res = await runCommand('openssl', ['req', '-noout', '-verify', '-subject', '-nameopt', 'RFC2253'], { input: csr });
  // OpenSSL 3.0 exits 0 when the signature does not verify: only its "verify OK" counts.
  if (res.code !== 0 || !/verify OK/.test(res.stderr.toString())) throw new InvalidArgumentError(`Invalid certificate signing request of host "${expected.hostId}": ${res.stderr.toString().trim().split('\n')[0]}`);
  const subject = res.stdout.toString().trim();
  if (subject !== `subject=CN=${expected.subject}`) {
    throw new InvalidArgumentError(`Invalid certificate signing request of host "${expected.hostId}": its subject is "${subject.slice('subject='.length)}", expected "CN=${expected.subject}"`);
  }
}

async function signCsr(
  tls: { ca: string; caKey: string },
  csr: string,
  cert: { subject: string; usage: 'serverAuth' | 'clientAuth' | 'serverAuth,clientAuth'; ip?: string },
): Promise<string> {
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
