/** `mars-ft bound`: the distance-based generalisation bound of a fine-tuned network (docs/bound.md). */
import { parseArgs } from 'node:util';
import { computeBound, type BoundReport } from '../bound/compute.js';
import { DataLoader } from '../data/loader.js';
import { integerList, number as numberFlag } from './args.js';
import { openData } from './data.js';
import { formatTable } from './table.js';
import { UsageError } from './usage.js';

export const boundHelp = `mars-ft bound --model FILE.pt --init FILE.pt --data DATA [options]

The per-layer distances of a fine-tuned network from its initial weights (MARS
and Frobenius norms), the Rademacher complexity they give, and the multi-class
margin bound, beside the spectral bound of Bartlett et al. (docs/bound.md).

  --model FILE.pt        the fine-tuned network (TorchScript)
  --init FILE.pt         the initial network: the full pre-trained one, or the
                         backbone alone (the new head then starts at zero)
  --data DATA            the training inputs: a folder of class subfolders,
                         idx:IMAGES,LABELS (gzipped or not), or a manifest
  --classes 5,6,7        select these labels and relabel them 0,1,2
  --per-class N          N inputs of each class, drawn with --seed (default 0)
  --margin R             ρ of the margin loss (default 1)
  --delta D              the bound holds with probability 1 - D (default 0.05)
  --mode M               posthoc (measured distances, the default) or apriori
  --radius R             a priori: γ_ext, the backbone layers' radius
  --head-radius R        a priori: γ_cls, the head's radius
  --bn-radius R          a priori: radius of BatchNorm scales (default: --radius)
  --no-spectral          skip spectral norms and the comparison bound (faster)
  --json                 print the full report as JSON`;

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
    formatTable(['layer', 'kind', 'rows', 'init ||.||inf', '||.||inf', 'MARS dist', 'Frob dist', 'radius', 'spectral'], rows, [2, 3, 4, 5, 6, 7, 8]),
    '',
    `Rademacher complexity of one output, Q/m:  ${fmt(r.rademacher)}`,
    `Generalisation (ρ = ${g.margin}, δ = ${g.delta}):  error <= ${fmt(g.marginLoss)} (margin loss) + ${fmt(g.complexity)} ((4K/ρ) R_S(Π1)) + ${fmt(g.confidence)} (confidence) = ${fmt(g.total)}`,
  ];
  if (r.spectral) lines.push(`Spectral comparison (Bartlett et al. 2017, M = W0):  ||X||_2 R_A / (ρ m) = ${fmt(r.spectral.complexity)}  vs MARS term ${fmt(g.complexity)}`);
  lines.push(`${r.graf.label}:  ${fmt(r.graf.value)}`, '', ...r.notes.map((n) => `note: ${n}`));
  return lines.join('\n');
}

export async function bound(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      model: { type: 'string' },
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
  const { model, init, data } = values;
  if (!model || !init || !data) throw new UsageError('--model, --init and --data are required', boundHelp);
  const radius = number('radius', values.radius);
  const headRadius = number('head-radius', values['head-radius']);
  if ((radius === undefined) !== (headRadius === undefined)) throw new UsageError('give --radius and --head-radius together', boundHelp);
  const perClass = number('per-class', values['per-class']);
  const classes = integerList('classes', values.classes, boundHelp);
  const dataset = await openData(data, { seed: number('seed', values.seed) ?? 0, ...(classes ? { classes } : {}), ...(perClass === undefined ? {} : { perClass }) }, true);
  const report = await computeBound({
    model,
    init,
    data: new DataLoader(dataset, { batchSize: 256, shuffle: false }).epoch(0),
    margin: number('margin', values.margin),
    delta: number('delta', values.delta),
    mode: values.mode as 'posthoc' | 'apriori' | undefined,
    radii: radius === undefined ? undefined : { backbone: radius, head: headRadius as number, batchnorm: number('bn-radius', values['bn-radius']) },
    spectral: !values['no-spectral'],
  });
  process.stdout.write((values.json ? JSON.stringify(report, null, 2) : table(report)) + '\n');
}
