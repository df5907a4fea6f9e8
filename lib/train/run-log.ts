/**
 * What a run logs with `logDir`: after every epoch, one TensorBoard event
 * (scalars and histograms, tags below) and `metrics.csv` rewritten with the
 * whole history, one row per epoch, its columns the same quantities as the
 * scalar tags (`loss/train` → `loss_train`).
 *
 * Scalars: loss, accuracy (train, validation), penalty, learning rate; per
 * group (backbone, head) the largest and the mean MARS distance, the largest
 * Frobenius distance and the largest radius; the bound's terms when logged.
 * Histograms: the per-layer MARS distances of each group.
 */
import { join } from 'node:path';
import { csvText, EventWriter, type CsvCell } from '../logs/index.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { distanceGroups, groupOf } from './distance-groups.js';
import type { EpochEnd } from './options.js';

/** The scalars of one epoch by tag, in a fixed order; absent values are undefined. */
export function epochScalars(e: EpochEnd, method: string): [string, number | undefined][] {
  const out: [string, number | undefined][] = [
    ['loss/train', e.train.loss],
    ['loss/validation', e.validation?.loss],
    ['accuracy/train', e.train.accuracy],
    ['accuracy/validation', e.validation?.accuracy],
    ['penalty/train', e.train.penalty],
    ['learning_rate', e.learningRate],
  ];
  for (const g of distanceGroups(e.distances, method)) {
    out.push(
      [`distance/${g.group}_mars_max`, g.marsMax],
      [`distance/${g.group}_mars_mean`, g.marsMean],
      [`distance/${g.group}_frobenius_max`, g.frobeniusMax],
      [`distance/${g.group}_radius`, g.radius?.max],
    );
  }
  if (e.bound) {
    const b = e.bound;
    out.push(['bound/margin_loss', b.marginLoss], ['bound/complexity', b.complexity], ['bound/confidence', b.confidence], ['bound/total', b.total], ['bound/rademacher', b.rademacher]);
    if (b.spectralComplexity !== undefined) out.push(['bound/spectral_complexity', b.spectralComplexity]);
  }
  return out;
}

/** The CSV of a history: one row per epoch, a column per scalar tag that any epoch has. */
export function metricsCsv(history: readonly EpochEnd[], method: string): string {
  const rows = history.map((e) => new Map(epochScalars(e, method)));
  const tags = [...new Set(rows.flatMap((r) => [...r].filter(([, v]) => v !== undefined).map(([t]) => t)))];
  const header = ['epoch', ...tags.map((t) => t.replace(/\//g, '_')), 'seconds'];
  return csvText(header, history.map((e, i): CsvCell[] => [e.epoch, ...tags.map((t) => rows[i]!.get(t)), e.seconds]));
}

export class RunLog {
  private readonly events: EventWriter;

  constructor(
    readonly dir: string,
    private readonly method: string,
  ) {
    this.events = new EventWriter(dir);
  }

  get eventFile(): string {
    return this.events.path;
  }

  /** Logs the epoch that ends `history`. */
  async epoch(history: readonly EpochEnd[]): Promise<void> {
    const e = history.at(-1);
    if (!e) return;
    const scalars = Object.fromEntries(epochScalars(e, this.method).filter((s): s is [string, number] => s[1] !== undefined));
    const histograms: Record<string, number[]> = {};
    for (const d of e.distances) (histograms[`layer_distance/${groupOf(d.name)}_mars`] ??= []).push(d.mars);
    this.events.write(e.epoch, { scalars, histograms });
    await writeFileAtomic(join(this.dir, 'metrics.csv'), metricsCsv(history, this.method), 'ERR_WRITE');
  }
}
