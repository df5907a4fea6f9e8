/**
 * An image folder: one subfolder per class, class names sorted give the
 * labels, files ordered like torchvision's ImageFolder (sorted by folder, then
 * name, recursively) so that item indices agree with it.
 */
import type { Dirent } from 'node:fs';
import { opendir, readdir, stat } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { MarsError } from '../../errors.js';
import { Dataset } from '../dataset.js';
import { fileStore } from './files.js';

/**
 * Every visible file is an item, whatever its extension: one that does not
 * decode is skipped and reported at load time, rather than silently ignored.
 */
export async function openImageFolder(root: string): Promise<Dataset> {
  let entries: Dirent[];
  try {
    entries = await readdir(root, { withFileTypes: true });
  } catch (cause) {
    throw new MarsError('ERR_DATA_FILE', `cannot read data folder ${root}: ${(cause as Error).message}`, { cause });
  }
  const classNames: string[] = [];
  for (const entry of entries) {
    if (!entry.name.startsWith('.') && (entry.isDirectory() || (await isLinkToDirectory(root, entry)))) classNames.push(entry.name);
  }
  classNames.sort(byCodeUnit);
  if (classNames.length === 0) {
    throw new MarsError('ERR_DATA', `data folder ${root} has no class subfolders (expected ${join(root, '<class>', '<image>')})`);
  }
  const paths: string[] = [];
  const labels: number[] = [];
  for (const [label, name] of classNames.entries()) {
    const files = await listFiles(join(root, name));
    if (files.length === 0) {
      throw new MarsError('ERR_DATA_EMPTY_CLASS', `class folder ${join(root, name)} has no files`);
    }
    for (const file of files) {
      paths.push(file);
      labels.push(label);
    }
  }
  return Dataset.fromSource(fileStore(paths), Int32Array.from(labels), classNames, root);
}

/** Files under `dir`, sorted as Python's sorted(os.walk(dir)) visits them: by folder path, then file name. */
async function listFiles(dir: string): Promise<string[]> {
  const groups: { dir: string; names: string[] }[] = [];
  const walk = async (current: string): Promise<void> => {
    const names: string[] = [];
    // Entry by entry rather than one array of them all, so a huge folder is never listed twice in memory.
    for await (const entry of await opendir(current)) {
      if (entry.name.startsWith('.')) continue;
      if (entry.isDirectory() || (await isLinkToDirectory(current, entry))) await walk(join(current, entry.name));
      else names.push(entry.name);
    }
    groups.push({ dir: current, names: names.sort(byCodeUnit) });
  };
  await walk(dir);
  groups.sort((a, b) => byCodeUnit(a.dir, b.dir));
  // Concatenation shares each folder's string among its files, where join() would build every path afresh.
  return groups.flatMap((g) => g.names.map((name) => g.dir + sep + name));
}

/** Folders reached through symbolic links count, as ImageFolder follows them. */
async function isLinkToDirectory(parent: string, entry: Dirent): Promise<boolean> {
  if (!entry.isSymbolicLink()) return false;
  return (await stat(join(parent, entry.name)).catch(() => null))?.isDirectory() ?? false;
}

function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
