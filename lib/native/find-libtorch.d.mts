/** Types for find-libtorch.mjs (plain JavaScript so the install script can run it before tsc). */
export interface LibTorchFound {
  source: string;
  ok: true;
  cmakePrefix: string;
  includeDirs: string[];
  libDir: string;
  version: string | null;
  cuda: string | null;
  cxx11Abi: boolean | null;
  readonly abiFlag: 0 | 1;
}
export interface LibTorchRefused {
  source: string;
  ok: false;
  why: string;
}
export type LibTorchCandidate = LibTorchFound | LibTorchRefused;
export function libtorchCandidates(options?: { python?: boolean }): LibTorchCandidate[];
export function findLibTorch(options?: { python?: boolean }): { found: LibTorchFound | null; tried: LibTorchCandidate[] };
export function explainNotFound(tried: LibTorchCandidate[]): string;
