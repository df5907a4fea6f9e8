/** Reads what `mars-ft finetune` leaves in its output folder: metrics.jsonl (the history) and summary.json. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MarsError } from '../errors.js';
import type { EpochEnd } from '../train/options.js';
import type { RunSummary } from './summary.js';

export interface RunRecord {
  dir: string;
  history: EpochEnd[];
  /** Absent while a run is going on, or when it was stopped. */
  summary?: RunSummary;
}

function parseJson<T>(path: string, text: string): T {
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw new MarsError('ERR_DATA', `${path} is not valid JSON (${(e as Error).message}); was it written by mars-ft finetune?`, { cause: e });
  }
}

export function readRun(dir: string): RunRecord {
  const metrics = join(dir, 'metrics.jsonl');
  if (!existsSync(metrics)) {
    throw new MarsError('ERR_INVALID_ARGUMENT', `${dir} is not the output folder of a mars-ft finetune run (it has no metrics.jsonl)`);
  }
  const history = readFileSync(metrics, 'utf8').split('\n').filter((l) => l.trim() !== '').map((l, i) => parseJson<EpochEnd>(`${metrics} line ${i + 1}`, l));
  if (history.length === 0) throw new MarsError('ERR_DATA', `${metrics} holds no epoch yet`);
  const summaryPath = join(dir, 'summary.json');
  const summary = existsSync(summaryPath) ? parseJson<RunSummary>(summaryPath, readFileSync(summaryPath, 'utf8')) : undefined;
  return { dir, history, ...(summary ? { summary } : {}) };
}
