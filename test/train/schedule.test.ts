// Learning-rate schedules against values worked out by hand from their
// definitions, and the cosine one against PyTorch's scheduler.
import { describe, expect, it } from 'vitest';
import { ScheduleSchema, learningRate } from '../../lib/train/index.js';
import { python } from '../helpers/fixtures.js';

const lr = (schedule: object, epoch: number, epochs = 10, base = 0.1) => learningRate(ScheduleSchema.parse(schedule), base, epoch, epochs);

describe('learningRate', () => {
  it('constant: the base rate every epoch', () => {
    expect([0, 4, 9].map((e) => lr({ type: 'constant' }, e))).toEqual([0.1, 0.1, 0.1]);
  });

  it('step: multiplied by the factor at every multiple of `every`', () => {
    const s = { type: 'step', every: 3, factor: 0.5 };
    // epochs 0-2: 0.1; 3-5: 0.05; 6-8: 0.025; 9: 0.0125
    expect([0, 2, 3, 5, 6, 9].map((e) => lr(s, e))).toEqual([0.1, 0.1, 0.05, 0.05, 0.025, 0.0125]);
  });

  it('warm-up ramps linearly to the base rate, then the schedule starts', () => {
    const s = { type: 'constant', warmupEpochs: 3 };
    // (e + 1) / (warmup + 1) of the base during warm-up: 0.025, 0.05, 0.075, then 0.1.
    [0.025, 0.05, 0.075, 0.1].forEach((want, e) => expect(lr(s, e)).toBeCloseTo(want, 15));
  });

  it('cosine: the base rate first, halfway between base and floor at the middle of the span', () => {
    const s = { type: 'cosine', floor: 0.2 };
    expect(lr(s, 0, 10)).toBeCloseTo(0.1, 15);
    // epoch 5 of 10 is the middle of the span 0..10: floor + (1 - floor) / 2 of the base = 0.6 * 0.1.
    expect(lr(s, 5, 10)).toBeCloseTo(0.06, 15);
  });

  it('cosine: every epoch at the rate of PyTorch\'s CosineAnnealingLR(T_max = epochs), so the last epoch is not at 0', () => {
    const epochs = 7;
    const theirs = python<number[]>(
      'import json, torch\n' +
        'opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)\n' +
        `sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=${epochs}, eta_min=0)\n` +
        'out = []\n' +
        `for _ in range(${epochs}):\n    out.append(opt.param_groups[0]["lr"]); opt.step(); sched.step()\n` +
        'print(json.dumps(out))',
    );
    const ours = Array.from({ length: epochs }, (_, e) => lr({ type: 'cosine' }, e, epochs));
    ours.forEach((v, e) => expect(v).toBeCloseTo(theirs[e]!, 12));
    expect(ours.at(-1)).toBeGreaterThan(0);
  });

  it('step has the reference defaults: halved every 20 epochs', () => {
    expect(lr({ type: 'step' }, 19, 40)).toBe(0.1);
    expect(lr({ type: 'step' }, 20, 40)).toBe(0.05);
  });
});
