// The documents match the repository: every file or folder they name exists,
// every package script runs a file that exists, and README's table of
// fineTune defaults says what the zod schema (the one source of defaults) does.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FineTuneSchema, OptimizerSchema, RegulariserSchema, ScheduleSchema } from '../lib/train/index.js';
import { ROOT } from './helpers/paths.js';

const DOCS = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => join('docs', f))];
const TRACKED = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], { cwd: ROOT, encoding: 'utf8' }).split('\n').filter(Boolean);
const BASENAMES = new Set(TRACKED.map((f) => basename(f)));
const TOP = /^(lib|native|scripts|bench|test|docs|assets|\.ci)\//;
const SOURCE = /^[\w.-]+\.(ts|mts|mjs|cc|h|cu|py|sh)$/;
/** Files of other projects the documents may name. */
const EXTERNAL = new Set(['nccl.h']);

/** Everything in backticks, or alone in a table's first column, that names a repository path or a source file. */
function namedPaths(text: string): string[] {
  const quoted = [...text.matchAll(/`([^`\s]+)`/g)].map((m) => m[1] as string);
  const cells = [...text.matchAll(/^\| ([^|`\s]+) \|/gm)].map((m) => m[1] as string);
  return [...quoted, ...cells].filter((p) => TOP.test(p) || SOURCE.test(p));
}

describe('documents name only what exists', () => {
  it.each(DOCS)('%s', (doc) => {
    const exists = (p: string) => {
      if (!TOP.test(p)) return BASENAMES.has(p) || EXTERNAL.has(p);
      if (!/[*<]/.test(p)) return existsSync(join(ROOT, p));
      // `native/session.*`, `accuracy-n<N>.json`: a pattern some tracked file matches.
      const pattern = new RegExp(`^${p.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*|<[^>]*>/g, '[^/]*')}`);
      return TRACKED.some((f) => pattern.test(f));
    };
    const missing = namedPaths(readFileSync(join(ROOT, doc), 'utf8')).filter((p) => !exists(p));
    expect(missing).toEqual([]);
  });
});

it('every package script runs a file that exists', () => {
  const scripts = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
  const files = Object.values(scripts).flatMap((s) => [...s.matchAll(/(?:node|bash|python3?|\/usr\/bin\/python3)\s+([\w./-]+\.(?:mjs|js|sh|py))/g)].map((m) => m[1] as string));
  expect(files.length).toBeGreaterThan(0);
  expect(files.filter((f) => !existsSync(join(ROOT, f)))).toEqual([]);
});

it("README's fineTune defaults are the schema's", () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const row = (option: string) => readme.split('\n').find((l) => l.startsWith(`| \`${option}\``)) ?? '';
  const shape = FineTuneSchema.shape;
  const cell = (line: string) => line.split('|')[2]?.trim().replace(/^`|`$/g, '') ?? '';
  // The table writes objects as JS literals: read them as such and compare with what the schema fills in.
  const literal = (option: string) => Function(`return (${cell(row(option))})`)() as Record<string, unknown>;
  expect(cell(row('epochs'))).toBe([shape.epochs, shape.batchSize, shape.seed].map((s) => String(s.parse(undefined))).join(', '));
  expect(OptimizerSchema.parse({})).toMatchObject(literal('optimizer'));
  expect(shape.optimizer.parse(undefined)).toEqual(OptimizerSchema.parse(literal('optimizer')));
  expect(shape.schedule.parse(undefined)).toEqual(ScheduleSchema.parse(literal('schedule')));
  expect(shape.regulariser.parse(undefined)).toEqual(RegulariserSchema.parse(literal('regulariser')));
});
