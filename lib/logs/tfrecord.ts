/**
 * TFRecord framing, as TensorFlow's record writer (and so TensorBoard's
 * reader) defines it: uint64 length (little-endian), masked CRC-32C of those
 * 8 bytes, the data, masked CRC-32C of the data.
 */
import { crc32c } from '@aws-crypto/crc32c';

/** TensorFlow's masked CRC: rotate right by 15 bits, add 0xa282ead8 (mod 2^32). */
export function maskedCrc32c(data: Uint8Array): number {
  const crc = crc32c(data) >>> 0;
  return ((((crc >>> 15) | (crc << 17)) >>> 0) + 0xa282ead8) >>> 0;
}

/** One record: header, data and footer in one buffer, so a single write appends it whole. */
export function frameRecord(data: Uint8Array): Buffer {
  const out = Buffer.alloc(8 + 4 + data.length + 4);
  out.writeBigUInt64LE(BigInt(data.length), 0);
  out.writeUInt32LE(maskedCrc32c(out.subarray(0, 8)), 8);
  out.set(data, 12);
  out.writeUInt32LE(maskedCrc32c(data), 12 + data.length);
  return out;
}
