import { nkeys } from 'nats';
import { InvalidArgumentError } from '@berth/errors';

/**
 * A cluster's join token (`berth platform join-token`), as Docker swarm's `SWMTKN-1-<CA digest>-<secret>`:
 *
 *   BERTH1-<sha256 fingerprint of the cluster CA's certificate, 64 hex>-<nkey seed of the NATS "join" user>
 *
 * The seed is the credential: the first host's nats-server lets its key publish `berth.cluster.join`
 * and read its own inbox, nothing else (libs/events nats-permissions.ts, role `join`). The
 * fingerprint lets the joining host check the CA the cluster answers with before it trusts
 * anything of the answer (another server on the way cannot pass for the cluster).
 */
export interface JoinToken {
  /** SHA-256 of the cluster CA's certificate (DER), lowercase hex. */
  caFingerprint: string;
  /** The join user's nkey seed (`SU…`). */
  seed: string;
}

const PREFIX = 'BERTH1';

export function encodeJoinToken(token: JoinToken): string {
  return `${PREFIX}-${token.caFingerprint}-${token.seed}`;
}

/** InvalidArgumentError saying what is wrong, without repeating the token (a secret). */
export function decodeJoinToken(text: string): JoinToken {
  const parts = text.trim().split('-');
  const bad = (why: string) => new InvalidArgumentError(`Invalid join token: ${why}: copy it whole from \`berth platform join-token\` on the first host`);
  if (parts[0] !== PREFIX) throw bad(`it does not start with "${PREFIX}-"`);
  if (parts.length !== 3) throw bad(`expected 3 parts separated by "-", not ${parts.length}`);
  const [, caFingerprint, seed] = parts as [string, string, string];
  if (!/^[0-9a-f]{64}$/.test(caFingerprint)) throw bad('its CA fingerprint is not 64 hex digits');
  let publicKey: string;
  try {
    publicKey = nkeys.fromSeed(new TextEncoder().encode(seed)).getPublicKey();
  } catch {
    throw bad('its secret is not a NATS key');
  }
  if (!publicKey.startsWith('U')) throw bad('its secret is not a NATS user key');
  return { caFingerprint, seed };
}

/**
 * A join request signed with the token's key: `{op: "join", request: <its JSON>, sig: <base64>}`.
 * The connection is TLS pinned by the token's CA digest (nats-ca-probe.ts); the signature holds
 * end to end besides (a NATS server relays it): nobody without the token has a host of their own
 * admitted; the request's `time` keeps an old one from being replayed.
 */
export interface SignedJoinRequest {
  op: 'join';
  request: string;
  sig: string;
}

/** How old a signed join request may be when the gateway reads it. */
export const JOIN_REQUEST_MAX_AGE_MS = 5 * 60_000;

export function signJoinRequest(request: object, seed: string): SignedJoinRequest {
  const body = JSON.stringify({ ...request, time: Date.now() });
  const sig = nkeys.fromSeed(new TextEncoder().encode(seed)).sign(new TextEncoder().encode(body));
  return { op: 'join', request: body, sig: Buffer.from(sig).toString('base64') };
}

/**
 * The request of a signed join request, once its signature checks with the join key `publicKey`
 * and it is recent. InvalidArgumentError otherwise.
 */
export function verifyJoinRequest(message: unknown, publicKey: string): unknown {
  const m = (typeof message === 'object' && message !== null ? message : {}) as Partial<SignedJoinRequest>;
  if (typeof m.request !== 'string' || typeof m.sig !== 'string') throw new InvalidArgumentError('Invalid join request: it is not signed with the join token');
  let valid = false;
  try {
    valid = nkeys.fromPublic(publicKey).verify(new TextEncoder().encode(m.request), Buffer.from(m.sig, 'base64'));
  } catch {
    valid = false;
  }
  if (!valid) throw new InvalidArgumentError("Invalid join request: its signature is not the current join token's");
  const request = JSON.parse(m.request) as { time?: unknown };
  if (typeof request.time !== 'number' || Math.abs(Date.now() - request.time) > JOIN_REQUEST_MAX_AGE_MS) {
    throw new InvalidArgumentError('Invalid join request: it is older than 5 minutes (or the clocks differ by more)');
  }
  return request;
}
