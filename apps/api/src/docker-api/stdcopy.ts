/**
 * Docker's stdcopy framing, used for attach, exec and logs of a container without a TTY: each
 * chunk is preceded by 8 bytes, [stream, 0, 0, 0, size (big-endian uint32)], stream 0 stdin,
 * 1 stdout, 2 stderr. With a TTY the bytes go raw (one stream).
 */
export type StdStream = 'stdin' | 'stdout' | 'stderr';

const streamByte: Record<StdStream, number> = { stdin: 0, stdout: 1, stderr: 2 };

export function frame(stream: StdStream, data: Buffer): Buffer {
  const header = Buffer.alloc(8);
  header[0] = streamByte[stream];
  header.writeUInt32BE(data.length, 4);
  return Buffer.concat([header, data]);
}

/** The media type of a stream: multiplexed without a TTY, raw with one (API ≥ 1.42 names both). */
export function streamContentType(tty: boolean): string {
  return tty ? 'application/vnd.docker.raw-stream' : 'application/vnd.docker.multiplexed-stream';
}
