/**
 * One rank's share of an epoch's order in a data-parallel job, with the
 * semantics of PyTorch's DistributedSampler: rank r of n takes positions
 * r, r + n, r + 2n, ... of the (seeded, shared) order. The remainder of a
 * length not divisible by n is either padded by repeating the order's first
 * items, so that every rank gets ceil(len / n) items (the sampler's default,
 * drop_last=False), or dropped, so that every rank gets floor(len / n)
 * (drop_last=True). Evaluation uses `none`: uneven shards, every item once.
 */
export type ShardRemainder = 'pad' | 'drop' | 'none';

export interface Shard {
  rank: number;
  count: number;
  remainder: ShardRemainder;
}

/** How many positions of an order of `length` the shard takes. */
export function shardLength(length: number, { rank, count, remainder }: Shard): number {
  if (remainder === 'pad') return length === 0 ? 0 : Math.ceil(length / count);
  if (remainder === 'drop') return Math.floor(length / count);
  return Math.max(0, Math.ceil((length - rank) / count));
}

/** The shard's items of `order`, in order. */
export function shardOrder(order: Int32Array, shard: Shard): Int32Array {
  const out = new Int32Array(shardLength(order.length, shard));
  for (let i = 0; i < out.length; i++) out[i] = order[(shard.rank + i * shard.count) % order.length]!;
  return out;
}
