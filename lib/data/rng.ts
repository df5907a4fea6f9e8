/**
 * Seeded randomness. Every random choice in the data pipeline draws from a
 * stream derived from (seed, purpose, ...ids), never from Math.random, so a
 * run is reproducible whatever the decode order or concurrency.
 */

/** Distinct purposes, so that e.g. a split and a per-class sample with the same seed are unrelated. */
export const Stream = {
  shuffle: 1,
  augment: 2,
  perClass: 3,
  fraction: 4,
  split: 5,
  /** Cross-validation folds (lib/search). */
  folds: 6,
  /** A search's sampler, one stream per trial (lib/search). */
  search: 7,
  reinit: 8,
} as const;

/** Hashes 32-bit words into one seed (murmur3 finaliser per word) so nearby inputs give unrelated streams. */
export function deriveSeed(...parts: readonly number[]): number {
  let h = 0x9e3779b9;
  for (const part of parts) {
    h = Math.imul(h ^ (part >>> 0), 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
  }
  return h >>> 0;
}

/** sfc32: small, fast, and passes PractRand far beyond what a shuffle or a crop needs. */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    this.a = 0x9e3779b9;
    this.b = 0x243f6a88;
    this.c = 0xb7e15162;
    this.d = seed >>> 0;
    // Warm-up decorrelates the first outputs of seeds that differ in few bits.
    for (let i = 0; i < 12; i++) this.next();
  }

  /** Uniform in [0, 1). */
  next(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return (t >>> 0) / 4294967296;
  }

  /** Uniform integer in [lo, hi], both inclusive. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  /** Uniform in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + this.next() * (hi - lo);
  }
}

/** Fisher–Yates, in place. */
export function shuffle(values: Int32Array, rng: Rng): Int32Array {
  for (let i = values.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    const t = values[i]!;
    values[i] = values[j]!;
    values[j] = t;
  }
  return values;
}
