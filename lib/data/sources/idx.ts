/**
 * IDX files (the MNIST family), gzipped or not. They are read whole into
 * memory: the format has no index to stream from once gzipped, and the
 * family's largest member is ~50 MB.
 */
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { MarsError } from '../../errors.js';
import type { Dataset } from '../dataset.js';
import { fromArrays } from './arrays.js';

const UBYTE = 0x08;

interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

export async function openIdx(imagesPath: string, labelsPath: string): Promise<Dataset> {
  const [images, labels] = await Promise.all([readIdx(imagesPath), readIdx(labelsPath)]);
  const [count, height, width, channels = 1] = images.dims;
  if (images.dims.length < 3 || images.dims.length > 4 || (channels !== 1 && channels !== 3)) {
    throw new MarsError('ERR_DATA', `${imagesPath}: IDX images must be N×H×W or N×H×W×C with C 1 or 3, not ${images.dims.join('×')}`);
  }
  if (labels.dims.length !== 1) {
    throw new MarsError('ERR_DATA', `${labelsPath}: IDX labels must be one-dimensional, not ${labels.dims.join('×')}`);
  }
  if (labels.dims[0] !== count) {
    throw new MarsError('ERR_DATA', `${imagesPath} holds ${count} images but ${labelsPath} holds ${labels.dims[0]} labels`);
  }
  return fromArrays({ pixels: images.data, labels: labels.data, width: width!, height: height!, channels, name: imagesPath });
}

async function readIdx(path: string): Promise<IdxArray> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
    if (bytes[0] === 0x1f && bytes[1] === 0x8b) bytes = await promisify(gunzip)(bytes);
  } catch (cause) {
    throw new MarsError('ERR_DATA_FILE', `cannot read IDX file ${path}: ${(cause as Error).message}`, { cause });
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // Header: two zero bytes, the element type, the number of dimensions, then each dimension as a big-endian uint32.
  const ndims = bytes[3] ?? 0;
  const dataStart = 4 + 4 * ndims;
  if (bytes.length < dataStart || bytes[0] !== 0 || bytes[1] !== 0 || ndims === 0) {
    throw new MarsError('ERR_DATA_FILE', `${path} is not an IDX file`);
  }
  if (bytes[2] !== UBYTE) {
    throw new MarsError('ERR_DATA_FILE', `${path}: IDX element type 0x${bytes[2]!.toString(16)} is not supported, only unsigned bytes (0x08)`);
  }
  const dims = Array.from({ length: ndims }, (_, i) => view.getUint32(4 + 4 * i));
  const expected = dims.reduce((a, b) => a * b, 1);
  if (bytes.length - dataStart !== expected) {
    throw new MarsError('ERR_DATA_FILE', `${path}: header says ${dims.join('×')} = ${expected} bytes but ${bytes.length - dataStart} follow (truncated or corrupt)`);
  }
  return { dims, data: bytes.subarray(dataStart) };
}
