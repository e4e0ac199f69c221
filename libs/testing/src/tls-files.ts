import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

/** PEM files for a TLS gateway test: a CA, a server and a client certificate it signed, and a rogue client. */
export interface TlsFiles {
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** Self-signed by another CA: the gateway must refuse it. */
  rogueCert: string;
  rogueKey: string;
}

const openssl = (args: string[], cwd: string) => promisify(execFile)('openssl', args, { cwd });

/** Makes the files in `dir` with the openssl command (EC P-256 keys, one day). */
export async function makeTlsFiles(dir: string): Promise<TlsFiles> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await openssl(['req', '-x509', ...ec, '-days', '1', '-keyout', 'ca-key.pem', '-out', 'ca.pem', '-subj', '/CN=berth test CA'], dir);
  await writeFile(join(dir, 'server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  await writeFile(join(dir, 'client.ext'), 'extendedKeyUsage=clientAuth\n');
  for (const [name, ext] of [['server', 'server.ext'], ['client', 'client.ext']] as const) {
    await openssl(['req', ...ec, '-keyout', `${name}-key.pem`, '-out', `${name}.csr`, '-subj', `/CN=${name}`], dir);
    await openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca-key.pem', '-CAcreateserial', '-days', '1', '-extfile', ext, '-out', `${name}.pem`], dir);
  }
  await openssl(['req', '-x509', ...ec, '-days', '1', '-keyout', 'rogue-key.pem', '-out', 'rogue.pem', '-subj', '/CN=rogue'], dir);
  const f = (name: string) => join(dir, name);
  return {
    ca: f('ca.pem'),
    serverCert: f('server.pem'),
    serverKey: f('server-key.pem'),
    clientCert: f('client.pem'),
    clientKey: f('client-key.pem'),
    rogueCert: f('rogue.pem'),
    rogueKey: f('rogue-key.pem'),
  };
}
