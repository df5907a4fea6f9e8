#!/usr/bin/env node
// Regret curves: this package's TPE against random search, with Optuna's TPE
// (Python, Debian's 3.1.0, as shipped and with its density fixed) as the peer, on synthetic objectives with a known optimum
// (objectives.json: every dimension log-uniform on [e^low, e^high], regret =
// Σ ((ln x − optimum)/(high − low))², 0 at the optimum). No training: the
// samplers alone, each search sequential, the same seeds for every sampler.
// Reports the median and quartiles over seeds of the best regret after n
// trials; writes bench/results/search-regret.json and
// docs/figures/search-regret-<objective>.svg with --write.
//   npm run build:ts && node bench/search/regret.mjs [--seeds 100] [--trials 40] [--write]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { deriveSeed, Rng, Stream } from '../../dist/data/rng.js';
import { suggest } from '../../dist/search/samplers.js';
import { logUniform } from '../../dist/search/space.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..', '..');
const { values } = parseArgs({ options: { seeds: { type: 'string', default: '100' }, trials: { type: 'string', default: '40' }, write: { type: 'boolean', default: false } } });
const SEEDS = Number(values.seeds);
const TRIALS = Number(values.trials);
const STARTUP = 5;
const objectivesFile = join(here, 'objectives.json');
const objectives = JSON.parse(readFileSync(objectivesFile, 'utf8'));

/** Best regret after each trial of one sequential search, as `search` runs it with one job. */
function ours(sampler, obj, seed) {
  const space = Object.fromEntries(obj.dims.map((d) => [d.name, logUniform(Math.exp(d.low), Math.exp(d.high))]));
  const regret = (p) => obj.dims.reduce((a, d) => a + ((Math.log(p[d.name]) - d.optimum) / (d.high - d.low)) ** 2, 0);
  const known = [];
  const curve = [];
  for (let id = 1; id <= TRIALS; id++) {
    const ranked = [...known].sort((a, b) => a.r - b.r);
    const params = suggest(sampler, space, ranked, new Rng(deriveSeed(seed, Stream.search, id)));
    known.push({ id, params, r: regret(params) });
    curve.push(Math.min(curve.at(-1) ?? Infinity, known.at(-1).r));
  }
  return curve;
}

const quantile = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  const i = q * (s.length - 1);
  return s[Math.floor(i)] + (s[Math.ceil(i)] - s[Math.floor(i)]) * (i - Math.floor(i));
};
const summarise = (curves) => Array.from({ length: TRIALS }, (_, n) => {
  const at = curves.map((c) => c[n]);
  return { trials: n + 1, median: quantile(at, 0.5), q25: quantile(at, 0.25), q75: quantile(at, 0.75) };
});

const started = Date.now();
const optuna = (startup, fixed) =>
  JSON.parse(execFileSync('/usr/bin/python3', [join(here, 'optuna_regret.py'), objectivesFile, String(SEEDS), String(TRIALS), String(startup), fixed ? '1' : '0'], { encoding: 'utf8', maxBuffer: 1 << 28 }));
let peer;
try {
  peer = { startup5: optuna(STARTUP, false), startup10: optuna(10, false), fixed5: optuna(STARTUP, true) };
} catch (e) {
  console.error(`Optuna (apt-get install python3-optuna) did not run: ${e.message.split('\n')[0]}; reporting without the peer`);
}

const results = {};
for (const [name, obj] of Object.entries(objectives)) {
  const seeds = Array.from({ length: SEEDS }, (_, s) => s);
  const series = {
    random: summarise(seeds.map((s) => ours({ type: 'random' }, obj, s))),
    tpe: summarise(seeds.map((s) => ours({ type: 'tpe', startup: STARTUP, candidates: 24 }, obj, s))),
    ...(peer ? {
      optunaTpe5: summarise(peer.startup5.curves[name]), optunaTpe10: summarise(peer.startup10.curves[name]),
      optunaTpe5Fixed: summarise(peer.fixed5.curves[name]),
    } : {}),
  };
  results[name] = { about: obj.about, dims: obj.dims.length, series };
  console.log(`\n${name} (${obj.about}): median best regret [quartiles] after n trials, ${SEEDS} seeds`);
  for (const n of [5, 10, 20, 30, 40].filter((n) => n <= TRIALS)) {
    console.log(`  n=${String(n).padStart(2)} ` + Object.entries(series).map(([k, v]) => `${k} ${v[n - 1].median.toExponential(2)} [${v[n - 1].q25.toExponential(1)}, ${v[n - 1].q75.toExponential(1)}]`).join('  '));
  }
}

