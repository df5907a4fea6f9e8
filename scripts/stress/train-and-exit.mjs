// One process of the exit stress (scripts/stress/exit-under-load.mjs and
// test/lifecycle.test.ts): loads the package, fine-tunes a ResNet-18 body for
// 3 steps on random 64×64 images, and leaves in the way MODE says:
//   end     the script returns after the run (Node exits when the loop empties);
//   exit    process.exit() while the third step computes;
//   throw   an uncaught exception while the third step computes;
//   reject  an unhandled rejection while the third step computes.
// Exit status 3 (exit) or 1 (throw, reject) is a clean exit; a signal is a crash.
//   node scripts/stress/train-and-exit.mjs MODE BACKBONE.pt
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const [mode, backbonePath] = process.argv.slice(2);
if (!['end', 'exit', 'throw', 'reject'].includes(mode) || !backbonePath) {
  console.error('usage: train-and-exit.mjs end|exit|throw|reject BACKBONE.pt');
  process.exit(2);
}
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const { fineTune, fromArrays, load } = await import(join(root, 'dist', 'index.js'));

const [items, side, channels] = [24, Number(process.env.SIDE ?? 64), Number(process.env.CH ?? 3)];
const pixels = new Uint8Array(items * side * side * channels).map((_, i) => (i * 2654435761) >>> 24);
const train = fromArrays({ pixels, width: side, height: side, channels, labels: Array.from({ length: items }, (_, i) => i % 2) });
const leave = {
  exit: () => process.exit(3),
  throw: () => {
    throw new Error('thrown while training');
  },
  reject: () => void Promise.reject(new Error('rejected while training')),
};
const result = await fineTune({
  backbone: await load(backbonePath), train, epochs: 1, batchSize: 8, seed: 1,
  // After the second step the loop posts the third at once; 5 ms later it is computing.
  onBatchEnd: (b) => b.batch === 2 && mode !== 'end' && setTimeout(leave[mode], 5),
});
result.model.dispose();
