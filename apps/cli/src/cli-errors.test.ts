import { UnavailableError } from '@berth/errors';
import { describe, expect, it } from 'vitest';
import { daemonMessage } from './cli-errors.js';

const unreachable = (detail: string) => new UnavailableError(`Cannot connect to the Berth platform: ${detail}`);

describe('daemonMessage for a gateway that cannot be reached', () => {
  it('says the same for a TLS gateway that closed the connection, whichever way grpc-js saw the close', () => {
    const host = 'tcp://127.0.0.1:2376';
    const expected = `Cannot connect to the Berth platform at ${host}: TLS handshake failed: the gateway closed the connection (the gateway wants a client certificate signed by its CA: --tlscert, --tlskey)`;
    expect(daemonMessage(unreachable('No connection established. Last error: Failed to connect (2026-12-02T21:10:09.123Z). Resolution note: '), host)).toBe(expected);
    expect(daemonMessage(unreachable('No connection established. Last error: Error: read ECONNRESET. Resolution note: '), host)).toBe(expected);
  });

  it('keeps what a certificate problem says', () => {
    expect(daemonMessage(unreachable('No connection established. Last error: Error: self-signed certificate. Resolution note: '), 'tcp://h:2376')).toBe(
      'Cannot connect to the Berth platform at tcp://h:2376: TLS handshake failed: self-signed certificate (the gateway wants a client certificate signed by its CA: --tlscert, --tlskey)',
    );
  });
});
