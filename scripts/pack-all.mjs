#!/usr/bin/env node
// `npm run pack:all`: writes every release tarball into pack/:
//  - mars-finetune-<version>.tgz, the main package, whose package.json lists
//    each variant of `libtorchVariants` as an optional dependency at the same
//    version (the checkout's own package.json does not: npm ci would look for
//    them in the registry);
//  - one variant package per entry of `libtorchVariants`,
//    @mars-finetune/<platform>-<arch>-torch<X.Y>-<cpu|cuXYZ> (the addon and its
//    manifest, with os/cpu fields), each built from source now against the
//    LibTorch this machine has for it: Debian's libtorch-dev for the CPU
//    variant, PyPI's CUDA torch in scripts/setup-torch2.sh's environment for
//    the cu130 one (a CUDA LibTorch builds without a GPU). Variants are built
//    here, in CI, rather than kept as committed binaries: the tarball then
//    always holds the sources and LibTorch the tests just ran on.
//   node scripts/pack-all.mjs [--no-main] [--no-variant] [--here] [--out DIR]
// A listed variant with no LibTorch here fails the run, naming what to
// install; --here packs only the variants this machine can build (and a
// LibTorch found here that package.json does not list, for a trial).
import { execFileSync } from 'node:child_process';
import { copyFileSync, cpSync, createReadStream, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { homedir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { libtorchCandidates, libtorchOfPython, variantOf } from '../lib/native/find-libtorch.mjs';
import { build } from './build-native.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const outIndex = argv.indexOf('--out');
const out = resolve(root, outIndex >= 0 ? argv[outIndex + 1] : 'pack');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const SCOPE = '@mars-finetune';
/** scripts/setup-torch2.sh's environment: PyPI's torch 2.11, for the CUDA variant. */
const TORCH2_PYTHON = join(process.env.MARS_FT_TORCH2_VENV ?? join(homedir(), '.cache', 'mars-finetune', 'torch2.11'), 'bin', 'python');

function npmPack(dir) {
  const file = execFileSync('npm', ['pack', '--silent', '--pack-destination', out], { cwd: dir, encoding: 'utf8' }).trim().split('\n').pop();
  return join(out, file);
}

function stage(name) {
  const dir = join(out, '.stage', name.replace('/', '+'));
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return dir;
}

function packMain() {
  execFileSync('npm', ['run', '--silent', 'build:ts'], { cwd: root, stdio: 'inherit' });
  const dir = stage(pkg.name);
  for (const f of [...pkg.files, 'README.md', 'LICENSE']) cpSync(join(root, f), join(dir, f), { recursive: true });
  const published = { ...pkg, optionalDependencies: Object.fromEntries(pkg.libtorchVariants.map((v) => [`${SCOPE}/${v}`, pkg.version])) };
  // What only a checkout needs: its scripts name files the tarball does not carry.
  delete published.scripts;
  delete published.devDependencies;
  writeFileSync(join(dir, 'package.json'), JSON.stringify(published, null, 2) + '\n');
  return npmPack(dir);
}

/** The LibTorches this machine has, one per variant: the usual search, then setup-torch2.sh's environment. */
function libtorchesHere() {
  const found = [...libtorchCandidates(), ...(existsSync(TORCH2_PYTHON) ? [libtorchOfPython(TORCH2_PYTHON)] : [])];
  const byVariant = new Map();
  for (const c of found.filter((c) => c.ok)) if (!byVariant.has(variantOf(c))) byVariant.set(variantOf(c), c);
  return byVariant;
}

function packVariant(variant, libtorch) {
  const { dir: built, manifest } = build(['--out', `build-variant/${variant}`], libtorch);
  const name = `${SCOPE}/${manifest.variant}`;
  const dir = stage(name);
  for (const f of ['mars_finetune.node', 'manifest.json']) copyFileSync(join(built, f), join(dir, f));
  copyFileSync(join(root, 'LICENSE'), join(dir, 'LICENSE'));
  const lib = manifest.libtorch;
  const flavour = lib.cuda ? `CUDA ${lib.cuda}` : 'CPU';
  writeFileSync(
    join(dir, 'README.md'),
    `# ${name}\n\nThe native addon of [mars-finetune](https://www.npmjs.com/package/mars-finetune) built for LibTorch ${lib.version} (${flavour}, ${lib.cxx11Abi ? 'C++11' : 'pre-C++11'} ABI) on ${manifest.platform}-${manifest.arch}.\nmars-finetune lists it as an optional dependency and loads it when the LibTorch it finds matches; it is not meant to be used on its own.\n`,
  );
  const variantPkg = {
    name,
    version: pkg.version,
    description: `mars-finetune's native addon for LibTorch ${lib.version} (${flavour}) on ${manifest.platform}-${manifest.arch}`,
    license: pkg.license,
    repository: pkg.repository,
    os: [manifest.platform],
    cpu: [manifest.arch],
    files: ['mars_finetune.node', 'manifest.json'],
    libtorch: { version: lib.version, cuda: lib.cuda, cxx11Abi: lib.cxx11Abi },
  };
  writeFileSync(join(dir, 'package.json'), JSON.stringify(variantPkg, null, 2) + '\n');
  return npmPack(dir);
}

const sha256 = (file) =>
  new Promise((done) => {
    const hash = createHash('sha256');
    createReadStream(file).on('data', (d) => hash.update(d)).on('end', () => done(hash.digest('hex')));
  });

mkdirSync(out, { recursive: true });
const written = [];
if (!argv.includes('--no-main')) written.push(packMain());
if (!argv.includes('--no-variant')) {
  const here = libtorchesHere();
  const missing = pkg.libtorchVariants.filter((v) => !here.has(v));
  if (missing.length && !argv.includes('--here')) {
    console.error(`pack:all: no LibTorch here for ${missing.join(', ')}: the CPU variant builds against Debian's libtorch-dev (scripts/setup-debian.sh), the cu130 one against PyPI's torch 2.11 (bash scripts/setup-torch2.sh); or pass --here to pack only what this machine can build`);
    process.exit(1);
  }
  const wanted = argv.includes('--here') ? [...here.keys()] : pkg.libtorchVariants;
  for (const variant of wanted) written.push(packVariant(variant, here.get(variant)));
}
rmSync(join(out, '.stage'), { recursive: true, force: true });
for (const f of written) console.log(`${basename(f)}  ${(statSync(f).size / 1e6).toFixed(2)} MB  sha256 ${await sha256(f)}`);
