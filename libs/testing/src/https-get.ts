import https from 'node:https';

/**
 * One GET of `url` over HTTPS trusting `ca` only (e.g. the cluster CA, for the cluster registry):
 * its status and body, or the TLS or socket error's message when it fails (5 s timeout).
 */
export function httpsGet(url: string, ca: Buffer | string): Promise<{ status: number; body: string } | string> {
  return new Promise((resolve) => {
    const req = https.get(url, { ca, timeout: 5_000 }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', (err) => resolve(err.message));
    });
    req.on('error', (err) => resolve(err.message));
    req.on('timeout', () => req.destroy(new Error('timeout')));
  });
}
