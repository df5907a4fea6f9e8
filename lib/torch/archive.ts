/**
 * Checks a TorchScript file before LibTorch reads it. LibTorch trusts the
 * archive further than it should: a flipped byte in a tensor record, or a
 * record shorter than the tensor its pickle declares, is read out of bounds
 * (NaN, or a crash), and it inflates whatever an entry holds. So, before
 * loading:
 *
 * - the zip structure is walked: every entry inside the file, none
 *   overlapping another, stored entries as long as they say;
 * - `data.pkl` and `constants.pkl` are read (pickle.ts) and every tensor is
 *   proved to fit its record: the record exists and holds exactly the
 *   storage's element count × element size in bytes, and each view's offset,
 *   sizes and strides stay inside its storage;
 * - inflation is bounded by what the records declare: a tensor record must
 *   declare its exact size, the other compressed entries together at most
 *   max(64 MiB, 16 × the file's size) (TorchScript compresses only code and
 *   debug text), and no entry is inflated past its declared size;
 * - every entry's CRC-32 is checked, streaming, so memory stays small.
 *
 * A damaged file is refused with ERR_TORCHSCRIPT_LOAD. This guards against
 * damage, not against a hostile author: loading TorchScript runs its code.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { crc32, createInflateRaw, inflateRawSync } from 'node:zlib';
import { MarsError } from '../errors.js';
import { describeWriteError } from '../util/atomic-write.js';
import { tensorsOfPickle, viewExtent } from './pickle.js';

const EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;
const CHUNK = 1 << 20;
/** The inflated size all compressed entries other than tensor records may reach together: the larger of these. */
const TEXT_BUDGET_FLOOR = 64 << 20;
const TEXT_BUDGET_RATIO = 16;
/** Compressed entries up to this size are inflated in one call (capped at their declared size); larger ones stream. */
const INFLATE_AT_ONCE = 8 << 20;
/** A pickle is read into memory to be parsed. */
const PICKLE_LIMIT = 256 << 20;

interface Entry {
  name: string;
  method: number;
  crc: number;
  compressed: number;
  size: number;
  localOffset: number;
  /** Where the entry's data start (after its local header). */
  start: number;
}

type Fail = (why: string) => never;

async function read(file: FileHandle, position: number, length: number): Promise<Buffer> {
  const buffer = Buffer.alloc(length);
  const { bytesRead } = await file.read(buffer, 0, length, position);
  return buffer.subarray(0, bytesRead);
}

/** Where the central directory is and how many entries it has (zip64 when needed). */
async function directory(file: FileHandle, size: number, fail: Fail) {
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

async function entries(file: FileHandle, size: number, fail: Fail): Promise<Entry[]> {
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
    let entrySize = table.readUInt32LE(p + 24);
    let compressed = table.readUInt32LE(p + 20);
    let localOffset = table.readUInt32LE(p + 42);
    // The zip64 field lists, in order, the sizes and offset that did not fit.
    if (entrySize === 0xffffffff) entrySize = Number(wide.shift() ?? 0n);
    if (compressed === 0xffffffff) compressed = Number(wide.shift() ?? 0n);
    if (localOffset === 0xffffffff) localOffset = Number(wide.shift() ?? 0n);
    out.push({ name, method: table.readUInt16LE(p + 10), crc: table.readUInt32LE(p + 16), compressed, size: entrySize, localOffset, start: 0 });
    p += 46 + nameLength + extraLength + commentLength;
  }
  return out;
}

/** Finds where each entry's data start, and refuses entries outside the file, overlapping, or of an unknown method. */
async function locate(file: FileHandle, size: number, list: Entry[], fail: Fail): Promise<void> {
  for (const e of list) {
    const header = await read(file, e.localOffset, 30);
    if (header.length < 30 || header.readUInt32LE(0) !== LOCAL) fail(`the header of ${e.name} is damaged`);
    e.start = e.localOffset + 30 + header.readUInt16LE(26) + header.readUInt16LE(28);
    if (e.start + e.compressed > size) fail(`${e.name} runs past the end of the file (truncated)`);
    if (e.method === 0 && e.compressed !== e.size) fail(`${e.name} is stored uncompressed but declares ${e.size} bytes in ${e.compressed}`);
    if (e.method !== 0 && e.method !== 8) fail(`${e.name} uses zip compression method ${e.method}, which TorchScript never writes`);
  }
  const byOffset = [...list].sort((a, b) => a.localOffset - b.localOffset);
  byOffset.forEach((e, i) => {
    const next = byOffset[i + 1];
    if (next && next.localOffset < e.start + e.compressed) fail(`${next.name} overlaps ${e.name}`);
  });
}

/**
 * Feeds an entry's data (inflated when compressed) to `take`, never past its
 * declared size, and checks its length and CRC-32. Small compressed entries
 * are inflated in one call capped at their declared size; large ones are
 * streamed in chunks, so memory stays small.
 */
