// The end-to-end check, run as a user would: `mars-ft finetune` on a
// folder of JPEG photos of mixed sizes (first without --resize: the hint
// names the flag), then with --resize and --log-dir; the event files read
// by the independent reader; `mars-ft report` opened in headless Chromium
// (Debian's), which must load it without errors or requests and find every
// plot drawn; `predict` applies the transforms the model recorded.
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { fixturePath, readEventFiles } from '../helpers/fixtures.js';
import { runCli } from '../helpers/cli.js';
import { photoFolder } from './photos.js';

const CLASSES = { 5: 'sandal', 7: 'sneaker', 9: 'ankle-boot' };
const root = mkdtempSync(join(tmpdir(), 'mars-report-'));
const out = join(root, 'run');
const run = (...args: string[]) => runCli(args);
const finetuneArgs = () => ['finetune', '--backbone', fixturePath('bn_resnet'), '--train', join(root, 'train'), '--val', join(root, 'val'), '--test', join(root, 'test'),
  '--epochs', '3', '--batch-size', '8', '--lr', '0.001', '--out', out];

beforeAll(async () => {
  await photoFolder(join(root, 'train'), 'train', CLASSES, 12, 1);
  await photoFolder(join(root, 'val'), 't10k', CLASSES, 4, 2);
  await photoFolder(join(root, 'test'), 't10k', CLASSES, 6, 3);
});

describe('mars-ft finetune on photos of mixed sizes', () => {
  it('without --resize stops with ERR_DATA_SIZE and names the flag that fixes it', async () => {
    const r = await run(...finetuneArgs());
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/\[ERR_DATA_SIZE\].*is \d+×\d+ after transforms.*--resize N/);
  });

  let stdout = '';
  let stderr = '';
  it('with --resize and --log-dir: a start-up line, one JSON line per epoch, model, summary and event files', async () => {
    const r = await run(...finetuneArgs(), '--resize', '28', '--log-dir', join(out, 'logs'), '--bound', 'posthoc', '--json-lines');
    ({ stdout, stderr } = r);
    expect(stderr).not.toMatch(/error/i);
    expect(r.status).toBe(0);
    expect(stderr).toMatch(/^train: 36 items, 3 classes \(ankle-boot 12, sandal 12, sneaker 12\) \| validation: 12 \| test: 18$/m);
    const lines = stdout.trim().split('\n').map((l) => JSON.parse(l) as { epoch: number; train: { loss: number } });
    expect(lines.map((l) => l.epoch)).toEqual([1, 2, 3]);
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    expect(summary.settings.transforms.eval).toEqual([{ op: 'resize', size: 28, kernel: 'linear' }, { op: 'centerCrop', size: [28, 28] }]);
    expect(summary.settings).toMatchObject({ epochs: 3, batchSize: 8, seed: 0, optimizer: { name: 'adam', lr: 0.001 }, schedule: { type: 'step' }, regulariser: { method: 'mars-sp' }, checkpoints: true });
    expect(summary.selected.epoch).toBe(summary.bestEpoch);
    expect(summary.final.epoch).toBe(3);
    for (const s of [summary.selected, summary.final]) expect(Object.keys(s).sort()).toEqual(['epoch', 'test', 'validation']);
    expect(summary.classCounts.train).toEqual([12, 12, 12]);
    expect(summary.environment.libtorch).toMatch(/^\d+\.\d+/);

    const logs = join(out, 'logs');
    const files = readdirSync(logs).filter((f) => f.startsWith('events.out.tfevents.')).map((f) => join(logs, f));
    const read = readEventFiles<{ events: { step: number; file_version?: string; values: { tag: string; simple_value?: number }[] }[] }[]>(files);
    const events = read[0]!.events;
    expect(events[0]!.file_version).toBe('brain.Event:2');
    expect(events.slice(1).map((e) => e.step)).toEqual([1, 2, 3]);
    events.slice(1).forEach((e, i) => expect(e.values.find((v) => v.tag === 'loss/train')!.simple_value).toBeCloseTo(lines[i]!.train.loss, 5));
    expect(existsSync(join(logs, 'metrics.csv'))).toBe(true);
  });

  it('mars-ft report writes one self-contained HTML file that headless Chromium loads, every plot drawn', async () => {
    const r = await run('report', out);
    expect(r.status).toBe(0);
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    expect(html).not.toMatch(/<script|<link|src=/i);
    const browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
      const problems: string[] = [];
      page.on('console', (m) => m.type() === 'error' && problems.push(m.text()));
      page.on('pageerror', (e) => problems.push(String(e)));
      page.on('request', (q) => !q.url().startsWith('file:') && problems.push(`request ${q.url()}`));
      await page.goto(`file://${join(out, 'report.html')}`);
      const figures = await page.$$eval('figure svg', (svgs) =>
        svgs.map((svg) => {
          const marks = [...svg.querySelectorAll('g.role-mark path')].filter((p) => (p.getAttribute('d') ?? '') !== '' && p.getBoundingClientRect().width + p.getBoundingClientRect().height > 0);
          return { marks: marks.length, lines: [...svg.querySelectorAll('g.mark-line.role-mark path')].filter((p) => /L/.test(p.getAttribute('d') ?? '')).length, title: svg.querySelector('.role-title-text')?.textContent ?? '' };
        }),
      );
      await page.screenshot({ path: join(out, 'report.png'), fullPage: true });
      expect(problems).toEqual([]);
      expect(figures.map((f) => f.title)).toEqual([
        'Cross-entropy loss', 'Accuracy', 'Learning rate',
        expect.stringMatching(/^Per layer at epoch \d: MARS distance \(bars\) against radius \(ticks\)$/),
        'Largest MARS distance per group, and its radius', 'Generalisation bound: its terms per epoch',
      ]);
      for (const f of figures) expect(f.marks).toBeGreaterThan(0);
      for (const i of [0, 1, 2, 4, 5]) expect(figures[i]!.lines).toBeGreaterThan(0);
      const text = await page.textContent('body');
      expect(text).toMatch(/The bound is (vacuous: the bound .* is above 1|the error rate is at most)/);
      expect(text).toMatch(/backbone \(\d+ weight tensors\): largest MARS distance/);
    } finally {
      await browser.close();
    }
    console.log(`report screenshot: ${join(out, 'report.png')}`);
  });

  it('predict classifies the mixed-size photos with the transforms the model recorded', async () => {
    const r = await run('predict', '--model', join(out, 'model.pt'), join(root, 'test', 'sandal'), '--top', '1', '--json');
    expect(r.stderr).toBe('');
    const results = JSON.parse(r.stdout) as { file: string; predictions: { className: string }[] }[];
    expect(results).toHaveLength(6);
    for (const x of results) expect(Object.values(CLASSES)).toContain(x.predictions[0]!.className);
  });
});
