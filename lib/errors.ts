/**
 * One error type for everything the package rejects. `code` is stable and
 * meant for programs; `message` is meant for people and says what to do.
 */

/** Every code the package (TypeScript facade and native addon) can raise. */
export type ErrorCode =
  | 'ERR_INVALID_ARGUMENT'
  | 'ERR_TORCHSCRIPT_LOAD'
  | 'ERR_TORCHSCRIPT_SAVE'
  | 'ERR_WRITE'
  | 'ERR_CHECKPOINT_WRITE'
  | 'ERR_OUTPUT_DIR'
  | 'ERR_DISPOSED'
  | 'ERR_SHAPE'
  | 'ERR_DTYPE'
  | 'ERR_DEVICE'
  | 'ERR_FORWARD'
  | 'ERR_UNSUPPORTED_OUTPUT'
  | 'ERR_NATIVE_LOAD'
  | 'ERR_BUILD'
  | 'ERR_LIBTORCH_NOT_FOUND'
  | 'ERR_DATA'
  | 'ERR_DATA_FILE'
  | 'ERR_DATA_EMPTY_CLASS'
  | 'ERR_DATA_LABEL'
  | 'ERR_DATA_SIZE'
  | 'ERR_TORCH'
  | 'ERR_BACKBONE_OUTPUT'
  | 'ERR_TRAINING'
  | 'ERR_NONFINITE_LOSS'
  | 'ERR_ABORTED'
  | 'ERR_CHECKPOINT'
  | 'ERR_JOURNAL'
  | 'ERR_BOUND_UNSUPPORTED'
  | 'ERR_BOUND_INIT'
  | 'ERR_BOUND_OUTSIDE_CLASS'
  | 'ERR_DISTRIBUTED';

/** An error raised by mars-finetune, with a stable machine-readable `code`. */
export class MarsError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MarsError';
    this.code = code;
  }
}

/** The `code` of an error (a MarsError, a native error, or one of Node's), if it has one. */
export function codeOf(e: unknown): string | undefined {
  const code = typeof e === 'object' && e !== null ? (e as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : undefined;
}

/** True when `e` carries one of `codes` (a MarsError, a native error, or one of Node's). */
export function hasCode(e: unknown, ...codes: (ErrorCode | (string & {}))[]): e is Error & { code: string } {
  const code = codeOf(e);
  return code !== undefined && codes.includes(code);
}
