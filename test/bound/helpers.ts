// The bound's fixtures (scripts/fixtures/bound_make.py) and its independent
// Python reference (reference.py), for the tests of test/bound.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tensor, type Tensor } from '../../lib/index.js';
import { readFloat32 } from '../helpers/fixtures.js';
import { FIXTURES, PYTHON, ROOT } from '../helpers/paths.js';

export const BOUND_FIXTURES = join(FIXTURES, 'bound');
const SCRIPTS = join(ROOT, 'scripts', 'fixtures');

/** Exports the fixtures unless the stamp says these scripts made them already. */
export function boundFixtures(): string {
  const hash = createHash('sha1');
  for (const f of readdirSync(SCRIPTS).filter((f) => f.startsWith('bound_')).sort()) hash.update(f).update(readFileSync(join(SCRIPTS, f)));
  const want = hash.digest('hex');
  const stamp = join(BOUND_FIXTURES, 'stamp.json');
  const have = existsSync(stamp) ? (JSON.parse(readFileSync(stamp, 'utf8')) as { scripts?: string }).scripts : undefined;
  if (have !== want) execFileSync(PYTHON, [join(SCRIPTS, 'bound_make.py'), BOUND_FIXTURES, want], { stdio: 'inherit' });
  return BOUND_FIXTURES;
}

/** The a priori radii a case's `mars` network was projected with (bound_networks.APRIORI). */
export interface CaseRadii {
  backbone: number;
  head: number;
  batchnorm: number;
  includeBias: boolean;
}

export interface Case {
  model: string;
  init: string;
  /** The fine-tuned network projected into MARS-SP's class around `centre` with `apriori` (cases with heads). */
  mars: string;
  /** MARS-SP's centre: the initial network with its heads at zero (the backbone alone where `init` is one). */
  centre: string;
  apriori: CaseRadii | null;
  data: { inputs: Tensor; labels: Int32Array };
  /** The raw inputs, row-major. */
  inputs: Float32Array;
  shape: number[];
}

export function loadCase(name: string): Case {
  const dir = boundFixtures();
  const meta = JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8')) as { shape: number[]; init: string; apriori: CaseRadii | null };
  const inputs = readFloat32(join(dir, `${name}.inputs.bin`));
  const bytes = readFileSync(join(dir, `${name}.labels.bin`));
  const labels = new Int32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  return {
    model: join(dir, `${name}.model.pt`),
    init: join(dir, `${name}.init.pt`),
    mars: join(dir, `${name}.mars.pt`),
    centre: join(dir, meta.init === 'backbone' ? `${name}.init.pt` : `${name}.centre.pt`),
    apriori: meta.apriori,
    data: { inputs: tensor(inputs, meta.shape), labels },
    inputs,
    shape: meta.shape,
  };
}

export interface ReferenceRequest {
  case: string;
  mode: 'posthoc' | 'apriori';
  radii?: { backbone: number; head: number; batchnorm?: number; includeBias?: boolean; layers?: Record<string, number> };
  margin?: number;
  delta?: number;
  /** Other files for the networks: names in the fixture folder or absolute paths. */
  model?: string;
  init?: string;
  idx?: { images: string; labels: string; classes: number; perClass: number };
  /** A folder of class subfolders of greyscale PNGs. */
  folder?: string;
  /** The Python class of a network outside the fixtures. */
  network?: { file: string; class: string; init: 'full' | 'backbone' };
}

export interface ReferenceLayer {
  name: string;
  head: boolean;
  initNorm: number;
  norm: number;
  distance: number;
  frobeniusDistance: number;
  spectralNorm: number;
  operatorL21Distance: number;
  radius: number;
  biasRadius: number;
}

export interface ReferenceResult {
  case: string;
  m: number;
  d: number;
  X: number;
  K: number;
  A: number;
  Q: number;
  rademacher: number;
  layers: ReferenceLayer[];
  generalisation: { marginLoss: number; rademacherPi1: number; complexity: number; confidence: number; total: number };
  spectral: { spectralComplexity: number; complexity: number };
  graf: number;
  unsupported?: string;
}

/** Runs a Python script of this folder on a JSON request file; returns its JSON output. */
export function runPython<T>(script: string, request: unknown): T {
  const file = join(mkdtempSync(join(tmpdir(), 'mars-bound-')), 'request.json');
  writeFileSync(file, JSON.stringify(request));
  const out = execFileSync(PYTHON, [join(ROOT, 'test', 'bound', script), boundFixtures(), file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  return JSON.parse(out) as T;
}

/** The reference's results, one per request. */
export const reference = (requests: ReferenceRequest[]) => runPython<ReferenceResult[]>('reference.py', requests);

/** |a - b| / |b| (absolute when b is 0). */
export function relativeError(a: number, b: number): number {
  return b === 0 ? Math.abs(a) : Math.abs(a - b) / Math.abs(b);
}
