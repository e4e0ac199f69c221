export * from './loopback-ports.js';
export * from './platform-file.js';
export * from './platform-settings.js';
export * from './platform-secrets.js';
export * from './process-liveness.js';
export * from './service-entry.js';
export * from './stop-signals.js';
export * from './platform.js';
export * from './platform-join.js';
export { firstHostAddress, natsClusterServers, REPLICATED_SERVERS } from './nats-cluster.js';
export * from './tls-listen.js';
export * from './listener-revocations.js';
export * from './registry-tls.js';
export {
  checkCrl,
  readRevocationList,
  recordIssuedCertificate,
  revokeCertificate,
  revokedSerials,
  revokeIssuedCertificate,
  type RevocationList,
  type RevokedCertificate,
} from './certificate-revocation.js';
export { natsCaFile, natsTlsOption, natsUsesTls } from './nats-tls.js';
export { probeNatsCa } from './nats-ca-probe.js';
export { certificateFingerprint, clusterTlsOf, ensureClusterCa, type ClusterTls } from './cluster-ca.js';
export { parseJoinUrls, type JoinAnswer, type JoinRequest, type SignedJoinAnswer } from './cluster-join.js';
export { admitHost, clusterCaAnswer, clusterCaCertificate, clusterJoinToken, dataRootOfSecrets, revokeJoinedHost } from './cluster-admission.js';
export { startJoinResponder, type JoinResponderOptions } from './join-responder.js';
export { checkMembership, clusterMembership, isNatsMember, publishMembership, saveMemberNatsServer, writeMemberNatsConfig, type NatsMembership } from './nats-membership.js';
export { decodeJoinToken, encodeJoinToken, signJoinRequest, verifyJoinRequest, type JoinToken, type SignedJoinRequest } from './join-token.js';
