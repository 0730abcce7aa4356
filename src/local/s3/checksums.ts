/**
 * The flexible checksums S3 verifies on upload (`x-amz-checksum-crc32`, `-crc32c`, `-sha1`, `-sha256`),
 * computed while the body streams, so a corrupted upload is refused with `BadDigest` as on AWS.
 * `crc64nvme` values are kept but not verified: Node has no built-in for it.
 */
import { createHash, type Hash } from 'node:crypto';
import { crc32 } from 'node:zlib';

export const CHECKSUM_ALGORITHMS = ['crc32', 'crc32c', 'sha1', 'sha256', 'crc64nvme'] as const;
export type ChecksumAlgorithm = (typeof CHECKSUM_ALGORITHMS)[number];

interface RunningChecksum {
  update(data: Buffer): void;
  /** Base64 of the big-endian digest, as S3 prints it; undefined when not computed. */
  digest(): string | undefined;
}

const CRC32C_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n += 1) {
    let c = n;
    for (let k = 0; k < 8; k += 1) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function crcDigest(value: number): string {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(value >>> 0);
  return out.toString('base64');
}

/** A running checksum for `algorithm`. */
export function createChecksum(algorithm: ChecksumAlgorithm): RunningChecksum {
  switch (algorithm) {
    case 'crc32': {
      let value = 0;
      return { update: (data) => (value = crc32(data, value)), digest: () => crcDigest(value) };
    }
    case 'crc32c': {
      let crc = 0xffffffff;
      return {
        update: (data) => {
          for (let i = 0; i < data.length; i += 1) crc = CRC32C_TABLE[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8);
        },
        digest: () => crcDigest((crc ^ 0xffffffff) >>> 0),
      };
    }
    case 'sha1':
    case 'sha256': {
      const hash: Hash = createHash(algorithm);
      return { update: (data) => hash.update(data), digest: () => hash.digest('base64') };
    }
    case 'crc64nvme':
      return { update: () => undefined, digest: () => undefined };
  }
}

/** The algorithm a header or trailer name such as `x-amz-checksum-crc32` names, if any. */
export function checksumAlgorithmOf(name: string): ChecksumAlgorithm | undefined {
  const match = /^x-amz-checksum-([a-z0-9]+)$/.exec(name.toLowerCase());
  const algorithm = match?.[1];
  return (CHECKSUM_ALGORITHMS as readonly string[]).includes(algorithm ?? '') ? (algorithm as ChecksumAlgorithm) : undefined;
}
