/**
 * The experiment's figures as Vega-Lite specifications (rendered to SVG by the
 * report's svgOf): test accuracy against n with 95% intervals, per row; the
 * sensitivity of the test accuracy to the radii; per-layer distance
 * histograms after fine-tuning; the post hoc bound against the test error.
 */
import type { TopLevelSpec } from 'vega-lite';
import { svgOf } from '../report/charts.js';
import type { ExperimentResults } from './summary.js';

/** One point of an accuracy-against-n figure: a row's mean and 95% interval at n. */
export interface AccuracyPoint {
  series: string;
  n: number;
  mean: number;
  low: number;
  high: number;
}

const pctAxis = (title: string) => ({ type: 'quantitative', title, scale: { zero: false }, axis: { format: '.0%' } }) as const;

/** Mean test accuracy against n (log scale), one line per series, with its 95% interval as error bars. */
export function accuracyBySizeSpec(points: AccuracyPoint[], title: string): TopLevelSpec {
  const x = { field: 'n', type: 'quantitative', title: 'images per class (n)', scale: { type: 'log' }, axis: { values: [...new Set(points.map((p) => p.n))] } } as const;
  const color = { field: 'series', type: 'nominal', title: null, legend: { labelLimit: 400 } } as const;
  return {
    title, width: 420, height: 260, data: { values: points as unknown as Record<string, unknown>[] },
    layer: [
      { mark: { type: 'line', point: true }, encoding: { x, y: { field: 'mean', ...pctAxis('test accuracy') }, color } },
      { mark: { type: 'errorbar', ticks: true }, encoding: { x, y: { field: 'low', ...pctAxis('test accuracy') }, y2: { field: 'high' }, color } },
    ],
  } as TopLevelSpec;
}

/** Each row's mean test accuracy with its 95% interval, per study and n (one panel each). */
function rowsSpec(r: ExperimentResults): TopLevelSpec {
  const values = r.cells.map((c) => ({ row: c.row, panel: `${c.recipe}, BN ${c.batchNorm}, n = ${c.n}`, mean: c.testAccuracy.mean, low: c.testAccuracy.low, high: c.testAccuracy.high }));
  const y = { field: 'row', type: 'nominal', title: null, sort: null } as const;
  return {
    data: { values },
    facet: { row: { field: 'panel', type: 'nominal', title: null } },
    spec: {
      width: 380, height: { step: 18 },
      layer: [
        { mark: { type: 'point', filled: true }, encoding: { y, x: { field: 'mean', ...pctAxis('test accuracy (mean, 95% interval over seeds)') } } },
        { mark: { type: 'errorbar', ticks: true }, encoding: { y, x: { field: 'low', ...pctAxis('test accuracy (mean, 95% interval over seeds)') }, x2: { field: 'high' } } },
      ],
    },
  } as TopLevelSpec;
}

/** Test accuracy against the radii's scale 10^k, one line per method. */
function sensitivitySpec(r: ExperimentResults): TopLevelSpec {
  const values = r.sensitivity.map((s) => ({ method: s.method, k: s.exponent, mean: s.testAccuracy.mean, low: s.testAccuracy.min, high: s.testAccuracy.max }));
  const x = { field: 'k', type: 'quantitative', title: 'radii × 10^k (k)', axis: { tickMinStep: 1 } } as const;
  const color = { field: 'method', type: 'nominal', title: null } as const;
  return {
    title: 'Sensitivity to the radius (mean and range over seeds)', width: 420, height: 260, data: { values },
    layer: [
      { mark: { type: 'line', point: true }, encoding: { x, y: { field: 'mean', ...pctAxis('test accuracy') }, color } },
      { mark: { type: 'errorbar', ticks: true }, encoding: { x, y: { field: 'low', ...pctAxis('test accuracy') }, y2: { field: 'high' }, color } },
    ],
  } as TopLevelSpec;
}

/** The MARS distance of every weight tensor after fine-tuning (all seeds), one histogram per row; log scale. */
function distancesSpec(r: ExperimentResults, study: { recipe: string; batchNorm: string; n: number }): TopLevelSpec {
  const values = r.runs
    .filter((x) => x.recipe === study.recipe && x.batchNorm === study.batchNorm && x.n === study.n && x.row !== 'linear-probe')
    .flatMap((x) => x.distances.filter((d) => d.name.startsWith('backbone.') && d.mars > 0).map((d) => ({ row: x.row, log10: Math.log10(d.mars) })));
  return {
    title: `MARS distance of each backbone weight from its start (${study.recipe}, BN ${study.batchNorm}, n = ${study.n})`,
    data: { values },
    facet: { row: { field: 'row', type: 'nominal', title: null, sort: null } },
    spec: {
      width: 420, height: 50, mark: 'bar',
      encoding: {
        x: { field: 'log10', type: 'quantitative', bin: { maxbins: 40 }, title: 'log10 of the MARS distance (max over rows of ||W_r − W0_r||_1)' },
        y: { aggregate: 'count', type: 'quantitative', title: 'tensors' },
      },
    },
    resolve: { scale: { y: 'independent' } },
  } as TopLevelSpec;
}

/** The post hoc bound (log scale) against the test error, one point per run. */
function boundSpec(r: ExperimentResults): TopLevelSpec {
  const values = r.runs.filter((x) => x.posthocBound !== undefined).map((x) => ({ row: x.row, error: 1 - x.testAccuracy, bound: x.posthocBound!, n: x.n }));
  return {
    title: 'Post hoc bound against test error (one point per run)', width: 420, height: 280, data: { values },
    mark: { type: 'point', filled: true, opacity: 0.8 },
    encoding: {
      x: { field: 'error', type: 'quantitative', title: 'test error', axis: { format: '.0%' }, scale: { zero: false } },
      y: { field: 'bound', type: 'quantitative', title: 'post hoc bound on the error (log scale)', scale: { type: 'log' } },
      color: { field: 'row', type: 'nominal', title: null },
    },
  } as TopLevelSpec;
}

/** Every figure of a results.json, as SVG by file name. */
export async function experimentFigures(r: ExperimentResults): Promise<Record<string, string>> {
  const out: Record<string, string> = { 'rows.svg': await svgOf(rowsSpec(r)) };
  if (r.runs.some((x) => x.posthocBound !== undefined)) out['bound.svg'] = await svgOf(boundSpec(r));
  const sizes = [...new Set(r.cells.map((c) => c.n))];
  if (sizes.length > 1) {
    const points = r.cells.filter((c) => c.recipe === r.cells[0]!.recipe && c.batchNorm === r.cells[0]!.batchNorm)
      .map((c) => ({ series: c.row, n: c.n, mean: c.testAccuracy.mean, low: c.testAccuracy.low, high: c.testAccuracy.high }));
    out['accuracy-by-n.svg'] = await svgOf(accuracyBySizeSpec(points, 'Test accuracy against n (mean, 95% interval)'));
  }
  if (r.sensitivity.length) out['sensitivity.svg'] = await svgOf(sensitivitySpec(r));
  const first = r.cells[0]!;
  out['distances.svg'] = await svgOf(distancesSpec(r, first));
  return out;
}
