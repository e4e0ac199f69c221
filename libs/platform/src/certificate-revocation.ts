import { X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InternalError, InvalidArgumentError } from '@berth/errors';
import { runCommand } from '@berth/subprocess';
import { clusterTlsOf } from './cluster-ca.js';
import { writeSecret } from './platform-secrets.js';

/**
 * The cluster CA's revocation list (as swarm's `node rm` revokes a node's certificate): `node rm`
 * of a token-joined host, on the admitting gateway, adds the certificate the CA signed for it.
 * The list is kept on the first host beside the CA and published in KV (revocation-record.ts):
 *
 *   <secrets>/tls/issued/<host id>.pem   the certificate signed for a joined host (cluster-admission.ts), until it is revoked
 *   <secrets>/tls/revoked.json           the revoked certificates (serial, subject, notAfter, revokedAt)
 *   <secrets>/tls/crl.pem                the same as an X.509 CRL signed by the CA: what the agents'
 *                                        and builders' TLS listeners refuse client certificates by (tls-listen.ts)
 *
 * The gateway refuses an agent's or builder's server certificate whose serial is listed
 * (apps/api cluster-credentials.ts). An entry goes once its certificate has expired (its notAfter):
 * an expired certificate is refused anyway, so the list stays bounded by the certificates alive.
 */
export interface RevokedCertificate {
  /** The serial number, upper-case hex (node:crypto X509Certificate `serialNumber`, tls PeerCertificate `serialNumber`). */
  serial: string;
  /** Its subject's CN: the host id for a host's certificate. */
  subject: string;
  /** ISO time after which the certificate is expired anyway. */
  notAfter: string;
  revokedAt: string;
}

export interface RevocationList {
  entries: RevokedCertificate[];
  /** The entries as a CRL (PEM) signed by the cluster CA. */
  crl: string;
}

/** A CRL says when the next one is due; past that OpenSSL refuses every certificate, so it is far. */
const CRL_DAYS = 3650;
/** Its start is set back a day: a host whose clock is behind the first host's must not see it "not yet valid". */
const CRL_BACKDATE_MS = 24 * 3600_000;

function revocationFiles(secretsDir: string) {
  const dir = clusterTlsOf(secretsDir).dir;
  return { list: join(dir, 'revoked.json'), crl: join(dir, 'crl.pem'), issued: (hostId: string) => join(dir, 'issued', `${hostId}.pem`) };
}

/** Keeps the certificate the CA signed for joined host `hostId` (its serial is what `node rm` revokes). */
export function recordIssuedCertificate(secretsDir: string, hostId: string, certPem: string): void {
  const file = revocationFiles(secretsDir).issued(hostId);
  mkdirSync(join(file, '..'), { recursive: true, mode: 0o700 });
  writeSecret(file, certPem);
}

/** The revocation list of the first host's secrets, undefined when nothing was ever revoked. */
export function readRevocationList(secretsDir: string): RevocationList | undefined {
  const files = revocationFiles(secretsDir);
  if (!existsSync(files.list) || !existsSync(files.crl)) return undefined;
  return { entries: (JSON.parse(readFileSync(files.list, 'utf8')) as { entries: RevokedCertificate[] }).entries, crl: readFileSync(files.crl, 'utf8') };
}

/**
 * Revokes the certificate signed for joined host `hostId` (recordIssuedCertificate): the list and
 * the CRL are written again. Undefined when no certificate was recorded for it (a host joined on
 * this machine, `platform join --cluster`, has none; nor one admitted before the list existed).
 */
export async function revokeIssuedCertificate(secretsDir: string, hostId: string, options: { now?: Date } = {}): Promise<RevocationList | undefined> {
  const file = revocationFiles(secretsDir).issued(hostId);
  if (!existsSync(file)) return undefined;
  const list = await revokeCertificate(secretsDir, readFileSync(file, 'utf8'), options);
  rmSync(file, { force: true });
  return list;
}

/**
 * Adds certificate `certPem` (one the CA of `secretsDir` signed) to the revocation list, drops the
 * entries whose certificates have expired, and signs the CRL again with the CA's key.
 */
