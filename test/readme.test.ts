// Every ```ts block of README.md is a program a reader can paste: each is
// written into an empty project where `mars-finetune` is this package (as npm
// would install it), type-checked by tsc under strict settings, then run with
// node. The blocks are read from README.md itself, so they cannot drift.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from './helpers/paths.js';

const blocks = [...readFileSync(join(ROOT, 'README.md'), 'utf8').matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1] as string);
const project = mkdtempSync(join(tmpdir(), 'mars-readme-'));
// Asynchronous, so that the test worker stays responsive while tsc and the blocks run.
const run = promisify(execFile);

beforeAll(async () => {
  mkdirSync(join(project, 'node_modules', '@types'), { recursive: true });
  symlinkSync(ROOT, join(project, 'node_modules', 'mars-finetune'));
  symlinkSync(join(ROOT, 'node_modules', '@types', 'node'), join(project, 'node_modules', '@types', 'node'));
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'readme-blocks', private: true, type: 'module' }));
  writeFileSync(join(project, 'tsconfig.json'), JSON.stringify({
    compilerOptions: {
      target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', lib: ['ES2022', 'ESNext.Disposable'], types: ['node'],
      strict: true, noUncheckedIndexedAccess: true, noImplicitOverride: true, skipLibCheck: false, outDir: 'out',
    },
    include: ['*.ts'],
  }));
  blocks.forEach((code, i) => writeFileSync(join(project, `block${i + 1}.ts`), code));
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  try {
    await run(process.execPath, [tsc, '-p', project], { encoding: 'utf8' });
  } catch (e) {
    throw new Error(`README's TypeScript does not type-check:\n${(e as { stdout: string }).stdout}`);
  }
}, 300_000);

describe("README's TypeScript blocks", () => {
  it('there are blocks to check', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(3);
  });

  it.each(blocks.map((code, i) => ({ n: i + 1, first: code.split('\n').find((l) => l.trim() && !l.startsWith('import')) ?? '' })))(
    'block $n runs ($first)',
    async ({ n }) => {
      const cwd = join(project, `run${n}`);
      mkdirSync(cwd);
      await run(process.execPath, [join(project, 'out', `block${n}.js`)], { cwd, encoding: 'utf8', timeout: 600_000 });
    },
    600_000,
  );
});
