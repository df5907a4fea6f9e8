// `mars-ft finetune --resume` says what it resumes. A double Ctrl-C in the
// first epoch left best.pt but no last.pt, and --resume then trained from
// scratch without a word (over metrics.jsonl of the run before); now that is
// refused with ERR_CHECKPOINT, and a folder with no checkpoint at all starts
// from scratch saying so, as Lightning's ckpt_path="last" does.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { fixturePath } from '../helpers/fixtures.js';

const FMNIST = '/usr/share/datasets/fashion-mnist';
const data = (split: string) => `idx:${FMNIST}/${split}-images-idx3-ubyte.gz,${FMNIST}/${split}-labels-idx1-ubyte.gz`;
const finetune = (out: string, ...more: string[]) => runCli(['finetune', '--backbone', fixturePath('bn_resnet'), '--train', data('train'),
  '--classes', '7,8', '--per-class', '5', '--epochs', '1', '--batch-size', '5', '--out', out, ...more]);

describe('mars-ft finetune --resume', () => {
  it('refuses a folder holding best.pt but no last.pt with ERR_CHECKPOINT, saying to start over without --resume; nothing is touched', async () => {
    const out = mkdtempSync(join(tmpdir(), 'mars-resume-best-'));
    mkdirSync(join(out, 'checkpoints'));
    // Any file will do: the check is made before anything is read, the data included.
    copyFileSync(fixturePath('small_cnn'), join(out, 'checkpoints', 'best.pt'));
    writeFileSync(join(out, 'metrics.jsonl'), '{"epoch":1}\n');
    const r = await finetune(out, '--resume');
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/\[ERR_CHECKPOINT\]: cannot resume from .*checkpoints: it holds best\.pt but no last\.pt.*drop --resume/);
    expect(r.stderr).not.toMatch(/^train:/m);
    expect(readFileSync(join(out, 'metrics.jsonl'), 'utf8')).toBe('{"epoch":1}\n');
    expect(existsSync(join(out, 'checkpoints', 'last.pt'))).toBe(false);
  });

  it('into a folder with no checkpoint: one line on stderr, then a run from scratch (metrics.jsonl of an earlier run dropped)', async () => {
    const out = mkdtempSync(join(tmpdir(), 'mars-resume-none-'));
    writeFileSync(join(out, 'metrics.jsonl'), '{"epoch":1}\n{"epoch":2}\n');
    const r = await finetune(out, '--resume');
    expect(r.stderr).toContain(`no checkpoint in ${join(out, 'checkpoints')}; starting from scratch\n`);
    expect(r.status).toBe(0);
    const epochs = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { epoch: number }).epoch);
    expect(epochs).toEqual([1]);
    expect(existsSync(join(out, 'checkpoints', 'last.pt'))).toBe(true);
  });
});
