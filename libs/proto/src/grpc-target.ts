/**
 * A gRPC target from a Berth address: "unix:/run/berth/api.sock", "unix:///path", "host:port", "tcp://host:port".
 * Apart from grpc.ts, which needs grpc-js: the CLI's unary transport (apps/cli) reaches the gateway
 * without it.
 */
export function grpcTarget(address: string): string {
  if (address.startsWith('tcp://')) return address.slice('tcp://'.length);
  if (address.startsWith('unix://')) return `unix:${address.slice('unix://'.length)}`;
  return address;
}
