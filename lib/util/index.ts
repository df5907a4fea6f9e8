/**
 * Small pieces every room shares and none owns: validating options at the
 * public edge (parse-options.ts), writing files atomically with checked I/O
 * and sweeping what killed runs left (atomic-write.ts), appending whole lines
 * to a journal and reading one back as far as it can be trusted
 * (append-line.ts, journal-file.ts), one run at a time in an output folder
 * (dir-lock.ts), making an output folder with errors that say what is wrong
 * (output-dir.ts), and freeing what a long operation made, whatever way it
 * ends (owned.ts). They depend only on the error type.
 */
export { atomicWrite, describeWriteError, isAlive, removePendingTemporaries, sweepStaleTemporaries, temporaryPathFor, writeFileAtomic } from './atomic-write.js';
export { appendLine } from './append-line.js';
export { DirLock, LOCK_FILE, releaseDirLocks, type LockOwner } from './dir-lock.js';
export { describeIssues, journalError, readJournal, type JournalLine } from './journal-file.js';
export { ensureOutputDir } from './output-dir.js';
export { Owned } from './owned.js';
export { parseOptions } from './parse-options.js';
