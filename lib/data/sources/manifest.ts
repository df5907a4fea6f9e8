/**
 * A manifest lists items as path and label: CSV with a header naming `path`
 * and `label` columns, or JSONL with one {"path", "label"} object a line.
 * Relative paths are relative to the manifest. Labels are class names
 * (sorted to give label numbers, as for folders) or non-negative integers
 * (CSV: labels that read as numbers; a negative or fractional one, or names
 * mixed with numbers, is ERR_DATA_LABEL).
 */
import { readFile } from 'node:fs/promises';
import { dirname, extname, resolve } from 'node:path';
import { MarsError } from '../../errors.js';
import { Dataset, integerLabels } from '../dataset.js';
import { parseCsv } from './csv.js';
import { fileStore } from './files.js';

interface Entry {
  path: string;
  label: string | number;
  /** 1-based line (JSONL) or record (CSV) number, for messages. */
  line: number;
}

export async function openManifest(file: string): Promise<Dataset> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (cause) {
    throw new MarsError('ERR_DATA_FILE', `cannot read manifest ${file}: ${(cause as Error).message}`, { cause });
  }
  const entries = extname(file).toLowerCase() === '.jsonl' ? jsonlEntries(text, file) : csvEntries(text, file);
  if (entries.length === 0) throw new MarsError('ERR_DATA', `manifest ${file} lists no items`);
  for (const e of entries) {
    if (typeof e.path !== 'string' || e.path === '') throw new MarsError('ERR_DATA', `${file}:${e.line}: missing path`);
  }
  const base = dirname(file);
  const paths = entries.map((e) => resolve(base, e.path));
  const { labels, classNames } = labelsOf(entries, file);
  return Dataset.fromSource(fileStore(paths), labels, classNames, file);
}

/** What reads as a number: digits, with a sign, a fraction or an exponent. */
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

function csvEntries(text: string, file: string): Entry[] {
  const [header = [], ...records] = parseCsv(text);
  const pathColumn = header.indexOf('path');
  const labelColumn = header.indexOf('label');
  if (pathColumn < 0 || labelColumn < 0) {
    throw new MarsError('ERR_DATA', `${file}: the first line must be a header naming the "path" and "label" columns`);
  }
  // A label that looks like a number is a number: all-digit labels are label
  // numbers; a negative or fractional one is an error, not a class name.
  const numeric = records.map((r) => NUMBER.test((r[labelColumn] ?? '').trim()));
  const isInteger = numeric.some(Boolean);
  return records.map((r, i) => {
    const label = r[labelColumn] ?? '';
    if (isInteger && !numeric[i]) {
      throw new MarsError('ERR_DATA_LABEL', `${file}:${i + 2}: label ${JSON.stringify(label)} is a name, but other labels are numbers; use names or numbers, not both`);
    }
    return { path: r[pathColumn] ?? '', label: isInteger ? Number(label) : label, line: i + 2 };
  });
}

function jsonlEntries(text: string, file: string): Entry[] {
  const entries: Entry[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    if (line.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (cause) {
      throw new MarsError('ERR_DATA', `${file}:${i + 1}: not JSON: ${(cause as Error).message}`, { cause });
    }
    const { path, label } = (value ?? {}) as { path?: unknown; label?: unknown };
    entries.push({ path: path as string, label: label as string | number, line: i + 1 });
  });
  return entries;
}

/** Either every label is a non-negative integer, or every label is a class name. */
function labelsOf(entries: Entry[], file: string): { labels: Int32Array; classNames: string[] } {
  const kind = typeof entries[0]!.label;
  for (const e of entries) {
    const ok = kind === 'number' || (typeof e.label === 'string' && e.label !== '');
    if (typeof e.label !== kind || !ok) {
      throw new MarsError(
        'ERR_DATA_LABEL',
        `${file}:${e.line}: label ${JSON.stringify(e.label)} is not ${kind === 'number' ? 'a number' : 'a class name'} like the first label`,
      );
    }
  }
  if (kind === 'number') {
    const { labels, classNames } = integerLabels(entries.map((e) => e.label as number), (i) => `${file}:${entries[i]!.line}`);
    return { labels, classNames: [...classNames] };
  }
  const classNames = [...new Set(entries.map((e) => e.label as string))].sort();
  const index = new Map(classNames.map((name, i) => [name, i]));
  return { labels: Int32Array.from(entries, (e) => index.get(e.label as string)!), classNames };
}
