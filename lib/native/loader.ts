/**
 * Finds and loads the native addon. Binaries, in order: the file named by
 * MARS_FT_BINARY (then the only one); a local build (`npx mars-ft build`, or
 * a checkout's `npm run build`: someone built it on purpose); the prebuilt
 * variant packages (`@mars-finetune/<platform>-<arch>-torch<X.Y>-<cpu|cuXYZ>`,
 * optional dependencies). LibTorches, in order: LIBTORCH alone when set, else
 * (for a local build, first the one it was built against, asking no Python)
 * each python3's torch, then the system's. For each LibTorch in turn, the
 * first binary built for its version, flavour and C++ ABI is test-loaded in a
 * child process (a bad binary cannot crash the caller; the verdict is cached)
 * and then loaded, after that LibTorch's own libraries: a binary built
 * elsewhere finds LibTorch wherever this machine has it. If none passes, one
 * error lists every binary and LibTorch, why each was refused, and the fix.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir, userInfo } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isMainThread } from 'node:worker_threads';
import { MarsError } from '../errors.js';
import { libtorchCandidates, libtorchLibraries, libtorchOfBuild, type LibTorchCandidate, type LibTorchFound } from './find-libtorch.mjs';
import { describeLibTorch, explainFailure, explainNoBinary, mismatch, type BuildManifest, type Refusal } from './explain.js';
import type { NativeAddon } from './surface.js';

export type { BuildManifest } from './explain.js';

/** The package root (lib/native/../.. in a checkout, dist/native/../.. once compiled). */
export const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BINARY = 'mars_finetune.node';
/** npm scope of the variant packages. */
export const VARIANT_SCOPE = '@mars-finetune';

/** The package's name, version and the variants it was released with (package.json `libtorchVariants`). */
export function packageInfo(): { name: string; version: string; variants: string[] } {
  const pkg = JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { name: string; version: string; libtorchVariants?: string[] };
  return { name: pkg.name, version: pkg.version, variants: pkg.libtorchVariants ?? [] };
}

interface Candidate {
  origin: string;
  path: string;
  manifest?: BuildManifest;
  refusals: string[];
}

function readCandidate(origin: string, path: string): Candidate {
  const c: Candidate = { origin, path, refusals: [] };
  const manifestPath = join(dirname(path), 'manifest.json');
  if (!existsSync(path)) c.refusals.push(`${path} does not exist`);
  else if (!existsSync(manifestPath)) c.refusals.push(`no manifest.json beside ${path}`);
  else {
    try {
      c.manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as BuildManifest;
    } catch (e) {
      c.refusals.push(`unreadable manifest ${manifestPath}: ${(e as Error).message}`);
    }
  }
  return c;
}

function listCandidates(): Candidate[] {
  if (process.env.MARS_FT_BINARY) return [readCandidate('MARS_FT_BINARY', resolve(process.env.MARS_FT_BINARY))];
  const out = ['Release', 'Debug']
    .map((config) => join(packageRoot, 'build', config, BINARY))
    .filter((path) => existsSync(path))
    .map((path) => readCandidate('local build', path));
  const require = createRequire(join(packageRoot, 'package.json'));
  for (const variant of packageInfo().variants.filter((v) => v.startsWith(`${process.platform}-${process.arch}-`))) {
    const name = `${VARIANT_SCOPE}/${variant}`;
    let dir: string | undefined;
    try {
      dir = dirname(require.resolve(`${name}/package.json`));
    } catch {
      out.push({ origin: name, path: '', refusals: ['not installed'] });
      continue;
    }
    out.push(readCandidate(name, join(dir, BINARY)));
  }
  return out;
}

// Linux's RTLD_NODELETE (glibc and musl): Node closes a library that is not
// an addon after loading it, and LibTorch must stay for the addon to bind to.
// Local, not global: a LibTorch such as Debian's pulls in hundreds of
// libraries (GLib among them) that must not override other addons' own (sharp's).
const RTLD_NODELETE = 0x1000;
const PRELOAD = `
  const { constants } = require('node:os');
  const flags = constants.dlopen.RTLD_LAZY | constants.dlopen.RTLD_LOCAL | ${RTLD_NODELETE};
  for (const file of LIBS) {
    try { process.dlopen({ exports: {} }, file, flags); }
    catch (e) { if (!/did not self-register/.test(e.message)) throw e; }
  }`;

/**
 * Loads LibTorch's libraries by absolute path before the addon: the dynamic
 * linker then satisfies the addon's own references (libtorch.so, libc10.so,
 * ...) with these already-loaded libraries, by name, wherever the binary was
 * built. Linux only; elsewhere the binary's own search path decides.
 */
function preload(libtorch: LibTorchFound): void {
  if (process.platform !== 'linux') return;
  Function('require', 'LIBS', PRELOAD)(createRequire(import.meta.url), libtorchLibraries(libtorch));
}

const LOADED = 'mars-finetune: the test load succeeded';
// The test load's limit. A healthy load takes about a second, and a minute on
// a machine busy with four other processes loading LibTorch (its hundreds of
// libraries are read from disk); a load that has not finished in ten minutes is stuck.
const PROBE_TIMEOUT_MS = 600_000;

/** The folder of test-load verdicts: one per user, as the verdicts of another user's files mean nothing here. */
function probeCacheDir(): string {
  let user: string;
  try {
    user = String(userInfo().uid);
  } catch {
    user = 'shared';
  }
  return join(tmpdir(), `mars-finetune-probes-${user}`);
}

