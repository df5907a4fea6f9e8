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
 * `device` once this process can use it, else ERR_DEVICE saying why: a CUDA
 * device needs a binary built with CUDA, a GPU that CUDA's driver sees, and
 * an index below the GPU count.
 */
export function usableDevice(device: string): string {
  if (device === 'cpu') return device;
  const info = native().info();
  if (!info.builtWithCuda) {
    throw new MarsError('ERR_DEVICE', `device '${device}' needs CUDA, and this binary is built for a CPU LibTorch (${info.libtorchVersion}): install PyTorch with CUDA and its variant (README: Install), or use 'cpu'`);
  }
  if (!info.cudaAvailable) {
    throw new MarsError('ERR_DEVICE', `device '${device}' needs a GPU, and CUDA found none here: no NVIDIA GPU or no NVIDIA driver on this machine (the binary and LibTorch ${info.libtorchVersion} have CUDA built in); use 'cpu'`);
  }
  const index = Number(device.split(':')[1] ?? 0);
  if (index >= info.cudaDeviceCount) throw new MarsError('ERR_DEVICE', `device '${device}' does not exist: this machine has ${info.cudaDeviceCount} GPU(s), cuda:0 to cuda:${info.cudaDeviceCount - 1}`);
  return device;
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
