import { describe, expect, it } from 'vitest';
import { nkeys } from 'nats';
import { decodeJoinToken, encodeJoinToken } from './join-token.js';

const seed = new TextDecoder().decode(nkeys.createUser().getSeed());
const caFingerprint = 'ab'.repeat(32);

describe('join tokens', () => {
  it('carry the CA fingerprint and the join key, and read back', () => {
    const text = encodeJoinToken({ caFingerprint, seed });
    expect(text).toBe(`BERTH1-${caFingerprint}-${seed}`);
    expect(decodeJoinToken(`  ${text}\n`)).toEqual({ caFingerprint, seed });
  });

  it('refuse a token cut short, of another kind, with a bad fingerprint or key, without repeating it', () => {
    const refused = (text: string, why: string) => {
      let message = '';
      try {
        decodeJoinToken(text);
      } catch (err) {
        message = (err as Error).message;
      }
      expect(message).toBe(`Invalid join token: ${why}: copy it whole from \`berth platform join-token\` on the first host`);
    };
    refused(`SWMTKN-1-${caFingerprint}-${seed}`, 'it does not start with "BERTH1-"');
    refused(`BERTH1-${caFingerprint}`, 'expected 3 parts separated by "-", not 2');
    refused(`BERTH1-${caFingerprint.slice(2)}-${seed}`, 'its CA fingerprint is not 64 hex digits');
    // One character of the key changed (not the last, whose low bits the key does not use, nor one that was already X): the checksum fails.
    const changed = `${seed.slice(0, 10)}${seed[10] === 'X' ? 'Y' : 'X'}${seed.slice(11)}`;
    refused(`BERTH1-${caFingerprint}-${changed}`, 'its secret is not a NATS key');
    const account = new TextDecoder().decode(nkeys.createAccount().getSeed());
    refused(`BERTH1-${caFingerprint}-${account}`, 'its secret is not a NATS user key');
  });
});
