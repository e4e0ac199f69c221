import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCommand } from '@berth/subprocess';
import { tempDir } from '@berth/testing';
import { checkCrl, readRevocationList, recordIssuedCertificate, revokeCertificate, revokedSerials, revokeIssuedCertificate } from './certificate-revocation.js';
import { clusterTlsOf, ensureClusterCa, makeKeyAndCsr, signHostCsr } from './cluster-ca.js';

async function crlSerials(crl: string): Promise<string[]> {
  const res = await runCommand('openssl', ['crl', '-noout', '-text'], { input: crl });
  return [...res.stdout.toString().matchAll(/Serial Number: ([0-9A-F]+)/g)].map((m) => m[1]!);
}

describe("the cluster CA's revocation list", () => {
  it("revokes a joined host's recorded certificate: in the list and in a CRL the CA signed", async () => {
    await using dir = tempDir('berth-revoke-');
    await ensureClusterCa(dir.path, { hostId: 'host-1', address: '10.0.0.1' });
    const cert = await signHostCsr(dir.path, await makeKeyAndCsr(join(dir.path, 'h2-key.pem'), 'host-2'), { hostId: 'host-2', address: '10.0.0.2' });
    recordIssuedCertificate(dir.path, 'host-2', cert);
    expect(await revokeIssuedCertificate(dir.path, 'host-3')).toBeUndefined();

    const list = (await revokeIssuedCertificate(dir.path, 'host-2'))!;
    const serial = new X509Certificate(cert).serialNumber;
    expect(list.entries).toEqual([{ serial, subject: 'host-2', notAfter: new Date(new X509Certificate(cert).validTo).toISOString(), revokedAt: expect.any(String) }]);
    expect(revokedSerials(list).has(serial)).toBe(true);
    expect(await crlSerials(list.crl)).toEqual([serial]);
    await checkCrl(list.crl, readFileSync(clusterTlsOf(dir.path).ca, 'utf8'));
    expect(readRevocationList(dir.path)).toEqual(list);
    // Revoked once: its record is gone, a second `node rm` changes nothing.
    expect(existsSync(join(clusterTlsOf(dir.path).dir, 'issued', 'host-2.pem'))).toBe(false);
    expect(await revokeIssuedCertificate(dir.path, 'host-2')).toBeUndefined();
  });

  it("drops entries whose certificates have expired: the list holds the live certificates' only", async () => {
    await using dir = tempDir('berth-revoke-bound-');
    const tls = await ensureClusterCa(dir.path, { hostId: 'host-1', address: '10.0.0.1' });
    const first = await revokeCertificate(dir.path, readFileSync(tls.gatewayCert, 'utf8'));
    const firstSerial = first.entries[0]!.serial;
    rmSync(tls.cert);
    await ensureClusterCa(dir.path, { hostId: 'host-1', address: '10.0.0.1' });
    // 826 days later the first certificate (825 days) has expired; the second is taken "now".
    const later = new Date(Date.now() + 826 * 24 * 3600_000);
    const second = await revokeCertificate(dir.path, readFileSync(tls.cert, 'utf8'), { now: later });
    expect(second.entries.map((e) => e.serial)).toEqual([new X509Certificate(readFileSync(tls.cert)).serialNumber]);
    expect(await crlSerials(second.crl)).not.toContain(firstSerial);
  });

  it("refuses a CRL another CA signed", async () => {
    await using dir = tempDir('berth-crl-ours-');
    await using other = tempDir('berth-crl-other-');
    const tls = await ensureClusterCa(dir.path, { hostId: 'host-1', address: '10.0.0.1' });
    const otherTls = await ensureClusterCa(other.path, { hostId: 'rogue', address: '10.0.0.1' });
    const list = await revokeCertificate(other.path, readFileSync(otherTls.gatewayCert, 'utf8'));
    await expect(checkCrl(list.crl, readFileSync(tls.ca, 'utf8'))).rejects.toThrow('Invalid revocation list: it is not a CRL signed by the cluster CA');
  });
});
