/**
 * Small pieces every room shares and none owns: validating options at the
 * public edge (parse-options.ts), writing files atomically with checked I/O
 * and sweeping what killed runs left (atomic-write.ts), and making an output
 * folder with errors that say what is wrong (output-dir.ts), and freeing what
 * a long operation made, whatever way it ends (owned.ts). They depend only
 * on the error type.
 */
export { atomicWrite, describeWriteError, removePendingTemporaries, sweepStaleTemporaries, temporaryPathFor, writeFileAtomic } from './atomic-write.js';
export { ensureOutputDir } from './output-dir.js';
export { Owned } from './owned.js';
export { parseOptions } from './parse-options.js';
