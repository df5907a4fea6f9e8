#!/usr/bin/env node
// The exit stress of issue 25: processes that load the package, fine-tune for
// 3 steps and exit (at the end of the run, or by process.exit(), an uncaught
// exception or an unhandled rejection while a step computes), PARALLEL at a
// time beside BUSY busy loops, so that exits race the compute thread on a
// loaded machine. A crash (a signal, an abort message) or a hang (no exit
// within 120 s) fails it; there are no retries.
//   node scripts/stress/exit-under-load.mjs [--binary FILE] [--processes 500]
//     [--parallel 4] [--busy 2] [--modes end,exit,throw,reject] [--backbone FILE.pt]
// --binary: the addon to load (MARS_FT_BINARY; default: the loader's choice),
// e.g. build/Release/mars_finetune.node of the cmake-js or the node-gyp build.
// Prints one line per 50 processes, then a JSON summary; exits 1 on any failure.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const { values: v } = parseArgs({
  options: {
    binary: { type: 'string' },
    processes: { type: 'string', default: '500' },
    parallel: { type: 'string', default: '4' },
    busy: { type: 'string', default: '2' },
    modes: { type: 'string', default: 'end,exit,throw,reject' },
    backbone: { type: 'string', default: join(root, 'test', 'fixtures', 'generated', 'bn_resnet.pt') },
  },
});
const [processes, parallel, busy] = [v.processes, v.parallel, v.busy].map(Number);
const modes = v.modes.split(',');
// The exit status of a clean exit in each mode (train-and-exit.mjs).
const EXPECTED = { end: 0, exit: 3, throw: 1, reject: 1 };
const HANG_MS = 120_000;
if (![processes, parallel].every((n) => Number.isInteger(n) && n >= 1) || !Number.isInteger(busy) || busy < 0) {
  console.error('exit-under-load: --processes and --parallel must be whole numbers >= 1, --busy >= 0');
  process.exit(2);
}
if (modes.some((m) => !(m in EXPECTED))) {
  console.error(`exit-under-load: --modes takes ${Object.keys(EXPECTED).join(', ')}`);
  process.exit(2);
}
if (!existsSync(v.backbone)) {
  console.error(`exit-under-load: no backbone at ${v.backbone} (npm test generates the fixtures; or give --backbone FILE.pt)`);
  process.exit(2);
}
const env = { ...process.env, ...(v.binary ? { MARS_FT_BINARY: resolve(v.binary) } : {}) };
const child = join(root, 'scripts', 'stress', 'train-and-exit.mjs');

/** One process; its failure in words, or null for a clean exit. */
function run(mode) {
  return new Promise((done) => {
    const p = spawn(process.execPath, [child, mode, v.backbone], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    p.stderr.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
    const timer = setTimeout(() => p.kill('SIGKILL'), HANG_MS);
    p.on('close', (code, signal) => {
      clearTimeout(timer);
      const last = stderr.trim().split('\n').slice(-3).join(' | ');
      if (signal === 'SIGKILL') done(`${mode}: hung (no exit in ${HANG_MS / 1000} s)`);
      else if (signal) done(`${mode}: killed by ${signal}: ${last}`);
      else if (code !== EXPECTED[mode]) done(`${mode}: exit status ${code} (expected ${EXPECTED[mode]}): ${last}`);
      else if (/malloc|corrupt|Segmentation|terminate called|Aborted/i.test(stderr)) done(`${mode}: exited ${code} but printed: ${last}`);
      else done(null);
    });
  });
}

const loops = Array.from({ length: busy }, () => spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }));
const started = Date.now();
const failures = [];
const loads = [];
let next = 0;
let finished = 0;
try {
  await Promise.all(Array.from({ length: parallel }, async () => {
    while (next < processes) {
      const mode = modes[next++ % modes.length];
      const failure = await run(mode);
      if (failure) failures.push(failure);
      if (++finished % 50 === 0) {
        loads.push(loadavg()[0]);
        console.error(`${finished}/${processes}: ${failures.length} failed, load ${loadavg()[0].toFixed(1)}`);
      }
    }
  }));
} finally {
  for (const l of loops) l.kill('SIGKILL');
}
loads.push(loadavg()[0]);
const summary = {
  processes, parallel, busy, modes, binary: env.MARS_FT_BINARY ?? 'the loader\'s choice',
  aborts: failures.filter((f) => !f.includes('hung')).length, hangs: failures.filter((f) => f.includes('hung')).length,
  failures: failures.slice(0, 20), seconds: Math.round((Date.now() - started) / 1000),
  load: { min: Math.min(...loads), max: Math.max(...loads) },
};
console.log(JSON.stringify(summary));
process.exit(failures.length ? 1 : 0);
