import { readFileSync } from 'node:fs';
import { checkServerIdentity, type PeerCertificate } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import type { ClusterTls } from '@berth/platform';

/** The cluster CA and the gateway's client certificate and key (libs/platform cluster-ca.ts). */
export interface ClusterTlsFiles {
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
}

/** Reads the gateway's files among a cluster's TLS files (`clusterTlsOf(secretsDir)`). */
export function readGatewayTls(tls: Pick<ClusterTls, 'ca' | 'gatewayCert' | 'gatewayKey'>): ClusterTlsFiles {
  return { ca: readFileSync(tls.ca), cert: readFileSync(tls.gatewayCert), key: readFileSync(tls.gatewayKey) };
}

/**
 * The gateway's credentials for an agent or builder on TCP (another machine): mutual TLS with the
 * gateway's client certificate; the service's certificate must be the cluster CA's, name the IP
 * dialled (SAN), and be the certificate of the host announced at that address (its CN is the host
 * id the CA signed it for; `announcedHost`): a member of the cluster cannot answer for another
 * even when an announcement names its address; and not be revoked (`revoked`: its serial is in the
 * cluster CA's revocation list, certificate-revocations.ts: a host removed with `node rm`).
 * grpc-js replaces Node's own check with ours, which therefore starts with it.
 */
export function clusterChannelCredentials(
  tls: ClusterTlsFiles,
  announcedHost: () => string | undefined,
  options: { revoked?: (serial: string) => boolean } = {},
): grpc.ChannelCredentials {
  return grpc.credentials.createSsl(tls.ca, tls.key, tls.cert, {
    checkServerIdentity: (hostname: string, cert: PeerCertificate) => {
      const err = checkServerIdentity(hostname, cert);
      if (err) return err;
      const expected = announcedHost();
      if (expected === undefined) return new Error(`no host is announced at ${hostname}`);
      if (cert.subject.CN !== expected) return new Error(`the certificate at ${hostname} is host "${cert.subject.CN}"'s, not "${expected}"'s`);
      if (options.revoked?.(cert.serialNumber.toUpperCase())) {
        return new Error(`the certificate at ${hostname} (host "${cert.subject.CN}", serial ${cert.serialNumber}) is revoked: the host was removed from the cluster`);
      }
      return undefined;
    },
  });
}
