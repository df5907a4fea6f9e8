/**
 * Small pieces every room shares and none owns: validating options at the
 * public edge (parse-options.ts) and writing files atomically
 * (atomic-write.ts). They depend only on the error type.
 */
export { atomicWrite, temporaryPathFor, writeFileAtomic } from './atomic-write.js';
export { parseOptions } from './parse-options.js';
