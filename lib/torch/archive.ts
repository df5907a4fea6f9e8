/**
 * Checks a TorchScript file's zip structure and every entry's CRC-32 before
 * LibTorch reads it. LibTorch trusts a damaged archive further than it
 * should (a flipped byte in a tensor record can crash the process), so a
 * truncated or corrupted file is refused here with ERR_TORCHSCRIPT_LOAD
 * instead. Reads in chunks: memory stays small for large models.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { crc32, inflateRawSync } from 'node:zlib';
import { MarsError } from '../errors.js';

const EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;
const CHUNK = 8 << 20;

interface Entry {
  name: string;
  method: number;
  crc: number;
  compressed: number;
  localOffset: number;
}

async function read(file: FileHandle, position: number, length: number): Promise<Buffer> {
  const buffer = Buffer.alloc(length);
  const { bytesRead } = await file.read(buffer, 0, length, position);
  return buffer.subarray(0, bytesRead);
}

/** Where the central directory is and how many entries it has (zip64 when needed). */
async function directory(file: FileHandle, size: number, fail: (why: string) => never) {
  const tailLength = Math.min(size, 65_557);
  const tail = await read(file, size - tailLength, tailLength);
  let at = -1;
  for (let i = tail.length - 22; i >= 0; i--) if (tail.readUInt32LE(i) === EOCD) { at = i; break; }
  if (at < 0) fail('it is not a zip archive, or it was truncated (no end-of-archive record)');
  let count = tail.readUInt16LE(at + 10);
  let offset = tail.readUInt32LE(at + 16);
  if (count === 0xffff || offset === 0xffffffff) {
    if (at < 20 || tail.readUInt32LE(at - 20) !== ZIP64_LOCATOR) fail('its zip64 locator is missing');
    const record = await read(file, Number(tail.readBigUInt64LE(at - 20 + 8)), 56);
    if (record.length < 56 || record.readUInt32LE(0) !== ZIP64_EOCD) fail('its zip64 end record is damaged');
    count = Number(record.readBigUInt64LE(32));
    offset = Number(record.readBigUInt64LE(48));
  }
  return { count, offset };
}

/** The zip64 extra field's 64-bit values for the fields stored as 0xFFFFFFFF. */
function zip64Values(extra: Buffer): bigint[] {
  for (let i = 0; i + 4 <= extra.length; ) {
    const id = extra.readUInt16LE(i);
    const length = extra.readUInt16LE(i + 2);
    if (id === 0x0001) {
      const values: bigint[] = [];
      for (let k = i + 4; k + 8 <= i + 4 + length; k += 8) values.push(extra.readBigUInt64LE(k));
      return values;
    }
    i += 4 + length;
  }
  return [];
}

async function entries(file: FileHandle, size: number, fail: (why: string) => never): Promise<Entry[]> {
  const { count, offset } = await directory(file, size, fail);
  if (offset >= size) fail('its central directory lies beyond the end of the file');
  const table = await read(file, offset, size - offset);
  const out: Entry[] = [];
  let p = 0;
  for (let i = 0; i < count; i++) {
    if (p + 46 > table.length || table.readUInt32LE(p) !== CENTRAL) fail(`its central directory is damaged at entry ${i}`);
    const nameLength = table.readUInt16LE(p + 28);
    const extraLength = table.readUInt16LE(p + 30);
    const commentLength = table.readUInt16LE(p + 32);
    const name = table.toString('utf8', p + 46, p + 46 + nameLength);
    const wide = zip64Values(table.subarray(p + 46 + nameLength, p + 46 + nameLength + extraLength));
    let compressed = table.readUInt32LE(p + 20);
    let localOffset = table.readUInt32LE(p + 42);
    // The zip64 field lists, in order, the sizes and offset that did not fit.
    if (table.readUInt32LE(p + 24) === 0xffffffff) wide.shift();
    if (compressed === 0xffffffff) compressed = Number(wide.shift() ?? 0n);
    if (localOffset === 0xffffffff) localOffset = Number(wide.shift() ?? 0n);
    out.push({ name, method: table.readUInt16LE(p + 10), crc: table.readUInt32LE(p + 16), compressed, localOffset });
    p += 46 + nameLength + extraLength + commentLength;
  }
  return out;
}

async function entryCrc(file: FileHandle, size: number, e: Entry, fail: (why: string) => never): Promise<number> {
  const header = await read(file, e.localOffset, 30);
  if (header.length < 30 || header.readUInt32LE(0) !== LOCAL) fail(`the header of ${e.name} is damaged`);
  const start = e.localOffset + 30 + header.readUInt16LE(26) + header.readUInt16LE(28);
  if (start + e.compressed > size) fail(`${e.name} runs past the end of the file (truncated)`);
  if (e.method === 8) return crc32(inflateRawSync(await read(file, start, e.compressed)));
  if (e.method !== 0) fail(`${e.name} uses zip compression method ${e.method}, which TorchScript never writes`);
  let crc = 0;
  for (let at = 0; at < e.compressed; at += CHUNK) crc = crc32(await read(file, start + at, Math.min(CHUNK, e.compressed - at)), crc);
  return crc;
}

/** Resolves when `path` is an intact zip archive; rejects with ERR_TORCHSCRIPT_LOAD saying what is wrong. */
export async function checkArchive(path: string): Promise<void> {
  const fail = (why: string): never => {
    throw new MarsError('ERR_TORCHSCRIPT_LOAD', `cannot load TorchScript file '${path}': ${why}; the file is damaged, export it again`);
  };
  const file = await open(path, 'r');
  try {
    const size = (await file.stat()).size;
    const list = await entries(file, size, fail);
    if (list.length === 0) fail('the archive is empty');
    for (const e of list) {
      let crc: number;
      try {
        crc = await entryCrc(file, size, e, fail);
      } catch (err) {
        if (err instanceof MarsError) throw err;
        return fail(`${e.name} cannot be decompressed`);
      }
      if (crc >>> 0 !== e.crc >>> 0) fail(`${e.name} fails its CRC-32 check`);
    }
  } finally {
    await file.close();
  }
}
