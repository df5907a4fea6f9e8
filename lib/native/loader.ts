/**
 * Finds and loads the native addon. Candidates, in order: the file named by
 * MARS_FT_BINARY; a local build (it exists only when someone built from
 * source, here or because no prebuild loaded, so it is what they want); the
 * prebuilds for this platform (one per LibTorch version and flavour). Each is checked against its build manifest and
 * the LibTorch it would load, then test-loaded in a child process (so a bad
 * binary cannot crash the caller; the verdict is cached). If none passes, one
 * error lists every candidate, why it was refused, and the fix.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MarsError } from '../errors.js';
import { libtorchCandidates, type LibTorchFound } from './find-libtorch.mjs';
import type { NativeAddon } from './surface.js';

/** The package root (lib/native/../.. in a checkout, dist/native/../.. once compiled). */
export const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BINARY = 'mars_finetune.node';

/** What scripts/build-native.mjs writes beside every binary. */
export interface BuildManifest {
  builder: string;
  platform: string;
  arch: string;
  napiVersion: number;
  libtorch: { version: string | null; cuda: string | null; cxx11Abi: boolean | null; libDir: string; source: string };
}

interface Candidate {
  path: string;
  origin: string;
}

function listCandidates(): Candidate[] {
  if (process.env.MARS_FT_BINARY) return [{ path: resolve(process.env.MARS_FT_BINARY), origin: 'MARS_FT_BINARY' }];
  const out: Candidate[] = [];
  for (const config of ['Release', 'Debug']) out.push({ path: join(packageRoot, 'build', config, BINARY), origin: `local build (${config})` });
  const prebuilds = join(packageRoot, 'prebuilds');
  if (existsSync(prebuilds)) {
    for (const dir of readdirSync(prebuilds).sort()) {
      if (dir.startsWith(`${process.platform}-${process.arch}-`)) out.push({ path: join(prebuilds, dir, BINARY), origin: `prebuild ${dir}` });
    }
  }
  return out;
}

/** The LibTorch installations visible without asking Python (which is slow to start). */
function visibleLibTorches(): LibTorchFound[] {
  return libtorchCandidates({ python: false }).filter((c): c is LibTorchFound => c.ok);
}

const REBUILD = 'build from source with `npm rebuild mars-finetune` (in a checkout: `npm run build:native`); it needs cmake, a C++17 compiler and LibTorch';

/** Why the manifest rules this binary out here, or null. */
function manifestProblem(manifest: BuildManifest): string | null {
  if (manifest.platform !== process.platform || manifest.arch !== process.arch) {
    return `built for ${manifest.platform}-${manifest.arch}, this is ${process.platform}-${process.arch}`;
  }
  if (manifest.napiVersion > Number(process.versions.napi)) {
    return `needs Node-API ${manifest.napiVersion}, this Node.js has ${process.versions.napi}; upgrade Node.js`;
  }
  const lib = manifest.libtorch;
  const atBuildPlace = existsSync(join(lib.libDir, 'libtorch.so'));
  const onLibraryPath = (process.env.LD_LIBRARY_PATH ?? '').split(':').some((d) => d && existsSync(join(d, 'libtorch.so')));
  if (!atBuildPlace && !onLibraryPath) {
    const flavour = `LibTorch ${lib.version} (${lib.cuda ? `CUDA ${lib.cuda}` : 'CPU'})`;
    const match = visibleLibTorches().find((c) => c.version === lib.version);
    return match
      ? `needs ${flavour}; found it at ${match.libDir}: run with LD_LIBRARY_PATH=${match.libDir}`
      : `needs ${flavour}, which is not at ${lib.libDir} nor on LD_LIBRARY_PATH; install it and set LIBTORCH or LD_LIBRARY_PATH, or ${REBUILD}`;
  }
  if (atBuildPlace) {
    const there = visibleLibTorches().find((c) => c.libDir === lib.libDir);
    if (there?.version && lib.version && there.version !== lib.version) {
      return `built for LibTorch ${lib.version} but ${lib.libDir} now holds ${there.version}; ${REBUILD}`;
    }
  }
  return null;
}

function explainProbeFailure(stderr: string, signal: string | null): string {
  const missing = stderr.match(/(lib[\w.+-]+\.so[\w.]*): cannot open shared object file/);
  if (missing) return `cannot find ${missing[1]}: set LD_LIBRARY_PATH to your LibTorch's lib folder, or ${REBUILD}`;
  const symbol = stderr.match(/undefined symbol: (\S+)/);
  if (symbol) return `LibTorch's symbols do not match (undefined symbol ${symbol[1]}): it was built against another LibTorch version or C++ ABI; ${REBUILD}`;
  if (signal) return `the test load crashed (${signal}), which points to a LibTorch mismatch; ${REBUILD}`;
  const last = stderr.trim().split('\n').filter(Boolean).pop() ?? 'no output';
  return `the test load failed: ${last}; ${REBUILD}`;
}

/** Loads the binary in a child process once per binary and environment; null when it loads. */
function probe(path: string, libDir: string): string | null {
  if (process.env.MARS_FT_NO_PROBE === '1') return null;
  const stat = statSync(path);
  const key = createHash('sha1')
    .update([path, stat.mtimeMs, stat.size, libDir, process.env.LD_LIBRARY_PATH ?? '', process.version].join('\0'))
    .digest('hex');
  const cacheDir = join(tmpdir(), 'mars-finetune-probes');
  const marker = join(cacheDir, `${key}.ok`);
  if (existsSync(marker)) return null;
  const script = `require(${JSON.stringify(path)}).info()`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) return explainProbeFailure(r.stderr ?? '', r.signal);
  try {
    // An empty marker: its existence is the verdict, so no partial write can mislead.
    mkdirSync(cacheDir, { recursive: true });
    writeFileSync(marker, '');
  } catch {
    // A cache we cannot write only costs the next process another probe.
  }
  return null;
}

function tryCandidate(c: Candidate): { addon?: NativeAddon; why?: string } {
  if (!existsSync(c.path)) return { why: `${c.path} does not exist` };
  const manifestPath = join(dirname(c.path), 'manifest.json');
  if (!existsSync(manifestPath)) return { why: `no manifest.json beside ${c.path}; ${REBUILD}` };
  let manifest: BuildManifest;
  try {
    manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as BuildManifest;
  } catch (e) {
    return { why: `unreadable manifest ${manifestPath}: ${(e as Error).message}` };
  }
  const problem = manifestProblem(manifest) ?? probe(c.path, manifest.libtorch.libDir);
  if (problem) return { why: problem };
  try {
    return { addon: createRequire(import.meta.url)(c.path) as NativeAddon };
  } catch (e) {
    return { why: explainProbeFailure((e as Error).message, null) };
  }
}

let cached: NativeAddon | undefined;

/** The loaded addon; throws ERR_NATIVE_LOAD explaining every refused candidate. */
export function native(): NativeAddon {
  if (cached) return cached;
  const refusals: string[] = [];
  for (const c of listCandidates()) {
    const { addon, why } = tryCandidate(c);
    if (addon) return (cached = addon);
    refusals.push(`  - ${c.origin}: ${why}`);
  }
  throw new MarsError(
    'ERR_NATIVE_LOAD',
    ['The mars-finetune native addon could not be loaded. Candidates tried:', ...refusals].join('\n'),
  );
}
