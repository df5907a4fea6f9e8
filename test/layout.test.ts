// The layout the README's map describes: one room per concern under lib/,
// and every import pointing down the order below (never back up). A new room
// must be placed in this order on purpose.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { basename, dirname, join, normalize } from 'node:path';
import { expect, it } from 'vitest';
import { ROOT } from './helpers/paths.js';

/** Lowest first: a room may import only rooms listed before it. */
const ORDER = ['errors', 'util', 'native', 'torch', 'assets', 'data', 'classifier', 'projection', 'bound', 'logs', 'distributed', 'train', 'search', 'report', 'experiment', 'cli', 'index'];

const roomOf = (file: string) => {
  const parts = file.split('/');
  return parts.length > 2 ? (parts[1] as string) : basename(file).replace(/\..*$/, '');
};

it('every import in lib/ points down the order of rooms', () => {
  const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', 'lib'], { cwd: ROOT, encoding: 'utf8' })
    .split('\n')
    .filter((f) => /\.(ts|mjs)$/.test(f) && !f.endsWith('.d.mts'));
  const upward: string[] = [];
  const unknown = new Set<string>();
  for (const file of files) {
    const from = roomOf(file);
    for (const m of readFileSync(join(ROOT, file), 'utf8').matchAll(/from '(\.[^']+)'/g)) {
      const to = roomOf(normalize(join(dirname(file), m[1] as string)));
      if (to === from) continue;
      for (const r of [from, to]) if (!ORDER.includes(r)) unknown.add(r);
      if (ORDER.indexOf(to) > ORDER.indexOf(from)) upward.push(`${file} imports ${m[1]} (${from} -> ${to})`);
    }
  }
  expect([...unknown]).toEqual([]);
  expect(upward).toEqual([]);
});
