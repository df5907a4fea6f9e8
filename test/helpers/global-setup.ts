// Before any test: compiles the TypeScript into dist/ (the CLI tests and the
// child processes run the compiled package, which must never be stale), and
// generates the PyTorch fixtures when they are missing or were made by an
// older version of the fixture scripts (the stamp records a hash of them).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURES, PYTHON, ROOT } from './paths.js';

function scriptsHash(): string {
  const dir = join(ROOT, 'scripts', 'fixtures');
  const hash = createHash('sha1');
  for (const f of readdirSync(dir).filter((f) => f.endsWith('.py')).sort()) hash.update(f).update(readFileSync(join(dir, f)));
  return hash.digest('hex');
}

export default function setup(): void {
  execFileSync('npm', ['run', '--silent', 'build:ts'], { cwd: ROOT, stdio: 'inherit' });
  const stampFile = join(FIXTURES, 'stamp.json');
  const want = scriptsHash();
  const stamp = existsSync(stampFile) ? (JSON.parse(readFileSync(stampFile, 'utf8')) as { scripts?: string }) : {};
  if (stamp.scripts === want) return;
  execFileSync(PYTHON, [join(ROOT, 'scripts', 'fixtures', 'make.py'), FIXTURES, want], { stdio: 'inherit' });
}
