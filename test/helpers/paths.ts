import { createHash } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
/**
 * The Python whose torch writes the fixtures and runs the oracles: Debian's
 * (the python3 first on PATH may have no torch), or MARS_FT_TEST_PYTHON (the
 * suite against PyPI's torch 2.11: scripts/test-torch2.sh).
 */
export const PYTHON = process.env.MARS_FT_TEST_PYTHON ?? '/usr/bin/python3';
/** Debian's Python in every suite, for the helpers that use no torch (fontTools, crcmod, PIL). */
export const SYSTEM_PYTHON = '/usr/bin/python3';
/** Each Python's fixtures in a folder of their own, so that two suites never regenerate each other's. */
export const FIXTURES = join(
  ROOT, 'test', 'fixtures',
  process.env.MARS_FT_TEST_PYTHON ? `generated-${createHash('sha1').update(PYTHON).digest('hex').slice(0, 8)}` : 'generated',
);
export const CLI = join(ROOT, 'dist', 'cli', 'main.js');
