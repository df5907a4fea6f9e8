/** The learning rate of epoch `epoch` (0-based) out of `epochs`, per schedule. */
import type { Schedule } from './options.js';

export function learningRate(schedule: Schedule, base: number, epoch: number, epochs: number): number {
  if (epoch < schedule.warmupEpochs) return (base * (epoch + 1)) / (schedule.warmupEpochs + 1);
  switch (schedule.type) {
    case 'constant':
      return base;
    case 'step':
      return base * schedule.factor ** Math.floor(epoch / schedule.every);
    case 'cosine': {
      // PyTorch's CosineAnnealingLR with T_max = the epochs after warm-up: the floor comes one epoch after
      // the last, so the last epoch still learns (a span ending on it would train it at rate 0).
      const span = Math.max(1, epochs - schedule.warmupEpochs);
      const t = Math.min(1, (epoch - schedule.warmupEpochs) / span);
      return base * (schedule.floor + ((1 - schedule.floor) * (1 + Math.cos(Math.PI * t))) / 2);
    }
  }
}
