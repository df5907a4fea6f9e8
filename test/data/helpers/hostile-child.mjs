// Streams one epoch of a folder of hostile files, after a warm-up epoch of a
// harmless one, and reports what was skipped and why, how long the epoch took
// and how much it raised the peak RSS:
//   node hostile-child.mjs DIST WARM_FOLDER FOLDER DECODER
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const [dist, warm, folder, decoder] = process.argv.slice(2);
const { DataLoader, openImageFolder } = await import(pathToFileURL(join(dist, 'data', 'index.js')).href);
const epoch = async (root, skipped = []) => {
  const loader = new DataLoader(await openImageFolder(root), { decoder, shuffle: false, onSkipped: (s) => skipped.push(...s.items) });
  let items = 0;
  for await (const batch of loader.epoch(0)) items += batch.shape[0];
  return { items, skipped };
};
// LibTorch, sharp and the decoders' threads are loaded before the base is taken.
await epoch(warm);
const base = process.memoryUsage.rss();
const started = performance.now();
const { items, skipped } = await epoch(folder);
const ms = performance.now() - started;
// ru_maxrss is the true peak over the process's life, between samples included.
const growth = process.resourceUsage().maxRSS * 1024 - base;
console.log(JSON.stringify({ items, skipped: skipped.map((s) => ({ file: s.key.slice(folder.length + 1), reason: s.reason })), ms, growth }));
