/**
 * Why a binary does not fit a LibTorch, and the one ERR_NATIVE_LOAD message:
 * every binary and every LibTorch with why each was refused, then the fix
 * for this machine (install LibTorch, install the matching variant, or build).
 */
import { flavourOf, INSTALL_LIBTORCH, variantOf, type LibTorchCandidate, type LibTorchFound } from './find-libtorch.mjs';

/** What scripts/build-native.mjs writes beside every binary. */
export interface BuildManifest {
  builder: string;
  platform: string;
  arch: string;
  napiVersion: number;
  libtorch: { version: string | null; cuda: string | null; cxx11Abi: boolean | null; libDir: string; source: string };
}

/** A binary that did not load: where it came from, its manifest, and every reason it was refused. */
export interface Refusal {
  origin: string;
  manifest?: BuildManifest | undefined;
  reasons: string[];
}

type LibTorchFacts = { version: string | null; cuda: string | null; cxx11Abi?: boolean | null };

const majorMinor = (version: string | null) => (version ?? '?').split('.').slice(0, 2).join('.');

/** "LibTorch 2.11.0 (CUDA 13.0, C++11 ABI)". */
export function describeLibTorch(l: LibTorchFacts): string {
  const flavour = !l.cuda ? 'CPU' : l.cuda === 'unknown' ? 'CUDA' : `CUDA ${l.cuda}`;
  const abi = l.cxx11Abi === true ? ', C++11 ABI' : l.cxx11Abi === false ? ', pre-C++11 ABI' : '';
  return `LibTorch ${l.version ?? '(unknown version)'} (${flavour}${abi})`;
}

/** Why this binary can never load in this process (platform, Node-API), or null. */
function binaryProblem(m: BuildManifest): string | null {
  if (m.platform !== process.platform || m.arch !== process.arch) return `built for ${m.platform}-${m.arch}, this is ${process.platform}-${process.arch}`;
  if (m.napiVersion > Number(process.versions.napi)) return `needs Node-API ${m.napiVersion}, this Node.js has ${process.versions.napi}: upgrade Node.js`;
  return null;
}

/** What differs between the LibTorch a binary was built for and one found here (version, flavour, C++ ABI), or null. */
export function mismatch(m: BuildManifest, l: LibTorchFound): string | null {
  const problem = binaryProblem(m);
  if (problem) return problem;
  const want = m.libtorch;
  const differences: string[] = [];
  if (majorMinor(want.version) !== majorMinor(l.version)) differences.push('version');
  const [fw, fl] = [flavourOf(want.cuda), flavourOf(l.cuda)];
  // 'cuda' is a CUDA LibTorch whose CUDA version is not recorded: the test load decides.
  const cudaUnknown = (fw === 'cuda' && fl.startsWith('cu')) || (fl === 'cuda' && fw.startsWith('cu'));
  if (fw !== fl && !cudaUnknown) differences.push('CPU/CUDA flavour');
  if (want.cxx11Abi !== null && l.cxx11Abi !== null && want.cxx11Abi !== l.cxx11Abi) differences.push('C++ ABI');
  return differences.length ? differences.join(', ') : null;
}

/** What a failed load's error output means. */
export function explainFailure(stderr: string, signal: string | null): string {
  const missing = stderr.match(/(lib[\w.+-]+\.so[\w.]*): cannot open shared object file/);
  if (missing) return `the test load cannot find ${missing[1]}`;
  const symbol = stderr.match(/undefined symbol: (\S+)/);
  if (symbol) return `LibTorch's symbols do not match (undefined symbol ${symbol[1]}): it was built against another LibTorch version or C++ ABI`;
  if (signal) return `the test load was killed by ${signal} before the binary had loaded${lastLine(stderr)}`;
  return `the test load failed: ${stderr.trim().split('\n').filter(Boolean).pop() ?? 'no output'}`;
}

/** `; its last output: …`, or nothing when it printed nothing. */
function lastLine(stderr: string): string {
  const last = stderr.trim().split('\n').filter(Boolean).pop();
  return last ? `; its last output: ${last}` : '';
}

const BUILD = 'npm install --save-dev cmake-js node-addon-api && npx mars-ft build';

function fixes(refusals: Refusal[], found: LibTorchFound[], pkg: { version: string; variants: string[] }): string[] {
  if (!found.length) return [INSTALL_LIBTORCH, 'Then run again: the prebuilt variant for that LibTorch loads, or build one with `npx mars-ft build`.'];
  const out = found.map((l) => {
    const name = `@mars-finetune/${variantOf(l)}`;
    const notInstalled = refusals.find((r) => r.origin === name)?.reasons[0] === 'not installed';
    if (pkg.variants.includes(variantOf(l)) && notInstalled) {
      return `- for ${describeLibTorch(l)} (${l.source}): install its prebuilt variant, \`npm install ${name}@${pkg.version}\` (npm installs it with mars-finetune unless optional dependencies are turned off; installing from tarballs, name its tarball beside mars-finetune's)`;
    }
    const nvcc = l.cuda ? ", and CUDA's nvcc" : '';
    return `- for ${describeLibTorch(l)} (${l.source}): build the addon for it, \`${BUILD}\` (needs cmake and a C++17 compiler${nvcc}; the build output streams to the terminal)`;
  });
  const unset = process.env.LIBTORCH ? ' (unset LIBTORCH, or point it at that LibTorch)' : '';
  // Binaries that are here but whose LibTorch is not: that LibTorch would do too.
  for (const r of refusals.filter((r) => r.manifest && !r.reasons.length && !binaryProblem(r.manifest))) {
    out.push(`- or use ${describeLibTorch(r.manifest!.libtorch)}, which ${r.origin} was built for${unset}`);
  }
  const released = pkg.variants.filter((v) => v.startsWith(`${process.platform}-${process.arch}-`));
  if (released.length) out.push(`- or use a LibTorch that a prebuilt variant exists for: ${released.join(', ')}${unset}`);
  return out;
}

/** The ERR_NATIVE_LOAD message. */
export function explainNoBinary(refusals: Refusal[], found: LibTorchCandidate[], pkg: { version: string; variants: string[] }): string {
  const ok = found.filter((l): l is LibTorchFound => l.ok);
  const here = ok.length ? ok.map((l) => `${l.source} has ${describeLibTorch(l)}`).join('; ') : 'no LibTorch was found';
  const binaryLines = refusals.map((r) => {
    const reasons = r.reasons.length ? r.reasons : [binaryProblem(r.manifest!) ?? `built for ${describeLibTorch(r.manifest!.libtorch)}, but ${here}`];
    return `  - ${r.origin}: ${reasons.join('; ')}`;
  });
  return [
    'The mars-finetune native addon could not be loaded.',
    'Binaries tried:',
    ...(binaryLines.length ? binaryLines : [`  (none for ${process.platform}-${process.arch}: no local build, no variant package)`]),
    'LibTorch looked for:',
    ...found.map((l) => (l.ok ? `  - ${l.source}: ${describeLibTorch(l)} in ${l.libDir}` : `  - ${l.source}: ${l.why}`)),
    'Fix:',
    ...fixes(refusals, ok, pkg),
  ].join('\n');
}