async function stream(file: FileHandle, e: Entry, fail: Fail, onChunk?: (chunk: Buffer) => void): Promise<void> {
  let length = 0;
  let crc = 0;
  const take = (chunk: Buffer) => {
    length += chunk.length;
    if (length > e.size) fail(`${e.name} inflates to more than the ${e.size} bytes it declares`);
    crc = crc32(chunk, crc);
    onChunk?.(chunk);
  };
  const undecodable = (err: unknown): never => {
    if (err instanceof MarsError) throw err;
    if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') fail(`${e.name} inflates to more than the ${e.size} bytes it declares`);
    return fail(`${e.name} cannot be decompressed`);
  };
  if (e.method === 0) {
    for (let at = 0; at < e.compressed; at += CHUNK) take(await read(file, e.start + at, Math.min(CHUNK, e.compressed - at)));
  } else if (e.size <= INFLATE_AT_ONCE) {
    const packed = await read(file, e.start, e.compressed);
    let inflated: Buffer;
    try {
      inflated = inflateRawSync(packed, { maxOutputLength: Math.max(1, e.size) });
    } catch (err) {
      return undecodable(err);
    }
    take(inflated);
  } else {
    const chunks = async function* () {
      for (let at = 0; at < e.compressed; at += CHUNK) yield await read(file, e.start + at, Math.min(CHUNK, e.compressed - at));
    };
    await pipeline(chunks, createInflateRaw({ chunkSize: CHUNK }), async (inflated: AsyncIterable<Buffer>) => {
      for await (const chunk of inflated) take(chunk);
    }).catch(undecodable);
  }
  if (length !== e.size) fail(`${e.name} holds ${length} bytes, not the ${e.size} it declares`);
  if (crc >>> 0 !== e.crc >>> 0) fail(`${e.name} fails its CRC-32 check`);
}

/**
 * Every tensor of every top-level pickle fits its record; returns the
 * records' names with their exact sizes, and the pickles (already checked).
 */
async function tensorRecords(file: FileHandle, list: Entry[], limit: number, fail: Fail): Promise<{ expected: Map<string, number>; pickles: Entry[] }> {
  const prefix = list[0]!.name.split('/')[0]!;
  const byName = new Map(list.map((e) => [e.name, e]));
  const expected = new Map<string, number>();
  const pickles = list.filter((e) => e.name.startsWith(`${prefix}/`) && /^[^/]+\.pkl$/.test(e.name.slice(prefix.length + 1)));
  for (const pickle of pickles) {
    if (pickle.size > limit) fail(`${pickle.name} declares ${pickle.size} bytes, more than the ${limit} this check reads`);
    const chunks: Buffer[] = [];
    await stream(file, pickle, fail, (c) => chunks.push(c));
    const dir = pickle.name.slice(0, -'.pkl'.length);
    const { storages, views } = tensorsOfPickle(Buffer.concat(chunks), (why) => fail(`${pickle.name}: ${why}`));
    for (const s of storages) {
      if (s.numel === 0) continue;
      const name = `${dir}/${s.key}`;
      const bytes = s.numel * s.itemSize;
      const record = byName.get(name);
      if (!record) fail(`${pickle.name} refers to a tensor record ${name} that the archive lacks`);
      // PyTorch 2.x keeps a traced module's example inputs as empty records
      // (their shapes only; nothing reads their values when it loads).
      if (record.size === 0 && dir.endsWith('/traced_inputs')) continue;
      if (record.size !== bytes || (expected.has(name) && expected.get(name) !== bytes)) {
        fail(`${name} holds ${record.size} bytes but ${pickle.name} declares ${s.numel} ${s.dtype} elements (${bytes} bytes)`);
      }
      expected.set(name, bytes);
    }
    for (const v of views) {
      const numbers = [v.offset, ...v.sizes, ...v.strides];
      if (v.sizes.length !== v.strides.length || numbers.some((n) => !Number.isSafeInteger(n) || n < 0)) {
        fail(`${pickle.name} declares a tensor over ${dir}/${v.storage.key} with offset ${v.offset}, sizes [${v.sizes}] and strides [${v.strides}]`);
      }
      if (viewExtent(v) > BigInt(v.storage.numel)) {
        fail(`a tensor of ${pickle.name} reaches past the ${v.storage.numel} elements of ${dir}/${v.storage.key} (offset ${v.offset}, sizes [${v.sizes}], strides [${v.strides}])`);
      }
    }
  }
  return { expected, pickles };
}

/** Resolves when `path` is an intact TorchScript archive; rejects with ERR_TORCHSCRIPT_LOAD saying what is wrong. */
export async function checkArchive(path: string): Promise<void> {
  const fail = (why: string): never => {
    throw new MarsError('ERR_TORCHSCRIPT_LOAD', `cannot load TorchScript file '${path}': ${why}; the file is damaged, export it again`);
  };
  const file = await open(path, 'r').catch((e: unknown) => {
    throw new MarsError('ERR_TORCHSCRIPT_LOAD', `cannot load TorchScript file '${path}': ${describeWriteError(e)}`, { cause: e });
  });
  try {
    const size = (await file.stat()).size;
    const list = await entries(file, size, fail);
    if (list.length === 0) fail('the archive is empty');
    await locate(file, size, list, fail);
    const budget = Math.max(TEXT_BUDGET_FLOOR, TEXT_BUDGET_RATIO * size);
    const { expected, pickles } = await tensorRecords(file, list, Math.min(budget, PICKLE_LIMIT), fail);
    const text = list.filter((e) => e.method === 8 && !expected.has(e.name)).reduce((sum, e) => sum + e.size, 0);
    if (text > budget) fail(`its compressed entries declare ${text} bytes, more than a TorchScript file of ${size} bytes holds (a compression bomb?)`);
    for (const e of list) if (!pickles.includes(e)) await stream(file, e, fail);
  } finally {
    await file.close();
  }
}
