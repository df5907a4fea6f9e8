/**
 * Plain-JavaScript copy of lib/data for child processes, whose memory must be
 * measured without a TypeScript loader in the way. Transpiled file by file
 * with the project's own TypeScript (no type check: tsc does that).
 */
import { mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const repo = fileURLToPath(new URL('../../..', import.meta.url));

/** Writes lib/data/**.ts and what it imports (lib/errors.ts) as .js under `out`; returns the path of lib/data/index.js. */
export function buildLib(out: string): string {
  const walk = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
  for (const file of [...walk(join(repo, 'lib', 'data')), join(repo, 'lib', 'errors.ts')]) {
    const { outputText } = ts.transpileModule(readFileSync(file, 'utf8'), {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
    });
    const target = join(out, relative(repo, file)).replace(/\.ts$/, '.js');
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, outputText);
  }
  writeFileSync(join(out, 'package.json'), '{ "type": "module" }\n');
  symlinkSync(join(repo, 'node_modules'), join(out, 'node_modules'));
  return join(out, 'lib/data/index.js');
}
