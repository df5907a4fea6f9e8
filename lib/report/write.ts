/** `writeReport(runDir)`: reads a run folder, renders the plots to SVG and writes the page atomically. */
import { join } from 'node:path';
import { writeFileAtomic } from '../util/atomic-write.js';
import { boundSpec, curveSpec, groupSpec, layerSpec, learningRateSpec, svgOf } from './charts.js';
import { reportPage } from './html.js';
import { readRun } from './run-dir.js';

/** Writes the report of the run in `runDir` to `out` (default RUN_DIR/report.html) and returns its path. */
export async function writeReport(runDir: string, out = join(runDir, 'report.html')): Promise<string> {
  const run = readRun(runDir);
  const method = run.summary?.method ?? 'mars-sp';
  const selected = run.history[(run.summary?.bestEpoch ?? run.history.length) - 1] ?? run.history.at(-1)!;
  const hasBound = run.history.some((e) => e.bound);
  const [loss, accuracy, learningRate, layers, groups, bound] = await Promise.all([
    svgOf(curveSpec(run.history, 'loss', run.summary)),
    svgOf(curveSpec(run.history, 'accuracy', run.summary)),
    svgOf(learningRateSpec(run.history)),
    svgOf(layerSpec(selected, method)),
    svgOf(groupSpec(run.history, method)),
    hasBound ? svgOf(boundSpec(run.history)) : Promise.resolve(undefined),
  ]);
  await writeFileAtomic(out, reportPage(run, { loss, accuracy, learningRate, layers, groups, ...(bound ? { bound } : {}) }), 'ERR_WRITE');
  return out;
}
