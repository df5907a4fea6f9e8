/** Process-wide LibTorch settings and facts. */
import { MarsError } from '../errors.js';
import { loadedBinary, native, type LoadedBinary } from '../native/loader.js';
import type { NativeRuntimeInfo } from '../native/surface.js';

/** What the binary reports, and which binary it is. */
export interface RuntimeInfo extends NativeRuntimeInfo {
  /** The binary loaded (local build or prebuilt variant package) and the LibTorch it runs on. */
  binary: LoadedBinary;
}

/** The LibTorch this process runs on: version, CUDA, thread count, and the binary loaded. */
export function runtimeInfo(): RuntimeInfo {
  return { ...native().info(), binary: loadedBinary() };
}

/**
 * Sets LibTorch's intra-op thread count for this process, from the next
 * computation on. The default is what PyTorch picks: OMP_NUM_THREADS (or
 * MKL_NUM_THREADS) when set, else one thread per physical core.
 */
export function setNumThreads(threads: number): void {
  if (!Number.isInteger(threads) || threads < 1) throw new MarsError('ERR_INVALID_ARGUMENT', 'threads must be a positive integer');
  native().setNumThreads(threads);
}

/**
 * Seeds LibTorch's default random generators (CPU and CUDA), in order with
 * the work already queued on the compute thread. fineTune and the Trainer do
 * not use them: each run draws from a generator of its own (`seed`).
 */
export function manualSeed(seed: number): void {
  if (!Number.isSafeInteger(seed) || seed < 0) throw new MarsError('ERR_INVALID_ARGUMENT', 'seed must be a non-negative safe integer');
  native().manualSeed(seed);
}

/** @internal Returns the CPU allocator's cached blocks (freed tensor memory kept for reuse) to the system. */
export function trimCpuCache(): void {
  native().trimCpuCache();
}
