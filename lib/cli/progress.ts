/**
 * Training progress for the CLI: on a terminal, one line redrawn in place
 * (bar, batch, live loss and accuracy, ETA); otherwise one plain line per
 * epoch, so logs stay readable. The ETA is measured from the end of the first
 * batch (which carries start-up and warm-up) and is not shown until a second
 * batch has given it a rate.
 */
import { distanceGroups, radiusNorm, type DistanceGroup } from '../train/distance-groups.js';
import type { BatchEnd, EpochEnd } from '../train/options.js';

/** 42s, 3m05s, 1h02m; `?` when unknown. */
export function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  return s >= 3600 ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m` : s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

export const pct = (x: number | undefined | null) => (x === undefined || x === null || Number.isNaN(x) ? '-' : `${(100 * x).toFixed(1)}%`);

/** "backbone max MARS 1.834 (radius 2)": each group against its own radius, in the norm that radius bounds. */
function groupText(g: DistanceGroup, method: string): string {
  const norm = radiusNorm(method);
  const value = norm === 'frobenius' ? g.frobeniusMax : g.marsMax;
  const radius = g.radius && (g.radius.min === g.radius.max ? ` (radius ${g.radius.max})` : ` (radii ${g.radius.min}-${g.radius.max}, ${(100 * (g.usedOfRadius ?? 0)).toFixed(0)}% used)`);
  return `${g.group} max ${norm === 'frobenius' ? 'Frobenius' : 'MARS'} ${value.toFixed(3)}${radius ?? ''}`;
}

export class Progress {
  private readonly tty: boolean;
  /** When the first batch ended, and how many batches ended since. */
  private firstBatchEnd: number | undefined;
  private batchesSince = 0;

  constructor(
    private readonly out: NodeJS.WriteStream,
    private readonly epochs: number,
    private readonly label = '',
    private readonly method = 'mars-sp',
  ) {
    this.tty = Boolean(out.isTTY);
  }

  /** Seconds left, from the rate since the first batch (evaluation passes included); undefined until there is a rate. */
  eta(b: BatchEnd, now = performance.now()): number | undefined {
    if (this.firstBatchEnd === undefined) {
      this.firstBatchEnd = now;
      return undefined;
    }
    this.batchesSince++;
    const perBatch = (now - this.firstBatchEnd) / 1000 / this.batchesSince;
    return perBatch * ((this.epochs - b.epoch) * b.batches + (b.batches - b.batch));
  }

  batch(b: BatchEnd): void {
    const eta = this.eta(b);
    if (!this.tty) return;
    const width = 24;
    const filled = Math.round((width * b.batch) / b.batches);
    const bar = '#'.repeat(filled) + '.'.repeat(width - filled);
    const line = `${this.label}epoch ${b.epoch}/${this.epochs} [${bar}] ${b.batch}/${b.batches} loss ${b.loss.toFixed(4)} acc ${pct(b.accuracy)} ETA ${eta === undefined ? '…' : duration(eta)}`;
    this.out.write(`\r${line.slice(0, (this.out.columns || 120) - 1).padEnd(Math.min(this.out.columns || 120, 120) - 1)}`);
  }

  epoch(e: EpochEnd): void {
    const line =
      `${this.label}epoch ${e.epoch}/${this.epochs}: loss ${e.train.loss.toFixed(4)} acc ${pct(e.train.accuracy)}` +
      (e.validation ? ` | val loss ${e.validation.loss.toFixed(4)} acc ${pct(e.validation.accuracy)}` : '') +
      distanceGroups(e.distances, this.method).map((g) => ` | ${groupText(g, this.method)}`).join('') +
      (e.bound ? ` | bound ${e.bound.total.toPrecision(3)}${e.bound.total > 1 ? ' (vacuous: above 1)' : ''}` : '') +
      ` | lr ${e.learningRate.toPrecision(3)} | ${e.seconds.toFixed(1)} s`;
    this.out.write(this.tty ? `\r${line.padEnd(Math.min(this.out.columns || 120, 120) - 1)}\n` : `${line}\n`);
  }
}
