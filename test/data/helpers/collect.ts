import type { Batch } from '../../../lib/data/index.js';

/** All batches of one epoch. */
export async function collect(batches: AsyncIterable<Batch>): Promise<Batch[]> {
  const out: Batch[] = [];
  for await (const b of batches) out.push(b);
  return out;
}

/** Batch values back to the uint8 they came from, when no normalisation was applied (v / 255). */
export function toBytes(inputs: Float32Array): Uint8Array {
  const bytes = new Uint8Array(inputs.length);
  for (let i = 0; i < inputs.length; i++) bytes[i] = Math.round(inputs[i]! * 255);
  return bytes;
}
