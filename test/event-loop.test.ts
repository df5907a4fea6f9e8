// The event loop runs while the compute thread works: a forward pass never
// blocks the JS thread. Judged by what the JS thread managed to do while the
// pass was pending (event-loop turns), not by a wall-clock window, so a
// loaded machine cannot fail it, and a blocking call cannot pass it: had the
// pass run on the JS thread, its promise would be settled before the first
// turn.
import { expect, it } from 'vitest';
import { load, tensor } from '../lib/index.js';
import { fixturePath } from './helpers/fixtures.js';

it('the JS thread keeps turning the event loop while a forward pass runs', async () => {
  const module = await load(fixturePath('resnet18_headless'));
  const input = (batch: number) => tensor(new Float32Array(batch * 3 * 224 * 224).fill(0.5), [batch, 3, 224, 224]);
  // The first calls include TorchScript's profiling runs; warm up, then size a pass of several hundred milliseconds.
  await module.forward(input(1));
  await module.forward(input(1));
  const t = performance.now();
  await module.forward(input(1));
  const batch = Math.max(1, Math.ceil(400 / (performance.now() - t)));

  let settled = false;
  let turnsWhilePending = 0;
  const pass = module.forward(input(batch)).finally(() => (settled = true));
  await new Promise<void>((resolve) => {
    const turn = () => {
      if (settled) return resolve();
      turnsWhilePending++;
      setImmediate(turn);
    };
    setImmediate(turn);
  });
  const out = await pass;
  expect(out.shape).toEqual([batch, 512]);
  expect(turnsWhilePending).toBeGreaterThan(100);
});
