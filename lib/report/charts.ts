/**
 * The report's plots as Vega-Lite specifications, rendered to SVG in Node by
 * Vega (no browser, no canvas): training curves, the learning rate, each
 * layer's distance against its radius, the groups' distances over epochs,
 * and the bound's terms.
 */
import type { TopLevelSpec } from 'vega-lite';
import { distanceGroups, groupOf, radiusNorm } from '../train/distance-groups.js';
import type { EpochEnd } from '../train/options.js';
import type { RunSummary } from './summary.js';

type Row = Record<string, string | number | null>;

const WIDTH = 420;
const config = { font: 'sans-serif', axis: { labelFontSize: 11, titleFontSize: 12 }, legend: { labelFontSize: 11, titleFontSize: 12 }, view: { stroke: '#ddd' } };

/** One chart as an SVG string. Vega is loaded here, on first use: importing the package (or starting the CLI) does not pay for it. */
export async function svgOf(spec: TopLevelSpec): Promise<string> {
  const [vega, { compile }] = await Promise.all([import('vega'), import('vega-lite')]);
  const view = new vega.View(vega.parse(compile({ ...spec, config } as TopLevelSpec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

const epochAxis = { field: 'epoch', type: 'quantitative', title: 'epoch', axis: { tickMinStep: 1 } } as const;

/** Loss or accuracy per epoch and split; the selected epoch as a rule, test scores as points. */
export function curveSpec(history: readonly EpochEnd[], metric: 'loss' | 'accuracy', summary?: RunSummary): TopLevelSpec {
  const rows: Row[] = history.flatMap((e) => [
    { epoch: e.epoch, split: 'train', value: e.train[metric] },
    ...(e.validation ? [{ epoch: e.epoch, split: 'validation', value: e.validation[metric] }] : []),
  ]);
  const tests: Row[] = summary
    ? [summary.selected, summary.final].flatMap((s, i) => (s.test ? [{ epoch: s.epoch, split: i === 0 ? 'test (selected)' : 'test (final)', value: s.test[metric] }] : []))
    : [];
  const y = { field: 'value', type: 'quantitative', title: metric, scale: { zero: false } } as const;
  const color = { field: 'split', type: 'nominal', title: null, scale: { domain: ['train', 'validation', 'test (selected)', 'test (final)'], range: ['#1f77b4', '#ff7f0e', '#2ca02c', '#98df8a'] } } as const;
  return {
    width: WIDTH,
    height: 200,
    title: metric === 'loss' ? 'Cross-entropy loss' : 'Accuracy',
    layer: [
      { data: { values: rows }, mark: { type: 'line', point: true }, encoding: { x: epochAxis, y, color } },
      ...(tests.length ? [{ data: { values: tests }, mark: { type: 'point', filled: true, size: 90, shape: 'diamond' }, encoding: { x: epochAxis, y, color } } as const] : []),
      ...(summary ? [{ data: { values: [{ epoch: summary.bestEpoch }] }, mark: { type: 'rule', strokeDash: [4, 3], color: '#888' }, encoding: { x: epochAxis } } as const] : []),
    ],
  } as TopLevelSpec;
}

export function learningRateSpec(history: readonly EpochEnd[]): TopLevelSpec {
  return {
    width: WIDTH,
    height: 120,
    title: 'Learning rate',
    data: { values: history.map((e) => ({ epoch: e.epoch, lr: e.learningRate })) },
    mark: { type: 'line', point: true, color: '#555' },
    encoding: { x: epochAxis, y: { field: 'lr', type: 'quantitative', title: 'learning rate', axis: { format: '.1e' } } },
  } as TopLevelSpec;
}

/** Every weight tensor's distance from its centre at one epoch, a bar each, its radius as a black tick. */
export function layerSpec(entry: EpochEnd, method: string): TopLevelSpec {
  const norm = radiusNorm(method);
  const rows: Row[] = entry.distances.map((d, i) => ({
    layer: `${String(i + 1).padStart(2, '0')} ${d.name.replace(/^backbone\./, '').replace(/\.weight$/, '')}`,
    group: groupOf(d.name),
    distance: d[norm],
    radius: d.radius ?? null,
  }));
  const y = { field: 'layer', type: 'nominal', sort: null, title: null, axis: { labelLimit: 260 } } as const;
  const title = `${norm === 'mars' ? 'MARS' : 'Frobenius'} distance from the start, and radius`;
  return {
    width: WIDTH,
    height: { step: 16 },
    title: `Per layer at epoch ${entry.epoch}: ${norm === 'mars' ? 'MARS' : 'Frobenius'} distance (bars) against radius (ticks)`,
    data: { values: rows },
    layer: [
      {
        mark: { type: 'bar' },
        encoding: {
          y,
          x: { field: 'distance', type: 'quantitative', title },
          color: { field: 'group', type: 'nominal', title: null, scale: { domain: ['backbone', 'head'], range: ['#4c78a8', '#e45756'] } },
        },
      },
      { transform: [{ filter: 'datum.radius !== null' }], mark: { type: 'tick', color: 'black', thickness: 2 }, encoding: { y, x: { field: 'radius', type: 'quantitative' } } },
    ],
  } as TopLevelSpec;
}

/** Each group's largest distance per epoch (solid) and its largest radius (dashed). */
export function groupSpec(history: readonly EpochEnd[], method: string): TopLevelSpec {
  const norm = radiusNorm(method);
  const rows: Row[] = history.flatMap((e) =>
    distanceGroups(e.distances, method).flatMap((g) => [
      { epoch: e.epoch, group: g.group, what: 'largest distance', value: norm === 'mars' ? g.marsMax : g.frobeniusMax },
      ...(g.radius ? [{ epoch: e.epoch, group: g.group, what: 'radius', value: g.radius.max }] : []),
    ]),
  );
  return {
    width: WIDTH,
    height: 200,
    title: `Largest ${norm === 'mars' ? 'MARS' : 'Frobenius'} distance per group, and its radius`,
    data: { values: rows },
    mark: { type: 'line', point: true },
    encoding: {
      x: epochAxis,
      y: { field: 'value', type: 'quantitative', title: 'distance' },
      color: { field: 'group', type: 'nominal', title: null, scale: { domain: ['backbone', 'head'], range: ['#4c78a8', '#e45756'] } },
      strokeDash: { field: 'what', type: 'nominal', title: null, scale: { domain: ['largest distance', 'radius'], range: [[1, 0], [5, 4]] }, legend: { symbolType: 'stroke', symbolStrokeWidth: 2, symbolSize: 400, encode: { symbols: { update: { stroke: { value: '#333' } } } } } },
    },
  } as TopLevelSpec;
}

/** The bound's terms per epoch on a log axis (terms at 0 cannot be drawn there), with the line at 1 above which it is vacuous. */
export function boundSpec(history: readonly EpochEnd[]): TopLevelSpec {
  const rows: Row[] = history.flatMap((e) =>
    e.bound
      ? [
          { epoch: e.epoch, term: 'margin loss', value: e.bound.marginLoss },
          { epoch: e.epoch, term: 'complexity', value: e.bound.complexity },
          { epoch: e.epoch, term: 'confidence', value: e.bound.confidence },
          { epoch: e.epoch, term: 'total', value: e.bound.total },
        ]
      : [],
  );
  return {
    width: WIDTH,
    height: 200,
    title: 'Generalisation bound: its terms per epoch',
    layer: [
      {
        data: { values: rows },
        transform: [{ filter: 'datum.value > 0' }],
        mark: { type: 'line', point: true },
        encoding: {
          x: epochAxis,
          y: { field: 'value', type: 'quantitative', title: 'value (log scale)', scale: { type: 'log' }, axis: { format: '.0e' } },
          color: { field: 'term', type: 'nominal', title: null, scale: { domain: ['total', 'complexity', 'margin loss', 'confidence'] } },
        },
      },
      { data: { values: [{ y: 1 }] }, mark: { type: 'rule', color: '#b00', strokeDash: [6, 3] }, encoding: { y: { field: 'y', type: 'quantitative' } } },
    ],
  } as TopLevelSpec;
}
