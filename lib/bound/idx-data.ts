/**
 * A minimal reader for `--data idx:IMAGES,LABELS` (gzipped or plain IDX files,
 * as MNIST and Fashion-MNIST ship), kept apart because the data module will
 * replace it. Images become float32 in [0, 1], shaped [N, 1, H, W].
 */
import { readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import { MarsError } from '../errors.js';
import { tensor, type Tensor } from '../tensor.js';

export interface IdxSelection {
  /** Keep only labels 0..classes-1. */
  classes?: number;
  /** Keep the first `perClass` inputs of each class, in file order. */
  perClass?: number;
}

interface Idx {
  dims: number[];
  bytes: Uint8Array;
}

async function readIdxFile(path: string): Promise<Idx> {
  const raw = await readFile(path).catch((e: Error) => {
    throw new MarsError('ERR_DATA_FILE', `cannot read IDX file '${path}': ${e.message}`);
  });
  const data = raw[0] === 0x1f && raw[1] === 0x8b ? gunzipSync(raw) : raw;
  // Magic: two zero bytes, the element type (0x08: unsigned byte), the number of dimensions.
  if (data.length < 4 || data[0] !== 0 || data[1] !== 0 || data[2] !== 0x08) {
    throw new MarsError('ERR_DATA_FILE', `'${path}' is not an IDX file of unsigned bytes`);
  }
  const rank = data[3] as number;
  const dims = Array.from({ length: rank }, (_, i) => data.readUInt32BE(4 + 4 * i));
  const offset = 4 + 4 * rank;
  if (data.length !== offset + dims.reduce((a, b) => a * b, 1)) throw new MarsError('ERR_DATA_FILE', `'${path}' is truncated or has trailing bytes`);
  return { dims, bytes: new Uint8Array(data.buffer, data.byteOffset + offset, data.length - offset) };
}

/** Parses `idx:IMAGES,LABELS` and reads the selected inputs and labels. */
export async function readIdxData(spec: string, selection: IdxSelection = {}): Promise<{ inputs: Tensor; labels: Int32Array }> {
  const match = /^idx:([^,]+),([^,]+)$/.exec(spec);
  if (!match) throw new MarsError('ERR_INVALID_ARGUMENT', `data '${spec}' must be idx:IMAGES,LABELS (two IDX files, gzipped or not)`);
  const [images, labels] = [await readIdxFile(match[1] as string), await readIdxFile(match[2] as string)];
  const [n = 0, ...pixels] = images.dims;
  if (images.dims.length < 3 || labels.dims.length !== 1 || labels.dims[0] !== n) {
    throw new MarsError('ERR_DATA', `IDX images [${images.dims.join(', ')}] and labels [${labels.dims.join(', ')}] do not match`);
  }
  const per = pixels.reduce((a, b) => a * b, 1);
  const count = new Map<number, number>();
  const keep: number[] = [];
  for (let i = 0; i < n; i++) {
    const y = labels.bytes[i] as number;
    if (selection.classes !== undefined && y >= selection.classes) continue;
    if (selection.perClass !== undefined && (count.get(y) ?? 0) >= selection.perClass) continue;
    count.set(y, (count.get(y) ?? 0) + 1);
    keep.push(i);
  }
  for (let y = 0; y < (selection.classes ?? 0); y++) {
    if (!count.has(y)) throw new MarsError('ERR_DATA_EMPTY_CLASS', `class ${y} has no inputs in ${match[2]}`);
  }
  const inputs = new Float32Array(keep.length * per);
  keep.forEach((i, k) => {
    for (let p = 0; p < per; p++) inputs[k * per + p] = (images.bytes[i * per + p] as number) / 255;
  });
  const shape = pixels.length === 2 ? [keep.length, 1, ...pixels] : [keep.length, ...pixels];
  return { inputs: tensor(inputs, shape), labels: Int32Array.from(keep, (i) => labels.bytes[i] as number) };
}
