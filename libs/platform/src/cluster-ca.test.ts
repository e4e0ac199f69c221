import { X509Certificate } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '@berth/testing';
import { certificateFingerprint, checkHostCertificate, ensureClusterCa, makeKeyAndCsr, signHostCsr } from './cluster-ca.js';

describe('the cluster CA', () => {
  it("makes a CA, the gateway's client certificate and the host's server certificate, once", async () => {
    await using dir = tempDir('berth-ca-');
    const tls = await ensureClusterCa(dir.path, { hostId: 'host-one', address: '10.1.2.3' });
    const ca = new X509Certificate(readFileSync(tls.ca));
    expect(ca.ca).toBe(true);
    const host = new X509Certificate(readFileSync(tls.cert));
    expect(host.subject).toBe('CN=host-one');
    expect(host.subjectAltName).toBe('IP Address:10.1.2.3');
    expect(host.checkIssued(ca) && host.verify(ca.publicKey)).toBe(true);
    expect(host.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1']); // serverAuth only
    expect(new X509Certificate(readFileSync(tls.gatewayCert)).keyUsage).toEqual(['1.3.6.1.5.5.7.3.2']); // clientAuth only
    for (const key of [tls.caKey, tls.key, tls.gatewayKey]) expect(statSync(key).mode & 0o777).toBe(0o600);
    const fingerprint = certificateFingerprint(readFileSync(tls.ca, 'utf8'));
    expect(fingerprint).toMatch(/^[0-9a-f]{64}$/);
    // Again: kept; a new address: a new server certificate from the same CA.
    await ensureClusterCa(dir.path, { hostId: 'host-one', address: '10.1.2.3' });
    expect(readFileSync(tls.cert, 'utf8')).toBe(host.toString());
    await ensureClusterCa(dir.path, { hostId: 'host-one', address: '10.1.2.4' });
    expect(new X509Certificate(readFileSync(tls.cert)).subjectAltName).toBe('IP Address:10.1.2.4');
    expect(certificateFingerprint(readFileSync(tls.ca, 'utf8'))).toBe(fingerprint);
  });

  it("signs a joining host's CSR with its own subject and address, and refuses another host's or a forged one", async () => {
    await using first = tempDir('berth-ca-');
    await using joiner = tempDir('berth-ca-joiner-');
    const tls = await ensureClusterCa(first.path, { hostId: 'host-one', address: '10.1.2.3' });
    const keyFile = join(joiner.path, 'host-key.pem');
    const csr = await makeKeyAndCsr(keyFile, 'host-two');
    const cert = await signHostCsr(first.path, csr, { hostId: 'host-two', address: '10.1.2.9' });
    const ca = readFileSync(tls.ca, 'utf8');
    checkHostCertificate(cert, ca, { keyFile, address: '10.1.2.9' });
    expect(new X509Certificate(cert).subject).toBe('CN=host-two');
    expect(() => checkHostCertificate(cert, ca, { keyFile, address: '10.1.2.8' })).toThrow(
      'The certificate the cluster sent is not for address "10.1.2.8" (IP Address:10.1.2.9)',
    );
    expect(() => checkHostCertificate(cert, ca, { keyFile: tls.key, address: '10.1.2.9' })).toThrow("not for this host's key");
    await using other = tempDir('berth-ca-other-');
    const otherCa = await ensureClusterCa(other.path, { hostId: 'host-x', address: '10.1.2.3' });
    expect(() => checkHostCertificate(cert, readFileSync(otherCa.ca, 'utf8'), { keyFile, address: '10.1.2.9' })).toThrow('not signed by its CA');
    await expect(signHostCsr(first.path, csr, { hostId: 'host-three', address: '10.1.2.9' })).rejects.toThrow(
      'Invalid certificate signing request of host "host-three": its subject is "CN=host-two", expected "CN=host-three"',
    );
    // One character of its signature changed: the CSR no longer proves the key.
    const lines = csr.trimEnd().split('\n');
    const last = lines.length - 2;
    lines[last] = lines[last]!.slice(0, 8) + (lines[last]![8] === 'A' ? 'B' : 'A') + lines[last]!.slice(9);
    const forged = lines.join('\n') + '\n';
    await expect(signHostCsr(first.path, forged, { hostId: 'host-two', address: '10.1.2.9' })).rejects.toThrow('Invalid certificate signing request of host "host-two"');
  });
});