/** Test-loads the binary with this LibTorch in a child process (once per binary and LibTorch); null when it loads. */
function probe(path: string, libtorch: LibTorchFound): string | null {
  if (process.env.MARS_FT_NO_PROBE === '1') return null;
  const stat = statSync(path);
  const libs = process.platform === 'linux' ? libtorchLibraries(libtorch) : [];
  const key = createHash('sha1')
    .update([path, stat.mtimeMs, stat.size, ...libs, process.env.LD_LIBRARY_PATH ?? '', process.version].join('\0'))
    .digest('hex');
  const cacheDir = probeCacheDir();
  const marker = join(cacheDir, `${key}.ok`);
  if (existsSync(marker)) return null;
  const script = `const LIBS = ${JSON.stringify(libs)};${PRELOAD}\nrequire(${JSON.stringify(path)}).info();console.log('${LOADED}');`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: PROBE_TIMEOUT_MS, killSignal: 'SIGKILL' });
  // A child that loaded the binary and then failed at exit judged nothing about the fit: only a failed load refuses.
  if (r.status !== 0 && !(r.stdout ?? '').includes(LOADED)) {
    if ((r.error as NodeJS.ErrnoException | undefined)?.code === 'ETIMEDOUT') return `the test load did not finish in ${PROBE_TIMEOUT_MS / 60_000} minutes`;
    return explainFailure(r.stderr ?? '', r.signal);
  }
  // Written under a name of its own, then renamed: processes that probe at
  // once each write their own file, and the rename is atomic. An empty
  // marker: its existence is the verdict.
  const own = `${marker}.${process.pid}.${Date.now()}.tmp`;
  try {
    mkdirSync(cacheDir, { recursive: true });
    writeFileSync(own, '');
    renameSync(own, marker);
  } catch {
    // A cache we cannot write only costs the next process another probe.
    rmSync(own, { force: true });
  }
  return null;
}

/** Which binary this process loaded, and on which LibTorch. */
export interface LoadedBinary {
  /** `local build`, `MARS_FT_BINARY` or the variant package's name. */
  origin: string;
  path: string;
  libtorch: { source: string; libDir: string; version: string | null; cuda: string | null };
}

type Loaded = { addon: NativeAddon; binary: LoadedBinary };

/** Test-loads then loads binary `c` on `libtorch`; undefined (the reason noted on `c`) when it does not load. */
function attempt(c: Candidate, libtorch: LibTorchFound): Loaded | undefined {
  const why = probe(c.path, libtorch);
  if (why) {
    c.refusals.push(`with ${describeLibTorch(libtorch)}: ${why}`);
    return undefined;
  }
  try {
    preload(libtorch);
    const addon = createRequire(import.meta.url)(c.path) as NativeAddon;
    const { source, libDir, version, cuda } = libtorch;
    return { addon, binary: { origin: c.origin, path: c.path, libtorch: { source, libDir, version, cuda } } };
  } catch (e) {
    c.refusals.push(`with ${describeLibTorch(libtorch)}: ${explainFailure((e as Error).message, null)}`);
    return undefined;
  }
}

let cached: Loaded | undefined;

function load(): Loaded {
  const candidates = listCandidates();
  const tried = new Set<string>();
  const once = (c: Candidate, libtorch: LibTorchFound) => {
    const key = `${c.path}\0${libtorch.libDir}`;
    if (tried.has(key) || mismatch(c.manifest!, libtorch)) return undefined;
    tried.add(key);
    return attempt(c, libtorch);
  };
  // A local build goes first with the LibTorch it was built against, when that
  // is still there: found without asking any Python (each costs 0.03-0.2 s of
  // every start), and the LibTorch someone built against on purpose.
  if (!process.env.LIBTORCH) {
    for (const c of candidates.filter((c) => c.origin === 'local build' && c.manifest)) {
      const own = libtorchOfBuild(c.manifest!.libtorch);
      const loaded = own.ok ? once(c, own) : undefined;
      if (loaded) return loaded;
    }
  }
  const found: LibTorchCandidate[] = libtorchCandidates();
  for (const libtorch of found.filter((l): l is LibTorchFound => l.ok)) {
    for (const c of candidates) {
      if (!c.manifest) continue; // missing, or without a readable manifest: refused already
      const loaded = once(c, libtorch);
      if (loaded) return loaded;
    }
  }
  const refusals: Refusal[] = candidates.map((c) => ({ origin: c.origin, manifest: c.manifest, reasons: c.refusals }));
  throw new MarsError('ERR_NATIVE_LOAD', explainNoBinary(refusals, found, packageInfo()));
}

/**
 * Loads the addon once. When the process exits (process.exit(), an uncaught
 * error) its LibTorch's static destructors run, so a step still computing on
 * the compute thread would crash the exit: the process's 'exit' stops the
 * addon's threads first. A worker thread's exit ends only that thread, while
 * the addon's threads serve the whole process: there it does nothing.
 */
function loaded(): Loaded {
  if (!cached) {
    cached = load();
    const { addon } = cached;
    if (isMainThread) process.once('exit', () => addon.stopForExit());
  }
  return cached;
}

/** The loaded addon; throws ERR_NATIVE_LOAD explaining every refused binary and LibTorch, with the fix. */
export function native(): NativeAddon {
  return loaded().addon;
}

/** The binary the addon was loaded from (loading it first if need be). */
export function loadedBinary(): LoadedBinary {
  return loaded().binary;
}
