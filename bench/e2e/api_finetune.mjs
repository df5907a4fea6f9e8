// The API contender of the end-to-end benchmark: the job of JOB.json written
// with the package's API as a user would (openDataset, fineTune, save).
//   node bench/e2e/api_finetune.mjs JOB.json
import { readFileSync } from 'node:fs';
import { fineTune, openDataset } from '../../dist/index.js';

const job = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const train = await openDataset(`idx:${job.trainImages},${job.trainLabels}`, { classes: job.classes, perClass: job.perClass, seed: job.seed });
const test = await openDataset(`idx:${job.testImages},${job.testLabels}`, { classes: job.classes });
const result = await fineTune({
  backbone: job.backbone,
  train,
  test,
  epochs: job.epochs,
  batchSize: job.batchSize,
  seed: job.seed,
  threads: job.threads,
});
await result.model.save(job.out);
console.log(JSON.stringify({ testAccuracy: result.test?.accuracy, history: result.history.map((h) => ({ epoch: h.epoch, loss: h.train.loss, accuracy: h.train.accuracy, seconds: h.seconds })) }));
