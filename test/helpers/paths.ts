import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const FIXTURES = join(ROOT, 'test', 'fixtures', 'generated');
/** Debian's Python, which has torch (the python3 first on PATH may not). */
export const PYTHON = process.env.MARS_FT_TEST_PYTHON ?? '/usr/bin/python3';
export const CLI = join(ROOT, 'dist', 'cli', 'main.js');
