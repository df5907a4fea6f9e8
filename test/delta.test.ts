// DELTA's channel weights on features whose information content is known:
// zeroing a channel that is always zero changes nothing (w = 1/(1+e^0) = 0.5
// exactly), zeroing the channel that carries the label costs the most.
import { describe, expect, it } from 'vitest';
import { channelWeightsFromFeatures } from '../lib/train/delta.js';
import { manualSeed } from '../lib/index.js';

describe('DELTA channel weights', () => {
  it('are 0.5 for a dead channel, near 1 for the informative one, near 0.5 for noise', async () => {
    manualSeed(0);
    const n = 200;
    const c = 3;
    const labels = Int32Array.from({ length: n }, (_, i) => i % 2);
    let s = 12345;
    const noise = () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32 - 0.5) * 0.1;
    const matrix = new Float32Array(n * c);
    for (let i = 0; i < n; i++) {
      matrix[i * c] = labels[i] === 1 ? 3 : -3; // carries the label
      matrix[i * c + 1] = 0; // dead
      matrix[i * c + 2] = noise(); // noise
    }
    const w = await channelWeightsFromFeatures(matrix, labels, c, 2);
    expect(w[1]).toBeCloseTo(0.5, 6);
    expect(w[0]).toBeGreaterThan(0.6);
    expect(Math.abs(w[2]! - 0.5)).toBeLessThan(0.05);
    for (const v of w) expect(v).toBeGreaterThan(0), expect(v).toBeLessThan(1);
  });
});
