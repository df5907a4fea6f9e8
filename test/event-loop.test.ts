// A forward pass runs on a worker thread: timers keep firing on time while it runs.
import { expect, it } from 'vitest';
import { load, tensor } from '../lib/index.js';
import { fixturePath } from './helpers/fixtures.js';

it('the event loop keeps ticking (drift < 50 ms) during a forward pass of a second or more', async () => {
  const module = await load(fixturePath('resnet18_headless'));
  const input = (batch: number) => tensor(new Float32Array(batch * 3 * 224 * 224).fill(0.5), [batch, 3, 224, 224]);
  // Size the batch so that one forward pass takes well over a second here.
  // (The first calls include TorchScript's profiling runs, so time the third.)
  await module.forward(input(1));
  await module.forward(input(1));
  let t = performance.now();
  await module.forward(input(2));
  const perImage = (performance.now() - t) / 2;
  const batch = Math.max(2, Math.ceil(1500 / perImage));

  const period = 10;
  let worstDrift = 0;
  let ticks = 0;
  let expected = performance.now() + period;
  const timer = setInterval(() => {
    const now = performance.now();
    worstDrift = Math.max(worstDrift, now - expected);
    expected = now + period;
    ticks++;
  }, period);
  t = performance.now();
  const out = await module.forward(input(batch));
  const elapsed = performance.now() - t;
  clearInterval(timer);

  expect(out.shape).toEqual([batch, 512]);
  expect(elapsed).toBeGreaterThanOrEqual(1000);
  expect(ticks).toBeGreaterThan(elapsed / period / 3);
  expect(worstDrift).toBeLessThan(50);
});
