import { createCipheriv, createDecipheriv, createPublicKey, diffieHellman, generateKeyPairSync, hkdfSync, randomBytes, type KeyObject } from 'node:crypto';
import { InvalidArgumentError } from '@berth/errors';

/**
 * A secret sealed for the holder of one EC P-256 key (ECIES): an ephemeral key's ECDH with the
 * recipient's public key, HKDF-SHA-256, AES-256-GCM. The gateway seals what a joining host's
 * answer carries of the cluster's secrets (the registry's credentials) to the key of the host's
 * CSR (cluster-admission.ts): NATS between machines is not encrypted, and the join inbox is shared
 * by every token holder; only the host holding that key opens it (cluster-join.ts).
 */
export interface SealedSecret {
  /** The ephemeral public key (SPKI DER, base64). */
  epk: string;
  iv: string;
  tag: string;
  data: string;
}

const INFO = 'berth cluster join secret';

function keyOf(privateKey: KeyObject, publicKey: KeyObject): Buffer {
  return Buffer.from(hkdfSync('sha256', diffieHellman({ privateKey, publicKey }), Buffer.alloc(0), INFO, 32));
}

export function sealSecret(plaintext: string, recipient: KeyObject): SealedSecret {
  const ephemeral = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', keyOf(ephemeral.privateKey, recipient), iv);
  const data = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return {
    epk: ephemeral.publicKey.export({ type: 'spki', format: 'der' }).toString('base64'),
    iv: iv.toString('base64'),
    tag: cipher.getAuthTag().toString('base64'),
    data: data.toString('base64'),
  };
}

/** InvalidArgumentError when it was not sealed for `privateKey` or was altered. */
export function openSecret(sealed: SealedSecret, privateKey: KeyObject): string {
  try {
    const epk = createPublicKey({ key: Buffer.from(sealed.epk, 'base64'), format: 'der', type: 'spki' });
    const decipher = createDecipheriv('aes-256-gcm', keyOf(privateKey, epk), Buffer.from(sealed.iv, 'base64'));
    decipher.setAuthTag(Buffer.from(sealed.tag, 'base64'));
    return Buffer.concat([decipher.update(Buffer.from(sealed.data, 'base64')), decipher.final()]).toString('utf8');
  } catch (err) {
    throw new InvalidArgumentError('Cannot open the secret the cluster sent: it was not sealed for this host\'s key, or was altered', { cause: err });
  }
}
