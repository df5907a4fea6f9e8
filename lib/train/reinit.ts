/**
 * The from-scratch baseline: the same network with fresh random weights, as
 * PyTorch's own `reset_parameters()` draws them, so that "fine-tuned" can be
 * compared with "trained from scratch" on the same data and budget.
 * Conv and linear weights and biases: U(-1/sqrt(fan_in), 1/sqrt(fan_in))
 * (kaiming_uniform_ with a = sqrt(5)); BatchNorm: scale 1, shift 0, running
 * mean 0, running variance 1, no batches tracked. Tensors of other layer
 * kinds keep their values (PyTorch has no one rule for them). The draws come
 * from the seed, not from LibTorch's generator, so they do not depend on the device.
 */
import { deriveSeed, Rng, Stream } from '../data/rng.js';
import { MarsError } from '../errors.js';
import type { Module } from '../torch/module.js';

/** Re-draws `module`'s weights in place (its tensors must be on the CPU, where they are views). */
export function reinitialize(module: Module, seed: number): void {
  if (module.device !== 'cpu') throw new MarsError('ERR_DEVICE', `reinitialize works on a CPU module (this one is on ${module.device}); move it to the CPU first`);
  const state = module.stateDict();
  const infos = [...module.parameters(), ...module.buffers()];
  const fanIn = new Map<string, number>();
  for (const p of infos) {
    if ((p.kind === 'conv' || p.kind === 'linear') && p.name.endsWith('.weight')) {
      fanIn.set(p.name.slice(0, -'weight'.length), p.shape.slice(1).reduce((a, b) => a * b, 1));
    }
  }
  infos.forEach((p, i) => {
    const values = state[p.name]?.data();
    const owner = p.name.slice(0, p.name.lastIndexOf('.') + 1);
    const leaf = p.name.slice(owner.length);
    if (p.kind === 'batchnorm' && leaf === 'num_batches_tracked' && values instanceof BigInt64Array) values.fill(0n);
    if (!(values instanceof Float32Array || values instanceof Float64Array)) return;
    if (p.kind === 'conv' || p.kind === 'linear') {
      const fan = fanIn.get(owner);
      if (fan === undefined || (leaf !== 'weight' && leaf !== 'bias')) return;
      const bound = 1 / Math.sqrt(fan);
      const rng = new Rng(deriveSeed(seed, Stream.reinit, i));
      for (let k = 0; k < values.length; k++) values[k] = rng.uniform(-bound, bound);
    } else if (p.kind === 'batchnorm') {
      const fill = { weight: 1, bias: 0, running_mean: 0, running_var: 1 }[leaf];
      if (fill !== undefined) values.fill(fill);
    }
  });
}