export async function revokeCertificate(secretsDir: string, certPem: string, options: { now?: Date } = {}): Promise<RevocationList> {
  const now = options.now ?? new Date();
  const cert = new X509Certificate(certPem);
  const entry: RevokedCertificate = {
    serial: cert.serialNumber.toUpperCase(),
    subject: /(?:^|\n)CN=([^\n]*)/.exec(cert.subject)?.[1] ?? cert.subject,
    notAfter: new Date(cert.validTo).toISOString(),
    revokedAt: now.toISOString(),
  };
  const entries = [...(readRevocationList(secretsDir)?.entries ?? []).filter((e) => Date.parse(e.notAfter) > now.getTime() && e.serial !== entry.serial), entry];
  const crl = await signCrl(secretsDir, entries, now);
  const files = revocationFiles(secretsDir);
  writeSecret(files.list, JSON.stringify({ entries }, null, 2) + '\n');
  writeSecret(files.crl, crl);
  return { entries, crl };
}

/** The serials of a list, for a check by serial (apps/api cluster-credentials.ts). */
export function revokedSerials(list: RevocationList | undefined): Set<string> {
  return new Set((list?.entries ?? []).map((e) => e.serial.toUpperCase()));
}

/**
 * Checks that `crlPem` is a CRL signed by the CA of `caPem` (before a TLS listener uses it: one it
 * cannot verify would make OpenSSL refuse every client). InvalidArgumentError otherwise.
 */
export async function checkCrl(crlPem: string, caPem: string): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'berth-crl-'));
  try {
    writeFileSync(join(dir, 'ca.pem'), caPem);
    const res = await runCommand('openssl', ['crl', '-noout', '-CAfile', join(dir, 'ca.pem')], { input: crlPem });
    if (res.code !== 0 || !/verify OK/.test(res.stderr.toString())) {
      throw new InvalidArgumentError(`Invalid revocation list: it is not a CRL signed by the cluster CA (${res.stderr.toString().trim().split('\n').pop()})`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `openssl ca -gencrl` over an index of `entries` (OpenSSL's index.txt: R, expiry, revocation time, serial). */
async function signCrl(secretsDir: string, entries: RevokedCertificate[], now: Date): Promise<string> {
  const tls = clusterTlsOf(secretsDir);
  const dir = mkdtempSync(join(tmpdir(), 'berth-crl-'));
  try {
    const index = entries.map((e) => ['R', asn1Time(new Date(e.notAfter)), asn1Time(new Date(e.revokedAt)), e.serial, 'unknown', `/CN=${e.subject}`].join('\t') + '\n');
    writeFileSync(join(dir, 'index.txt'), index.join(''));
    writeFileSync(join(dir, 'openssl.cnf'), `[ca]\ndefault_ca = berth\n[berth]\ndatabase = ${join(dir, 'index.txt')}\ndefault_md = sha256\n`);
    const res = await runCommand('openssl', [
      'ca', '-gencrl', '-config', join(dir, 'openssl.cnf'), '-keyfile', tls.caKey, '-cert', tls.ca, '-out', join(dir, 'crl.pem'),
      '-crl_lastupdate', asn1Time(new Date(now.getTime() - CRL_BACKDATE_MS)), '-crl_nextupdate', asn1Time(new Date(now.getTime() + CRL_DAYS * 24 * 3600_000)),
    ]);
    if (res.code !== 0) throw new InternalError(`Cannot sign the certificate revocation list: ${res.stderr.toString().trim() || `openssl exited with ${res.code}`}`);
    return readFileSync(join(dir, 'crl.pem'), 'utf8');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** UTCTime (YYMMDDHHMMSSZ) before 2050, GeneralizedTime (YYYYMMDDHHMMSSZ) from then (RFC 5280 4.1.2.5). */
function asn1Time(date: Date): string {
  const digits = date.toISOString().replace(/[-:T]/g, '').slice(0, 14);
  return (date.getUTCFullYear() < 2050 ? digits.slice(2) : digits) + 'Z';
}
