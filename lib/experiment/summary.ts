/**
 * results.json: every run, and per cell (study, n, row) the test accuracy's
 * mean, std and 95% interval over the paired seeds, the paired difference to
 * plain fine-tuning ('none') of the same study and n, and the bounds.
 */
import type { ExperimentConfig, Row } from './config.js';
import type { Setting } from './rows.js';
import { pairedDifference, summarise, type Summary } from './stats.js';

/** One finished run, as runs.jsonl keeps it. */
export interface ExperimentRun {
  key: string;
  recipe: string;
  batchNorm: 'update' | 'freeze';
  n: number;
  row: Row;
  seed: number;
  setting: Setting;
  testAccuracy: number;
  testLoss: number;
  trainAccuracy: number;
  /** The post hoc bound's total (on the error of the margin loss), on the run's training draw; absent when the bound cannot measure the network (machine.boundRefused says why). */
  posthocBound?: number;
  marginLoss?: number;
  /** MARS-SP runs: the a priori bound for the class of the run's radii. */
  aprioriBound?: number;
  /** Per weight tensor: its MARS and Frobenius distance from the start after training. */
  distances: { name: string; mars: number; frobenius: number }[];
  seconds: number;
  loadAverage: number;
  /** Sensitivity runs: the radii were the searched ones × 10^exponent. */
  exponent?: number;
}

export interface SearchSummary {
  cell: string;
  recipe: string;
  batchNorm: 'update' | 'freeze';
  n: number;
  row: Row;
  trials: number;
  params: Record<string, unknown>;
  cvAccuracy: number | null;
  setting: Setting;
  seconds: number;
}

export interface CellSummary {
  recipe: string;
  batchNorm: 'update' | 'freeze';
  n: number;
  row: Row;
  setting: Setting;
  testAccuracy: Summary;
  /** Paired by seed: this row − plain fine-tuning ('none'), when the study has that row. */
  differenceToNone?: Summary;
  posthocBound?: Summary;
  aprioriBound?: Summary;
  seconds: number;
}

export interface ExperimentResults {
  experiment: string;
  description: string;
  config: ExperimentConfig;
  machine: Record<string, unknown>;
  cells: CellSummary[];
  sensitivity: { method: Row; n: number; exponent: number; testAccuracy: Summary }[];
  searches: SearchSummary[];
  runs: ExperimentRun[];
  sensitivityRuns: ExperimentRun[];
}

const sameCell = (a: ExperimentRun, b: { recipe: string; batchNorm: string; n: number }) => a.recipe === b.recipe && a.batchNorm === b.batchNorm && a.n === b.n;

export function summariseResults(
  config: ExperimentConfig,
  runs: ExperimentRun[],
  sensitivity: ExperimentRun[],
  searches: SearchSummary[],
  machine: Record<string, unknown>,
): ExperimentResults {
  const groups = new Map<string, ExperimentRun[]>();
  for (const r of runs) {
    const id = `${r.recipe}|${r.batchNorm}|${r.n}|${r.row}`;
    groups.set(id, [...(groups.get(id) ?? []), r]);
  }
  const cells: CellSummary[] = [...groups.values()].map((rs) => {
    const first = rs[0]!;
    const bySeed = [...rs].sort((a, b) => a.seed - b.seed);
    const none = runs.filter((r) => sameCell(r, first) && r.row === 'none').sort((a, b) => a.seed - b.seed);
    const posthoc = bySeed.flatMap((r) => (r.posthocBound === undefined ? [] : [r.posthocBound]));
    const apriori = bySeed.flatMap((r) => (r.aprioriBound === undefined ? [] : [r.aprioriBound]));
    return {
      recipe: first.recipe, batchNorm: first.batchNorm, n: first.n, row: first.row, setting: first.setting,
      testAccuracy: summarise(bySeed.map((r) => r.testAccuracy)),
      ...(none.length === bySeed.length && first.row !== 'none'
        ? { differenceToNone: pairedDifference(bySeed.map((r) => r.testAccuracy), none.map((r) => r.testAccuracy)) }
        : {}),
      ...(posthoc.length ? { posthocBound: summarise(posthoc) } : {}),
      ...(apriori.length ? { aprioriBound: summarise(apriori) } : {}),
      seconds: bySeed.reduce((a, r) => a + r.seconds, 0),
    };
  });
  const sens = new Map<string, ExperimentRun[]>();
  for (const r of sensitivity) sens.set(`${r.row}|${r.exponent}`, [...(sens.get(`${r.row}|${r.exponent}`) ?? []), r]);
  return {
    experiment: config.name,
    description: config.description,
    config,
    machine,
    cells,
    sensitivity: [...sens.values()].map((rs) => ({
      method: rs[0]!.row, n: rs[0]!.n, exponent: rs[0]!.exponent!,
      testAccuracy: summarise(rs.map((r) => r.testAccuracy)),
    })),
    searches,
    runs,
    sensitivityRuns: sensitivity,
  };
}
