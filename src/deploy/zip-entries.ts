/**
 * Reads the entries of a function's zip (as osls writes them: stored or deflated, no zip64) so tests and the
 * bundle-size benchmark can look inside a package without an `unzip` binary.
 */
import { readFileSync } from 'node:fs';
import { inflateRawSync } from 'node:zlib';

/** One file of a zip archive. */
export interface ZipEntry {
  name: string;
  compressedBytes: number;
  uncompressedBytes: number;
  /** The file's bytes, inflated. */
  read(): Buffer;
}

const END_OF_CENTRAL_DIRECTORY = 0x06054b50;
const CENTRAL_DIRECTORY_HEADER = 0x02014b50;
const LOCAL_FILE_HEADER = 0x04034b50;

/**
 * Lists the entries of a zip file.
 *
 * @throws {Error} naming the file when it is not a zip this reader understands.
 */
export function readZipEntries(path: string): ZipEntry[] {
  const zip = readFileSync(path);
  const fail = (why: string): never => {
    throw new Error(`${path} is not a readable zip: ${why}`);
  };
  // The end record sits in the last 22 bytes plus an optional comment of up to 64 KiB.
  let end = -1;
  for (let at = zip.length - 22; at >= Math.max(0, zip.length - 22 - 0xffff); at -= 1) {
    if (zip.readUInt32LE(at) === END_OF_CENTRAL_DIRECTORY) {
      end = at;
      break;
    }
  }
  if (end < 0) fail('no end of central directory record');
  const count = zip.readUInt16LE(end + 10);
  let at = zip.readUInt32LE(end + 16);
  const entries: ZipEntry[] = [];
  for (let i = 0; i < count; i += 1) {
    if (zip.readUInt32LE(at) !== CENTRAL_DIRECTORY_HEADER) fail(`bad central directory header at ${at}`);
    const method = zip.readUInt16LE(at + 10);
    const compressedBytes = zip.readUInt32LE(at + 20);
    const uncompressedBytes = zip.readUInt32LE(at + 24);
    const nameLength = zip.readUInt16LE(at + 28);
    const extraLength = zip.readUInt16LE(at + 30);
    const commentLength = zip.readUInt16LE(at + 32);
    const localHeader = zip.readUInt32LE(at + 42);
    const name = zip.toString('utf8', at + 46, at + 46 + nameLength);
    at += 46 + nameLength + extraLength + commentLength;
    if (method !== 0 && method !== 8) fail(`entry ${name} uses compression method ${method}`);
    entries.push({
      name,
      compressedBytes,
      uncompressedBytes,
      read() {
        if (zip.readUInt32LE(localHeader) !== LOCAL_FILE_HEADER) fail(`bad local header for ${name}`);
        const dataStart = localHeader + 30 + zip.readUInt16LE(localHeader + 26) + zip.readUInt16LE(localHeader + 28);
        const data = zip.subarray(dataStart, dataStart + compressedBytes);
        return method === 0 ? Buffer.from(data) : inflateRawSync(data);
      },
    });
  }
  return entries;
}
