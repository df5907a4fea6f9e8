/**
 * An image folder: one subfolder per class, class names sorted give the
 * labels, files ordered like torchvision's ImageFolder (sorted by folder, then
 * name, recursively) so that item indices agree with it.
 *
 * Symbolic links are followed as ImageFolder follows them, with two limits
 * that keep a link from looping or from labelling another class's images
 * (ImageFolder does both): each real folder is walked once, and a link to a
 * folder is followed only when the folder lies inside its class folder. Links
 * left out are counted in one warning (MARS_DATA_LINKS). A link to a file is
 * an item wherever the file is: one link is one item, and a folder of links
 * into a shared pool of images is a common way to lay out classes.
 */
import type { Dirent } from 'node:fs';
import { opendir, readdir, realpath, stat } from 'node:fs/promises';
import { dirname, join, sep } from 'node:path';
import { codeOf, MarsError } from '../../errors.js';
import { Dataset } from '../dataset.js';
import { fileStore } from './files.js';

/**
 * Every visible file is an item, whatever its extension or type: one that
 * does not decode (a FIFO included, which the decoders refuse unopened) is
 * skipped and reported at load time, rather than silently ignored.
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
  const folders = classNames.map((name) => join(root, name));
  await checkDisjoint(folders);
  const paths: string[] = [];
  const labels: number[] = [];
  const leftOut: string[] = [];
  for (const [label, folder] of folders.entries()) {
    const files = await listFiles(folder, leftOut);
    if (files.length === 0) {
      throw new MarsError('ERR_DATA_EMPTY_CLASS', `class folder ${folder} has no files`);
    }
    for (const file of files) {
      paths.push(file);
      labels.push(label);
    }
  }
  if (leftOut.length > 0) {
    const shown = leftOut.slice(0, 3).join(', ') + (leftOut.length > 3 ? `, and ${leftOut.length - 3} more` : '');
    process.emitWarning(
      `${root}: left out ${leftOut.length === 1 ? 'a symbolic link to a folder outside its class folder' : `${leftOut.length} symbolic links to folders outside their class folders`} (${shown}); link the class folder itself to use images from elsewhere`,
      { code: 'MARS_DATA_LINKS' },
    );
  }
  return Dataset.fromSource(fileStore(paths), Int32Array.from(labels), classNames, root);
}

/** Two class folders that are one folder, or one inside the other (through links), would give their images two labels. */
async function checkDisjoint(folders: readonly string[]): Promise<void> {
  const byRealPath = new Map<string, string>();
  for (const folder of folders) {
    const real = await realpath(folder).catch((cause: unknown) => Promise.reject(folderError(folder, cause)));
    const other = byRealPath.get(real);
    if (other !== undefined) throw overlap(other, folder);
    byRealPath.set(real, folder);
  }
  for (const [real, folder] of byRealPath) {
    for (let above = real; above !== dirname(above); ) {
      above = dirname(above);
      const outer = byRealPath.get(above);
      if (outer !== undefined) throw overlap(outer, folder);
    }
  }
}

function overlap(outer: string, inner: string): MarsError {
  return new MarsError('ERR_DATA', `class folders ${outer} and ${inner} share images (through a symbolic link, one is the other or lies inside it): each image must have one class`);
}

interface Group {
  dir: string;
  names: string[];
}

/**
 * Files under `dir`, sorted as Python's sorted(os.walk(dir)) visits them: by
 * folder path, then file name. Links are resolved after every real folder has
 * been walked, so that a folder reached both ways is listed under its own
 * path; links to folders outside `dir` are added to `leftOut` instead.
 */
async function listFiles(dir: string, leftOut: string[]): Promise<string[]> {
  const groups: Group[] = [];
  const links: { group: Group; name: string }[] = [];
  const visited = new Set<string>();
  const walk = async (current: string): Promise<void> => {
    try {
      const { dev, ino } = await stat(current, { bigint: true });
      if (visited.has(`${dev}:${ino}`)) return;
      visited.add(`${dev}:${ino}`);
      const group: Group = { dir: current, names: [] };
      const folders: string[] = [];
      const linked: string[] = [];
      // Entry by entry rather than one array of them all, so a huge folder is never listed twice in memory.
      for await (const entry of await opendir(current)) {
        if (entry.name.startsWith('.')) continue;
        if (entry.isSymbolicLink()) linked.push(entry.name);
        else if (entry.isDirectory()) folders.push(entry.name);
        else group.names.push(entry.name);
      }
      groups.push(group);
      // Sorted, so that which of two paths to one folder is walked does not depend on the order the system lists them.
      for (const name of linked.sort(byCodeUnit)) links.push({ group, name });
      for (const name of folders.sort(byCodeUnit)) await walk(join(current, name));
    } catch (cause) {
      throw folderError(current, cause);
    }
  };
  const top = await realpath(dir).catch((cause: unknown) => Promise.reject(folderError(dir, cause)));
  const inside = (path: string) => path === top || path.startsWith(top.endsWith(sep) ? top : top + sep);
  await walk(dir);
  // `links` grows while linked folders are walked.
  for (let i = 0; i < links.length; i++) {
    const { group, name } = links[i]!;
    const path = join(group.dir, name);
    const target = await linkTarget(path);
    if (target === null) group.names.push(name);
    else if (inside(target)) await walk(path);
    else leftOut.push(`${path} -> ${target}`);
  }
  groups.sort((a, b) => byCodeUnit(a.dir, b.dir));
  // Concatenation shares each folder's string among its files, where join() would build every path afresh.
  return groups.flatMap((g) => g.names.sort(byCodeUnit).map((name) => g.dir + sep + name));
}

/**
 * The real path of the folder a link leads to; null when it leads to a file,
 * to nothing, or into a loop of links: then the link is an item, and a broken
 * one is reported unreadable at load time, as a missing file is.
 */
async function linkTarget(link: string): Promise<string | null> {
  try {
    return (await stat(link)).isDirectory() ? await realpath(link) : null;
  } catch (cause) {
    if (codeOf(cause) === 'ENOENT' || codeOf(cause) === 'ELOOP') return null;
    throw folderError(dirname(link), cause);
  }
}

/** A folder of the data that cannot be read (permissions, a vanished folder, an I/O error), named with the system's reason. */
function folderError(folder: string, cause: unknown): MarsError {
  if (cause instanceof MarsError) return cause;
  return new MarsError('ERR_DATA_FILE', `cannot read folder ${folder} of the data: ${(cause as Error).message}`, { cause });
}

/** Folders reached through symbolic links count, as ImageFolder follows them. */
async function isLinkToDirectory(parent: string, entry: Dirent): Promise<boolean> {
  if (!entry.isSymbolicLink()) return false;
  return (await stat(join(parent, entry.name)).catch(() => null))?.isDirectory() ?? false;
}

function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
