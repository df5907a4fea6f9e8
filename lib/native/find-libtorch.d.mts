/** Types for find-libtorch.mjs (plain JavaScript so the build scripts can run it before tsc). */
export interface LibTorchFound {
  source: string;
  ok: true;
  cmakePrefix: string;
  includeDirs: string[];
  libDir: string;
  version: string | null;
  /** CUDA version ('13.0'), 'unknown' for a CUDA LibTorch of unknown version, null for CPU. */
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
export function libtorchCandidates(): LibTorchCandidate[];
export function libtorchOfPython(python: string): LibTorchCandidate;
export function libtorchOfBuild(built: { source: string; libDir: string }): LibTorchCandidate;
export function findLibTorch(): { found: LibTorchFound | null; tried: LibTorchCandidate[] };
export function explainNotFound(tried: LibTorchCandidate[]): string;
export function libraryFile(libDir: string, name: string): string | null;
export function libtorchLibraries(libtorch: { libDir: string; cuda: string | null }): string[];
export function flavourOf(cuda: string | null | undefined): string;
export function variantOf(libtorch: { version: string | null; cuda: string | null }, platform?: string, arch?: string): string;
export function pythons(): string[];
export const INSTALL_LIBTORCH: string;
