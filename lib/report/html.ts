/**
 * The report page: one self-contained HTML file (inline CSS and SVG, no
 * scripts, nothing fetched), readable offline and attachable to a message.
 */
import { boundInWords } from '../bound/generalisation.js';
import { distanceGroups, radiusNorm } from '../train/distance-groups.js';
import type { SplitMetrics } from '../train/options.js';
import type { RunRecord } from './run-dir.js';
import type { EpochScores } from './summary.js';

const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const pct = (m: SplitMetrics | undefined) => (m ? `${(100 * m.accuracy).toFixed(2)}%` : '–');
const num = (x: number | undefined) => (x === undefined ? '–' : Math.abs(x) >= 1e-3 && Math.abs(x) < 1e5 ? x.toPrecision(4) : x.toExponential(3));

function table(rows: [string, string][]): string {
  return `<table>${rows.map(([k, v]) => `<tr><th>${escape(k)}</th><td>${escape(v)}</td></tr>`).join('')}</table>`;
}

/** Nested settings as dotted keys and JSON values. */
function flatten(value: unknown, prefix = ''): [string, string][] {
  if (typeof value === 'string') return [[prefix, value]];
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return [[prefix, JSON.stringify(value)]];
  return Object.entries(value as Record<string, unknown>).flatMap(([k, v]) => flatten(v, prefix ? `${prefix}.${k}` : k));
}

function scoresRow(label: string, s: EpochScores): string {
  return `<tr><th>${label}</th><td>${s.epoch}</td><td>${pct(s.validation)}</td><td>${num(s.validation?.loss)}</td><td>${pct(s.test)}</td><td>${num(s.test?.loss)}</td></tr>`;
}

/** What MARS-SP did, in a sentence per group. */
function distanceWords(run: RunRecord, method: string): string {
  const last = run.history.at(-1)!;
  const norm = radiusNorm(method) === 'mars' ? 'MARS' : 'Frobenius';
  return distanceGroups(last.distances, method)
    .map((g) => {
      const value = norm === 'MARS' ? g.marsMax : g.frobeniusMax;
      const against = g.radius ? `, ${(100 * (g.usedOfRadius ?? 0)).toFixed(0)}% of its radius ${g.radius.max === g.radius.min ? g.radius.max : `(${g.radius.min}–${g.radius.max})`}` : ' (no radius: not projected)';
      return `<li>${g.group} (${g.layers} weight tensor${g.layers === 1 ? '' : 's'}): largest ${norm} distance ${num(value)}${against}; mean MARS distance ${num(g.marsMean)}.</li>`;
    })
    .join('');
}

export interface ReportFigures {
  loss: string;
  accuracy: string;
  learningRate: string;
  layers: string;
  groups: string;
  bound?: string;
}

export function reportPage(run: RunRecord, figures: ReportFigures): string {
  const s = run.summary;
  const method = s?.method ?? 'unknown';
  const last = run.history.at(-1)!;
  const bound = last.bound;
  const figure = (svg: string, caption: string) => `<figure>${svg}<figcaption>${caption}</figcaption></figure>`;
  const headline = s
    ? `${escape(method)}: ${s.selected.test ? `test accuracy ${pct(s.selected.test)} at epoch ${s.selected.epoch}` : 'no test data'}; ${s.epochs} epochs in ${s.seconds.toFixed(1)} s`
    : `${run.history.length} epochs so far (no summary.json: the run has not finished, or was stopped)`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>mars-ft run report: ${escape(run.dir)}</title>
<style>
body{font-family:sans-serif;max-width:1000px;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.5em}h2{font-size:1.2em;border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:2em}
figure{display:inline-block;margin:.5em 1em .5em 0;vertical-align:top}figcaption{font-size:.85em;color:#555;max-width:460px}
table{border-collapse:collapse;font-size:.9em;margin:.5em 0}th,td{border:1px solid #ddd;padding:.25em .6em;text-align:left}th{background:#f6f6f6;font-weight:normal}
.vacuous{background:#fff3f3;border-left:4px solid #b00;padding:.5em 1em}.ok{background:#f3fff3;border-left:4px solid #080;padding:.5em 1em}
</style></head><body>
<h1>Run report: ${escape(run.dir)}</h1>
<p><strong>${headline}</strong></p>
${s ? `<table><tr><th></th><th>epoch</th><th>validation accuracy</th><th>validation loss</th><th>test accuracy</th><th>test loss</th></tr>${scoresRow('selected (model.pt)', s.selected)}${scoresRow('final', s.final)}</table>` : ''}
<h2>Training</h2>
${figure(figures.loss, 'Mean cross-entropy per epoch; the dashed line marks the selected epoch, diamonds the test scores.')}
${figure(figures.accuracy, 'Accuracy per epoch and split.')}
${figure(figures.learningRate, 'The learning rate each epoch ran at.')}
<h2>What the regulariser did: distance from the start against radius</h2>
<ul>${distanceWords(run, method)}</ul>
${figure(figures.layers, 'Each weight tensor in network order (backbone centred at its pre-trained weights, head at zero). A bar reaching its tick is on the boundary of its ball.')}
${figure(figures.groups, 'The largest distance in each group per epoch, with the radius it is held to.')}
<h2>Generalisation bound</h2>
${bound && figures.bound
    ? `<p class="${bound.total > 1 ? 'vacuous' : 'ok'}">At epoch ${last.epoch} (${bound.mode === 'apriori' ? 'a priori' : 'post hoc'}): margin loss ${num(bound.marginLoss)} + complexity ${num(bound.complexity)} + confidence ${num(bound.confidence)} = <strong>${num(bound.total)}</strong>. The bound is ${escape(boundInWords(bound.total))}.</p>${figure(figures.bound, 'The bound and its terms per epoch; the red line is 1, above which the bound is vacuous.')}`
    : '<p>Not logged in this run (mars-ft finetune --bound posthoc, or fineTune({ bound: {} })).</p>'}
<h2>Data</h2>
${s ? table([['classes', s.classNames.map((c, i) => `${c} (${s.classCounts.train[i]})`).join(', ')], ['training items', String(s.trainItems)], ['validation items', String(s.validationItems ?? '–')], ['test items', String(s.testItems ?? '–')]]) : '<p>No summary.json.</p>'}
<h2>Configuration</h2>
${s ? table(flatten(s.settings)) : '<p>No summary.json.</p>'}
<h2>Environment</h2>
${s ? table([...flatten(s.environment), ['started', s.startedAt]]) : '<p>No summary.json.</p>'}
</body></html>
`;
}
