import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startNatsServer, tempDir } from '@berth/testing';
import { connectNats } from './nats-connect.js';

/** A CA and a server certificate of it for `ip` (EC P-256), in `dir`: ca.pem, cert.pem (with the CA after it), key.pem. */
function makeCertificates(dir: string, ip: string): void {
  const openssl = (args: string[], input?: string) => execFileSync('openssl', args, { cwd: dir, input, stdio: ['pipe', 'pipe', 'ignore'] }).toString();
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(['req', '-x509', ...ec, '-keyout', 'ca-key.pem', '-out', 'ca.pem', '-subj', '/CN=test CA', '-days', '1', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign']);
  const csr = openssl(['req', '-new', ...ec, '-keyout', 'key.pem', '-subj', '/CN=server']);
  writeFileSync(join(dir, 'ext'), `subjectAltName=IP:${ip}\nextendedKeyUsage=serverAuth\n`);
  const cert = openssl(['x509', '-req', '-CA', 'ca.pem', '-CAkey', 'ca-key.pem', '-set_serial', '1', '-days', '1', '-extfile', 'ext'], csr);
  writeFileSync(join(dir, 'cert.pem'), cert + readFileSync(join(dir, 'ca.pem'), 'utf8'));
}

describe('connectNats over TLS', () => {
  it('verifies the server with --nats-ca, against the IP it dials, and is refused without it', async () => {
    await using dir = tempDir('berth-nats-connect-');
    makeCertificates(dir.path, '127.0.0.1');
    const tls = `tls { cert_file: "${join(dir.path, 'cert.pem')}", key_file: "${join(dir.path, 'key.pem')}", timeout: 5 }\n`;
    await using server = await startNatsServer(dir.path, { config: tls });
    const nc = await connectNats(server.url, { name: 'test', caFile: join(dir.path, 'ca.pem') });
    try {
      expect(nc.info?.tls_required).toBe(true);
      await nc.flush();
    } finally {
      await nc.close();
    }
    await expect(connectNats(server.url, { name: 'test' })).rejects.toThrow(`Cannot connect to NATS at ${server.url}:`);
    await expect(connectNats(server.url, { name: 'test', caFile: join(dir.path, 'none.pem') })).rejects.toThrow(
      `Cannot read the NATS CA "${join(dir.path, 'none.pem')}": ENOENT`,
    );
  }, 30_000);
});
