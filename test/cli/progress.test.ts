// The CLI's progress output: each group's distance against its own radius,
// the bound in words, and an ETA that leaves out start-up.
import { describe, expect, it } from 'vitest';
import { Progress } from '../../lib/cli/progress.js';
import type { EpochEnd } from '../../lib/index.js';

function sink() {
  const lines: string[] = [];
  return { lines, stream: { isTTY: false, columns: 120, write: (s: string) => lines.push(s) } as unknown as NodeJS.WriteStream };
}

const entry = (over: Partial<EpochEnd> = {}): EpochEnd => ({
  epoch: 1, learningRate: 1e-3, seconds: 2, train: { loss: 0.5, penalty: 0, accuracy: 0.8, count: 10 },
  distances: [
    { name: 'backbone.conv1.weight', mars: 1.2, frobenius: 0.3, radius: 2 },
    { name: 'backbone.conv2.weight', mars: 2, frobenius: 0.5, radius: 2 },
    { name: 'head.weight', mars: 6.398, frobenius: 2, radius: 10 },
  ],
  ...over,
});

describe('Progress.epoch', () => {
  it('shows the backbone against its radius and the head against its own, never one maximum of both', () => {
    const { lines, stream } = sink();
    new Progress(stream, 3).epoch(entry());
    expect(lines[0]).toMatch(/backbone max MARS 2\.000 \(radius 2\) \| head max MARS 6\.398 \(radius 10\)/);
    expect(lines[0]).not.toMatch(/max MARS distance 6\.398/);
  });

  it('frobenius-sp compares the Frobenius distance with its radius', () => {
    const { lines, stream } = sink();
    new Progress(stream, 3, '', 'frobenius-sp').epoch(entry());
    expect(lines[0]).toMatch(/backbone max Frobenius 0\.500 \(radius 2\) \| head max Frobenius 2\.000 \(radius 10\)/);
  });

  it('says in words that a bound above 1 is vacuous', () => {
    const { lines, stream } = sink();
    const bound = { mode: 'posthoc' as const, rademacher: 1, marginLoss: 0.2, complexity: 30, confidence: 0.4, total: 30.6 };
    new Progress(stream, 3).epoch(entry({ bound }));
    expect(lines[0]).toMatch(/bound 30\.6 \(vacuous: above 1\)/);
    new Progress(stream, 3).epoch(entry({ bound: { ...bound, complexity: 0.1, total: 0.7 } }));
    expect(lines[1]).toMatch(/bound 0\.700 \|/);
  });
});

describe('Progress.eta', () => {
  it('gives no ETA at the first batch (it carries start-up), then the rate since it times the batches left', () => {
    const p = new Progress(sink().stream, 2);
    const b = (epoch: number, batch: number) => ({ epoch, batch, batches: 5, loss: 1, penalty: 0, accuracy: 0.5, learningRate: 1e-3 });
    // Start-up took 60 s before the first batch ended; then 1 s per batch, and 1 s of validation after epoch 1.
    expect(p.eta(b(1, 1), 60_000)).toBeUndefined();
    expect(p.eta(b(1, 2), 61_000)).toBeCloseTo(8, 9); // 3 left in epoch 1, 5 in epoch 2, at 1 s each
    for (const k of [3, 4, 5]) p.eta(b(1, k), 59_000 + 1000 * k);
    expect(p.eta(b(2, 1), 66_000)).toBeCloseTo(4 * 1.2, 9); // 6 s over 5 batches since the first, 4 left
  });
});
