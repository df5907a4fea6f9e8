// Streams EPOCHS epochs of an image folder and reports peak RSS and RSS after each epoch:
//   node stream-child.mjs DIST FOLDER EPOCHS
// `base` is the RSS once the dataset is open and LibTorch is loaded (the native image path runs in the addon).
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const [dist, folder, epochs] = process.argv.slice(2);
const { DataLoader, normalize, openDataset } = await import(pathToFileURL(join(dist, 'data', 'index.js')).href);
const { runtimeInfo } = await import(pathToFileURL(join(dist, 'torch', 'runtime.js')).href);
const dataset = await openDataset(folder);
runtimeInfo();
const base = process.memoryUsage.rss();
const loader = new DataLoader(dataset, { batchSize: 64, prefetch: 2, seed: 1, transforms: [normalize()] });
let items = 0;
let sampled = base;
const afterEpoch = [];
for (let epoch = 0; epoch < Number(epochs); epoch++) {
  for await (const batch of loader.epoch(epoch)) {
    items += batch.shape[0];
    sampled = Math.max(sampled, process.memoryUsage.rss());
  }
  afterEpoch.push(process.memoryUsage.rss());
}
// ru_maxrss is the true peak over the process's life, between samples included.
const peak = process.resourceUsage().maxRSS * 1024;
console.log(JSON.stringify({ items, base, sampled, peak, afterEpoch }));
