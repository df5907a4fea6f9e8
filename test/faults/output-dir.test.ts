// The folder a run writes into: Node's recursive mkdir spun for ever under
// /proc, reported a file in the way as a bare EEXIST and a read-only parent
// as ENOENT. ensureOutputDir (lib/util/output-dir.ts) says what is wrong, in
// milliseconds, with ERR_OUTPUT_DIR.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { load } from '../../lib/index.js';
import { ensureOutputDir } from '../../lib/util/output-dir.js';
import { fixturePath } from '../helpers/fixtures.js';
import { mountTmpfs, unmount } from '../helpers/mounts.js';
import { CLI } from '../helpers/paths.js';

const root = mkdtempSync(join(tmpdir(), 'mars-outdir-'));
const readOnly = join(root, 'read-only');
const mounted = mountTmpfs(readOnly, '1m', true);
afterAll(() => {
  if (mounted) unmount(readOnly);
});

async function refusal(path: string): Promise<{ message: string; ms: number }> {
  const started = performance.now();
  const e = await ensureOutputDir(path).then(() => null, (err: unknown) => err as Error & { code?: string });
  expect(e?.code).toBe('ERR_OUTPUT_DIR');
  return { message: e!.message, ms: performance.now() - started };
}

describe('ensureOutputDir', () => {
  it('creates nested folders and leaves nothing else in them', async () => {
    const dir = join(root, 'a', 'b', 'c');
    expect(await ensureOutputDir(dir)).toBe(dir);
    expect(existsSync(dir)).toBe(true);
    expect(spawnSync('ls', ['-A', dir], { encoding: 'utf8' }).stdout).toBe('');
  });

  it('under /proc: refused at once, nothing created', async () => {
    const r = await refusal('/proc/mars-finetune-test/run');
    expect(r.message).toMatch(/\/proc does not allow creating folders/);
    expect(r.ms).toBeLessThan(1000);
    expect(existsSync('/proc/mars-finetune-test')).toBe(false);
  });

  it('a file in the way, as the folder or as a parent', async () => {
    const file = join(root, 'a-file');
    writeFileSync(file, 'x');
    expect((await refusal(file)).message).toMatch(/a-file is a file, not a folder/);
    expect((await refusal(join(file, 'sub'))).message).toMatch(/a-file is a file, not a folder/);
  });

  it('a read-only parent', async () => {
    if (!mounted) {
      // Without root, permissions do the same job (root ignores them, so the tests use a read-only mount).
      mkdirSync(readOnly, { recursive: true });
      chmodSync(readOnly, 0o555);
    }
    const r = await refusal(join(readOnly, 'run'));
    expect(r.message).toMatch(mounted ? /read-only file system/ : /no permission/);
  });

  it('a loop of symbolic links', async () => {
    symlinkSync(join(root, 'loop-b'), join(root, 'loop-a'));
    symlinkSync(join(root, 'loop-a'), join(root, 'loop-b'));
    expect((await refusal(join(root, 'loop-a', 'run'))).message).toMatch(/loop of symbolic links/);
    // and load() says so too, instead of "no such file"
    await expect(load(join(root, 'loop-a'))).rejects.toMatchObject({ code: 'ERR_TORCHSCRIPT_LOAD', message: expect.stringMatching(/loop of symbolic links/) });
  });
});

describe('mars-ft finetune --out', () => {
  it('under /proc exits 1 with ERR_OUTPUT_DIR in seconds, before reading any data', () => {
    const started = performance.now();
    const r = spawnSync(process.execPath, [CLI, 'finetune', '--backbone', fixturePath('bn_resnet'), '--train', '/nonexistent', '--test', '/nonexistent',
      '--out', '/proc/mars-finetune-test/run'], { encoding: 'utf8', timeout: 60_000 });
    expect(r.signal).toBeNull(); // it spun at 100% CPU until killed
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/\[ERR_OUTPUT_DIR\]/);
    expect((performance.now() - started) / 1000).toBeLessThan(10);
  });
});
