/**
 * One run at a time in an output folder. Two runs writing one folder run
 * each other's trials and runs a second time and interleave metrics.jsonl;
 * so the first to start creates `.mars-ft.lock` in the folder, exclusively
 * ('wx'), holding who it is ({ pid, hostname, started, command }), and a
 * second is refused with ERR_OUTPUT_DIR naming the first. A lock whose
 * process is gone (its pid no longer runs on this machine: a killed run) is
 * taken over; one taken on another machine cannot be checked from here and is
 * left to the user. A lock goes with `release()`, or when the process exits.
 */
import { readFileSync, rmSync } from 'node:fs';
import { link, open, readFile, rename, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { codeOf, MarsError } from '../errors.js';
import { describeWriteError, isAlive, temporaryPathFor } from './atomic-write.js';

export const LOCK_FILE = '.mars-ft.lock';

const OwnerSchema = z.object({ pid: z.number().int().positive(), hostname: z.string(), started: z.string(), command: z.string() });
export type LockOwner = z.output<typeof OwnerSchema>;

/** The locks this process holds (path → the text it wrote), removed when it exits. */
const held = new Map<string, string>();
let releasedOnExit = false;

function removeIfOurs(path: string, text: string): void {
  try {
    if (readFileSync(path, 'utf8') === text) rmSync(path);
  } catch {
    // Already gone: nothing to release.
  }
}

/**
 * Removes every lock this process holds, synchronously: for a process about to
 * die by a signal (a second Ctrl-C), which runs no exit handlers.
 */
export function releaseDirLocks(): void {
  for (const [path, text] of held) removeIfOurs(path, text);
  held.clear();
}

function ownerOf(text: string): LockOwner | undefined {
  try {
    const parsed = OwnerSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

function busy(dir: string, path: string, owner: LockOwner | undefined): MarsError {
  const who = owner ? `pid ${owner.pid} on ${owner.hostname}, started ${owner.started}: ${owner.command}` : 'its lock file cannot be read';
  return new MarsError('ERR_OUTPUT_DIR', `${dir} is in use by another run (${who}); wait for it to end, or give another output folder. If no run uses it any more, remove ${path}`);
}

/** Creates the lock file holding `text`; false when one exists. */
async function create(dir: string, path: string, text: string): Promise<boolean> {
  let file;
  try {
    file = await open(path, 'wx');
  } catch (e) {
    if (codeOf(e) === 'EEXIST') return false;
    throw new MarsError('ERR_OUTPUT_DIR', `cannot lock ${dir} for this run: ${describeWriteError(e)}`, { cause: e });
  }
  try {
    await file.writeFile(text);
    await file.close();
    return true;
  } catch (e) {
    await file.close().catch(() => undefined);
    await rm(path, { force: true });
    throw new MarsError('ERR_OUTPUT_DIR', `cannot lock ${dir} for this run: ${describeWriteError(e)}`, { cause: e });
  }
}

/** Moves the stale lock (read as `stale`) out of the way; one that another run took over meanwhile is put back. */
async function takeOver(path: string, stale: string): Promise<void> {
  const aside = temporaryPathFor(path);
  try {
    await rename(path, aside);
  } catch (e) {
    if (codeOf(e) === 'ENOENT') return; // another run moved it first
    throw new MarsError('ERR_OUTPUT_DIR', `cannot take over the lock ${path} of a run that is gone: ${describeWriteError(e)}`, { cause: e });
  }
  if ((await readFile(aside, 'utf8').catch(() => stale)) !== stale) await link(aside, path).catch(() => undefined);
  await rm(aside, { force: true });
}

export class DirLock {
  private constructor(
    readonly path: string,
    private readonly text: string,
  ) {}

  /** Locks `dir` (an existing folder) for this process; ERR_OUTPUT_DIR naming the holder when another run has it. */
  static async acquire(dir: string): Promise<DirLock> {
    const path = join(dir, LOCK_FILE);
    const text = JSON.stringify({ pid: process.pid, hostname: hostname(), started: new Date().toISOString(), command: process.argv.slice(1).join(' ') } satisfies LockOwner) + '\n';
    // A few tries: each failed one found a lock that was released or stale meanwhile.
    for (let attempt = 0; attempt < 5; attempt++) {
      if (await create(dir, path, text)) {
        if (!releasedOnExit) process.on('exit', releaseDirLocks);
        releasedOnExit = true;
        held.set(path, text);
        return new DirLock(path, text);
      }
      const found = await readFile(path, 'utf8').catch(() => undefined);
      if (found === undefined) continue;
      const owner = ownerOf(found);
      // Our own pid in a lock we do not hold: left by an earlier process that had it (a container restarted).
      const gone = owner?.hostname === hostname() && (owner.pid === process.pid ? !held.has(path) : !isAlive(owner.pid));
      if (!gone) throw busy(dir, path, owner);
      await takeOver(path, found);
    }
    throw busy(dir, path, ownerOf(await readFile(path, 'utf8').catch(() => '')));
  }

  /** Removes the lock (if it is still this one); safe to call twice. */
  release(): void {
    if (!held.has(this.path)) return;
    removeIfOurs(this.path, this.text);
    held.delete(this.path);
  }

  [Symbol.dispose](): void {
    this.release();
  }
}
