/**
 * Reports: the run folder `mars-ft finetune` writes and what is drawn from
 * it. summary.json's record of a run (summary.ts: every setting, both epochs'
 * scores, the machine), reading a run folder back (run-dir.ts), and the
 * self-contained HTML report (write.ts): training curves, per-layer distance
 * against radius, the bound's terms, the configuration and the environment,
 * plotted with Vega-Lite and rendered to SVG in Node (charts.ts, html.ts).
 */
export { writeReport } from './write.js';
export { readRun, type RunRecord } from './run-dir.js';
export { environment, runSummary, type EpochScores, type RunEnvironment, type RunSummary } from './summary.js';
