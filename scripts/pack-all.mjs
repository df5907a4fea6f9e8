#!/usr/bin/env node
// `npm run pack:all`: writes every release tarball into pack/:
//  - mars-finetune-<version>.tgz, the main package, whose package.json lists
//    each variant of `libtorchVariants` as an optional dependency at the same
//    version (the checkout's own package.json does not: npm ci would look for
//    them in the registry);
//  - the variant package for the LibTorch found here,
//    @mars-finetune/<platform>-<arch>-torch<X.Y>-<cpu|cuXYZ> (the addon and its
//    manifest, with os/cpu fields), built from source now;
//  - the variant tarballs built on other machines and kept in variants/ (the
//    CUDA one comes from the lent GPU machine: scripts/gpu-release/).
//   node scripts/pack-all.mjs [--no-main] [--no-variant] [--unlisted] [--out DIR]
// --unlisted packs a variant that package.json does not list (a trial build).
import { execFileSync } from 'node:child_process';
import { copyFileSync, cpSync, createReadStream, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from './build-native.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const outIndex = argv.indexOf('--out');
const out = resolve(root, outIndex >= 0 ? argv[outIndex + 1] : 'pack');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const SCOPE = '@mars-finetune';
/** npm's file name for a package's tarball. */
const tarballName = (name, version) => `${name.replace(/^@/, '').replace('/', '-')}-${version}.tgz`;

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

function packVariant() {
  const { dir: built, manifest } = build(['--out', 'build-variant']);
  const name = `${SCOPE}/${manifest.variant}`;
  if (!pkg.libtorchVariants.includes(manifest.variant) && !argv.includes('--unlisted')) {
    console.error(`${manifest.variant} is not in package.json's libtorchVariants: add it there (the main package then lists it), or pass --unlisted for a trial`);
    process.exit(1);
  }
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
  return { file: npmPack(dir), variant: manifest.variant };
}

/** Variant tarballs built elsewhere (variants/), for this version, unless built here just now. */
function copyKept(builtHere) {
  const kept = join(root, 'variants');
  if (!existsSync(kept)) return [];
  const files = [];
  for (const f of readdirSync(kept).filter((f) => f.endsWith(`-${pkg.version}.tgz`))) {
    if (builtHere && f === tarballName(`${SCOPE}/${builtHere}`, pkg.version)) continue;
    copyFileSync(join(kept, f), join(out, f));
    files.push(join(out, f));
  }
  for (const f of readdirSync(kept).filter((f) => f.endsWith('.tgz') && !f.endsWith(`-${pkg.version}.tgz`))) {
    console.error(`skipped variants/${f}: not version ${pkg.version} (rebuild it: scripts/gpu-release/README.md)`);
  }
  return files;
}

const sha256 = (file) =>
  new Promise((done) => {
    const hash = createHash('sha256');
    createReadStream(file).on('data', (d) => hash.update(d)).on('end', () => done(hash.digest('hex')));
  });

mkdirSync(out, { recursive: true });
const written = [];
if (!argv.includes('--no-main')) written.push(packMain());
let builtHere;
if (!argv.includes('--no-variant')) {
  const v = packVariant();
  written.push(v.file);
  builtHere = v.variant;
}
written.push(...copyKept(builtHere));
rmSync(join(out, '.stage'), { recursive: true, force: true });
for (const f of written) console.log(`${basename(f)}  ${(statSync(f).size / 1e6).toFixed(2)} MB  sha256 ${await sha256(f)}`);
