/**
 * Training progress for the CLI: on a terminal, one line redrawn in place
 * (bar, batch, live loss and accuracy, ETA); otherwise one plain line per
 * epoch, so logs stay readable.
 */
import type { BatchEnd, EpochEnd } from '../train/options.js';

/** 42s, 3m05s, 1h02m; `?` when unknown. */
export function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  return s >= 3600 ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m` : s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

export const pct = (x: number | undefined | null) => (x === undefined || x === null || Number.isNaN(x) ? '-' : `${(100 * x).toFixed(1)}%`);

export class Progress {
  private readonly started = performance.now();
  private readonly tty: boolean;
  private stepsDone = 0;

  constructor(
    private readonly out: NodeJS.WriteStream,
    private readonly epochs: number,
    private readonly label = '',
  ) {
    this.tty = Boolean(out.isTTY);
  }

  batch(b: BatchEnd): void {
    this.stepsDone++;
    if (!this.tty) return;
    const total = this.epochs * b.batches;
    const elapsed = (performance.now() - this.started) / 1000;
    const eta = (elapsed / this.stepsDone) * (total - this.stepsDone);
    const width = 24;
    const filled = Math.round((width * b.batch) / b.batches);
    const bar = '#'.repeat(filled) + '.'.repeat(width - filled);
    const line = `${this.label}epoch ${b.epoch}/${this.epochs} [${bar}] ${b.batch}/${b.batches} loss ${b.loss.toFixed(4)} acc ${pct(b.accuracy)} ETA ${duration(eta)}`;
    this.out.write(`\r${line.slice(0, (this.out.columns || 120) - 1).padEnd(Math.min(this.out.columns || 120, 120) - 1)}`);
  }

  epoch(e: EpochEnd): void {
    const maxDistance = Math.max(0, ...e.distances.map((d) => d.mars));
    const line =
      `${this.label}epoch ${e.epoch}/${this.epochs}: loss ${e.train.loss.toFixed(4)} acc ${pct(e.train.accuracy)}` +
      (e.validation ? ` | val loss ${e.validation.loss.toFixed(4)} acc ${pct(e.validation.accuracy)}` : '') +
      (e.distances.length ? ` | max MARS distance ${maxDistance.toFixed(3)}` : '') +
      ` | ${e.seconds.toFixed(1)} s`;
    this.out.write(this.tty ? `\r${line.padEnd(Math.min(this.out.columns || 120, 120) - 1)}\n` : `${line}\n`);
  }
}
