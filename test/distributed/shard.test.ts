// Each rank's share of an epoch against PyTorch's DistributedSampler (the
// oracle), which deals the same order with drop_last False (pad) or True (drop).
import { describe, expect, it } from 'vitest';
import { DataLoader, fromArrays, shardOrder } from '../../lib/index.js';
import { python } from '../helpers/fixtures.js';

const CASES = [7, 8, 10, 13].flatMap((n) => [2, 3, 4].map((count) => ({ n, count })));

const orderOf = (n: number) => Array.from({ length: n }, (_, i) => (i * 5 + 3) % n);

/** Every case's shards from DistributedSampler, in one Python run: [case][drop_last][rank]. */
function sampler(): number[][][][] {
  return python<number[][][][]>(
    `
import json, sys
from torch.utils.data.distributed import DistributedSampler
out = []
for order, count in json.loads(sys.argv[1]):
    out.append([[[order[i] for i in DistributedSampler(order, num_replicas=count, rank=r, shuffle=False, drop_last=drop)] for r in range(count)] for drop in (False, True)])
print(json.dumps(out))
`,
    [JSON.stringify(CASES.map(({ n, count }) => [orderOf(n), count]))],
  );
}

describe('shardOrder', () => {
  it('deals DistributedSampler’s shards, padded or dropped, for 7-13 items over 2-4 ranks', () => {
    const theirs = sampler();
    for (const [i, { n, count }] of CASES.entries()) {
      const order = Int32Array.from(orderOf(n));
      for (const [drop, remainder] of (['pad', 'drop'] as const).entries()) {
        const ours = Array.from({ length: count }, (_, rank) => Array.from(shardOrder(order, { rank, count, remainder })));
        expect(ours, `n=${n} over ${count}, ${remainder}`).toEqual(theirs[i]![drop]);
      }
    }
  });

  it.each(CASES)('n=$n over $count ranks without remainder handling: every item exactly once', ({ n, count }) => {
    const order = Int32Array.from({ length: n }, (_, i) => n - 1 - i);
    const all = Array.from({ length: count }, (_, rank) => Array.from(shardOrder(order, { rank, count, remainder: 'none' }))).flat();
    expect(all.sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i));
  });

  it('the loader deals every rank its shard of the same seeded permutation', () => {
    const data = fromArrays({ pixels: new Uint8Array(11 * 4), labels: Array.from({ length: 11 }, (_, i) => i % 2), width: 2, height: 2, channels: 1 });
    const whole = new DataLoader(data, { seed: 5, batchSize: 2 }).order(3);
    const shards = [0, 1, 2].map((rank) => new DataLoader(data, { seed: 5, batchSize: 2, shard: { rank, count: 3 } }));
    expect(shards.map((l) => Array.from(l.order(3)))).toEqual([0, 1, 2].map((rank) => Array.from(shardOrder(whole, { rank, count: 3, remainder: 'pad' }))));
    expect(shards[0]!.batchesPerEpoch).toBe(2);
  });
});
