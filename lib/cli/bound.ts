/** `mars-ft bound`: the distance-based generalisation bound of a fine-tuned network (docs/bound.md). */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { computeBound, type BoundReport } from '../bound/compute.js';
import { boundInWords } from '../bound/generalisation.js';
import { BoundOptionsSchema, type Radii } from '../bound/options.js';
import { loadCheckpoint } from '../classifier/checkpoint.js';
import { DataLoader } from '../data/loader.js';
import type { LoaderOptions } from '../data/options.js';
import { MarsError } from '../errors.js';
import { load, type Module } from '../torch/module.js';
import { marsSpRadii } from '../train/radii.js';
import type { RegulariserOptions } from '../train/regularisers.js';
import { integerList, number as numberFlag, parseFlags } from './args.js';
import { openData } from './data.js';
import { formatTable } from './table.js';
import { UsageError } from './usage.js';

export const boundHelp = `mars-ft bound --model FILE.pt --init FILE.pt --data DATA [options]
mars-ft bound --from-run RUN_DIR --init FILE.pt --data DATA [options]

The per-layer distances of a fine-tuned network from its initial weights (MARS
and Frobenius norms), the Rademacher complexity they give, and the multi-class
margin bound, beside the spectral bound of Bartlett et al. (docs/bound.md).
Data are read as finetune reads them: channels follow the network's first
convolution (with --from-run, the run's evaluation transforms too).

  --model FILE.pt        the fine-tuned network (TorchScript)
  --from-run RUN_DIR     a run of mars-ft finetune: its model.pt, a priori in
                         the class of the MARS-SP radii it was trained with
  --init FILE.pt         the initial network: the full pre-trained one, or the
                         backbone alone (the new head then starts at zero)
  --data DATA            the training inputs: a folder of class subfolders,
                         idx:IMAGES,LABELS (gzipped or not), or a manifest
  --classes 5,6,7        select these labels and relabel them 0,1,2
  --per-class N          N inputs of each class, drawn with --seed (default 0)
  --margin R             ρ of the margin loss (default ${BoundOptionsSchema.shape.margin.parse(undefined)})
  --delta D              the bound holds with probability 1 - D (default ${BoundOptionsSchema.shape.delta.parse(undefined)})
  --mode M               posthoc (measured distances, the default) or apriori
  --radius R             a priori: γ_ext, the backbone layers' radius
  --head-radius R        a priori: γ_cls, the head's radius (around zero)
  --bn-radius R          a priori: the clip of BatchNorm scales (default: --radius)
  --no-spectral          skip spectral norms and the comparison bound (faster)
  --json                 print the full report as JSON

A priori, the network must lie in the class (every projected row within its
radius, BatchNorm scales within their clip, the head centred at zero), or the
command fails with ERR_BOUND_OUTSIDE_CLASS naming the layer.`;

const number = (flag: string, v: string | undefined) => numberFlag(flag, v, boundHelp);
const fmt = (x: number | undefined) => (x === undefined ? '-' : x === 0 || (Math.abs(x) >= 1e-3 && Math.abs(x) < 1e6) ? x.toPrecision(4) : x.toExponential(3));

function table(r: BoundReport): string {
  const rows = r.layers.map((l) => [
    l.name + (l.batchnorm ? ` (+${l.batchnorm})` : '') + (l.head ? ' [head]' : ''),
    l.kind,
    String(l.rows),
    fmt(l.initNorm),
    fmt(l.norm),
    fmt(l.distance),
    fmt(l.frobeniusDistance),
    fmt(l.radius),
    fmt(l.spectralNorm),
  ]);
  const g = r.generalisation;
  const lines = [
    `bound (${r.mode === 'posthoc' ? 'post hoc' : 'a priori'}): m = ${r.m}, d = ${r.d}, X = ${fmt(r.X)}, K = ${r.K}`,
    '',
    formatTable(['layer', 'kind', 'rows', 'init ||.||inf', '||.||inf', 'MARS dist', 'Frob dist', 'W radius', 'spectral'], rows, [2, 3, 4, 5, 6, 7, 8]),
    '',
    `Rademacher complexity of one output, Q/m:  ${fmt(r.rademacher)}`,
    `Generalisation (ρ = ${g.margin}, δ = ${g.delta}), every constant included:  error <= ${fmt(g.marginLoss)} (margin loss) + ${fmt(g.complexity)} ((4K/ρ) R_S(Π1)) + ${fmt(g.confidence)} (confidence) = ${fmt(g.total)}`,
    `  ${boundInWords(g.total)}`,
  ];
  if (r.spectral) {
    lines.push(
      `Complexity terms:  MARS (4K/ρ) R_S(Π1) = ${fmt(g.complexity)}, with all its constants;  spectral (Bartlett et al. 2017, M = W0) ||X||_2 R_A / (ρ m) = ${fmt(r.spectral.complexity)}, without their Theorem 1.1's constants and log factors`,
    );
  }
  lines.push(`${r.graf.label}, with its constants:  ${fmt(r.graf.value)}`);
  if (r.measured.length) {
    lines.push('', 'measured, not projected (read off the network):', ...r.measured.map((p) => `  ${p.layer}: ${p.part}, up to ${fmt(p.distance)}`));
  }
  lines.push('', ...r.notes.map((n) => `note: ${n}`));
  return lines.join('\n');
}