/** Median best regret against trials, log scale, one line per sampler. */
function svg(name, series) {
  const [W, H, L, B] = [660, 340, 60, 40];
  const all = Object.values(series).flatMap((s) => s.map((p) => p.median)).filter((v) => v > 0);
  const [lo, hi] = [Math.floor(Math.log10(Math.min(...all))), Math.ceil(Math.log10(Math.max(...all)))];
  const x = (n) => L + ((n - 1) / (TRIALS - 1)) * (W - L - 20);
  const y = (v) => 20 + ((hi - Math.log10(v)) / (hi - lo)) * (H - B - 20);
  const colours = { random: '#888', tpe: '#c0392b', optunaTpe5: '#2471a3', optunaTpe10: '#27ae60', optunaTpe5Fixed: '#8e44ad' };
  const labels = {
    random: 'random (ours)', tpe: 'TPE (ours, 5 start-up)', optunaTpe5: 'Optuna 3.1.0 TPE (5 start-up)',
    optunaTpe10: 'Optuna 3.1.0 TPE (10 start-up)', optunaTpe5Fixed: 'Optuna TPE, density fixed (5)',
  };
  const lines = Object.entries(series).map(([k, s], i) =>
    `<polyline fill="none" stroke="${colours[k]}" stroke-width="2" points="${s.map((p) => `${x(p.trials).toFixed(1)},${y(p.median).toFixed(1)}`).join(' ')}"/>` +
    `<text x="${W - 250}" y="${30 + 16 * i}" fill="${colours[k]}" font-size="12">${labels[k]}</text>`).join('\n');
  const ticks = Array.from({ length: hi - lo + 1 }, (_, i) => lo + i).map((e) => `<text x="${L - 6}" y="${y(10 ** e) + 4}" text-anchor="end" font-size="11">1e${e}</text><line x1="${L}" x2="${W - 20}" y1="${y(10 ** e)}" y2="${y(10 ** e)}" stroke="#eee"/>`).join('\n');
  const xticks = [1, 10, 20, 30, 40].filter((n) => n <= TRIALS).map((n) => `<text x="${x(n)}" y="${H - B + 16}" text-anchor="middle" font-size="11">${n}</text>`).join('\n');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif">
<rect width="100%" height="100%" fill="white"/>
${ticks}
${xticks}
<text x="${(W + L) / 2}" y="${H - 6}" text-anchor="middle" font-size="12">trials</text>
<text x="14" y="${H / 2}" transform="rotate(-90 14 ${H / 2})" text-anchor="middle" font-size="12">median best regret (${SEEDS} seeds)</text>
<text x="${L}" y="14" font-size="12">${name}</text>
${lines}
</svg>
`;
}

const out = { experiment: 'TPE vs random search regret (docs/search.md)', date: new Date().toISOString(), seeds: SEEDS, trials: TRIALS, startup: STARTUP, optuna: peer?.startup5.optuna ?? null, cores: cpus().length, seconds: (Date.now() - started) / 1000, results };
const dir = values.write ? join(root, 'bench', 'results') : mkdtempSync(join(tmpdir(), 'mars-bench-'));
const file = join(dir, 'search-regret.json');
writeFileSync(`${file}.tmp`, JSON.stringify(out, null, 2) + '\n');
renameSync(`${file}.tmp`, file);
for (const [name, r] of Object.entries(results)) writeFileSync(values.write ? join(root, 'docs', 'figures', `search-regret-${name}.svg`) : join(dir, `${name}.svg`), svg(name, r.series));
console.log(`\nwrote ${file}`);
