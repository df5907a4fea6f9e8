/**
 * What every object backed by a native handle shares: `dispose()` frees its
 * LibTorch memory now rather than at the next garbage collection (the
 * memory is reported to V8 meanwhile), `using` disposes it at the end of a
 * block, and any later use is rejected with ERR_DISPOSED.
 */
import type { NativeHandle } from '../native/surface.js';

export abstract class HandleOwner<H extends NativeHandle> implements Disposable {
  /** @internal */
  readonly handle: H;

  /** @internal */
  constructor(handle: H) {
    this.handle = handle;
  }

  /** Releases the native memory now; work already started finishes first. Idempotent. */
  dispose(): void {
    this.handle.dispose();
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  /** True after `dispose()`. */
  get disposed(): boolean {
    return this.handle.disposed;
  }
}