/** The regulariser settings a run recorded: summary.json's, else those in model.pt. */
function runRegulariser(dir: string, metaRegulariser: unknown): RegulariserOptions {
  const summaryPath = join(dir, 'summary.json');
  const summary = existsSync(summaryPath) ? (JSON.parse(readFileSync(summaryPath, 'utf8')) as { regulariser?: unknown }) : {};
  const settings = summary.regulariser ?? metaRegulariser;
  if (!settings) {
    throw new MarsError('ERR_INVALID_ARGUMENT', `${dir} records no regulariser settings (neither summary.json nor model.pt has them); give --model with --mode apriori --radius R --head-radius R`);
  }
  return settings as RegulariserOptions;
}

/** The network, and with --from-run the radii and evaluation transforms it was trained with. */
async function network(values: { model?: string; 'from-run'?: string }): Promise<{ model: Module; radii?: Radii; transforms?: LoaderOptions['transforms'] }> {
  const run = values['from-run'];
  if (!run) return { model: await load(values.model as string) };
  const { model, meta } = await loadCheckpoint(join(run, 'model.pt'));
  const radii = marsSpRadii(runRegulariser(run, meta.regulariser), model.parameters());
  return { model, radii, transforms: meta.evalTransforms as LoaderOptions['transforms'] };
}

export async function bound(argv: string[]): Promise<void> {
  const { values, positionals } = parseFlags({
    args: argv,
    options: {
      model: { type: 'string' },
      'from-run': { type: 'string' },
      init: { type: 'string' },
      data: { type: 'string' },
      classes: { type: 'string' },
      'per-class': { type: 'string' },
      seed: { type: 'string' },
      margin: { type: 'string' },
      delta: { type: 'string' },
      mode: { type: 'string' },
      radius: { type: 'string' },
      'head-radius': { type: 'string' },
      'bn-radius': { type: 'string' },
      'no-spectral': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
    allowPositionals: true,
  });
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`, boundHelp);
  const { init, data } = values;
  const fromRun = values['from-run'];
  if ((values.model === undefined) === (fromRun === undefined)) throw new UsageError('give --model or --from-run (one of them)', boundHelp);
  if (!init || !data) throw new UsageError('--init and --data are required', boundHelp);
  const radius = number('radius', values.radius);
  const headRadius = number('head-radius', values['head-radius']);
  const bnRadius = number('bn-radius', values['bn-radius']);
  if ((radius === undefined) !== (headRadius === undefined)) throw new UsageError('give --radius and --head-radius together', boundHelp);
  if (fromRun && (radius !== undefined || bnRadius !== undefined || values.mode !== undefined)) {
    throw new UsageError('--from-run reads the radii the run was trained with; leave out --mode, --radius, --head-radius and --bn-radius', boundHelp);
  }
  const perClass = number('per-class', values['per-class']);
  const classes = integerList('classes', values.classes, boundHelp);
  const net = await network(values);
  const dataset = await openData(data, { seed: number('seed', values.seed) ?? 0, ...(classes ? { classes } : {}), ...(perClass === undefined ? {} : { perClass }) }, true);
  const loader = new DataLoader(dataset, { batchSize: 256, shuffle: false, backbone: net.model.parameters(), ...(net.transforms ? { transforms: net.transforms } : {}) });
  const controller = new AbortController();
  const onSigint = () => controller.abort();
  process.once('SIGINT', onSigint);
  let report: BoundReport;
  try {
    report = await computeBound({
      model: net.model,
      init,
      data: loader.epoch(0),
      margin: number('margin', values.margin),
      delta: number('delta', values.delta),
      mode: net.radii ? 'apriori' : (values.mode as 'posthoc' | 'apriori' | undefined),
      radii: net.radii ?? (radius === undefined ? undefined : { backbone: radius, head: headRadius as number, batchnorm: bnRadius }),
      spectral: !values['no-spectral'],
      signal: controller.signal,
    });
  } finally {
    process.off('SIGINT', onSigint);
  }
  process.stdout.write((values.json ? JSON.stringify(report, null, 2) : table(report)) + '\n');
}
