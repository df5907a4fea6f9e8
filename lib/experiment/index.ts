/**
 * Experiments (`mars-ft experiment CONFIG`): every regulariser compared with
 * the same search budget in one resumable command (run.ts), from a checked
 * configuration (config.ts), journaled run by run (journal.ts), summarised
 * with intervals and paired differences (summary.ts, stats.ts).
 */
export { runExperiment, type ExperimentOptions, type ExperimentProgress } from './run.js';
export { ExperimentSchema, readConfig, ROWS, type ExperimentConfig, type Row } from './config.js';
export type { CellSummary, ExperimentResults, ExperimentRun, SearchSummary } from './summary.js';
export type { Summary } from './stats.js';
