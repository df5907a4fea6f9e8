// The CUDA toolkit that a CUDA build of the addon compiles with, when the
// LibTorch is a PyTorch wheel from PyPI: its nvcc, headers and libraries come
// from PyPI's nvidia-* wheels beside torch (site-packages/nvidia/cu13/ for
// CUDA 13, one folder per component for CUDA 12), at exactly the CUDA version
// torch was built with. LibTorch's CMake files expect a toolkit laid out as
// NVIDIA's installer lays it out (bin/nvcc, include/, lib64/ with unversioned
// .so names, lib64/stubs/libcuda.so), so this writes that layout as symlinks
// into the build folder. The driver library (libcuda) comes with NVIDIA's
// driver, not with a wheel, and the addon must never need it (it would not
// load on a machine without a GPU driver): lib64/stubs/libcuda.so, which
// only satisfies CMake's CUDA::cuda_driver target, is a link to the CUDA
// runtime the addon links anyway, and the addon links with --as-needed.
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** site-packages/nvidia beside a wheel's torch/lib, or null. */
function nvidiaDir(libtorch) {
  const dir = resolve(libtorch.libDir, '..', '..', 'nvidia');
  return existsSync(dir) ? dir : null;
}

/** The wheels' component folders (nvidia/cu13, or nvidia/cuda_nvcc, nvidia/cublas, ...), nvcc's first. */
function components(nvidia) {
  const dirs = readdirSync(nvidia).map((d) => join(nvidia, d)).filter((d) => statSync(d).isDirectory());
  return dirs.sort((a, b) => Number(existsSync(join(b, 'bin', 'nvcc'))) - Number(existsSync(join(a, 'bin', 'nvcc'))));
}

/** Links every entry of `from` into `to` that `to` does not hold yet. */
function linkEntries(from, to, rename = (name) => [name]) {
  if (!existsSync(from)) return;
  mkdirSync(to, { recursive: true });
  for (const name of readdirSync(from)) {
    for (const as of rename(name)) if (!existsSync(join(to, as))) symlinkSync(join(from, name), join(to, as));
  }
}

/**
 * Writes the toolkit layout for the wheel LibTorch `libtorch` into `dir` and
 * returns `{ root, nvcc }`; null when no nvcc wheel sits beside torch (the
 * build then leaves CUDA to CMake's own search: CUDA_HOME, nvcc on PATH).
 */
export function wheelCudaToolkit(libtorch, dir) {
  const nvidia = nvidiaDir(libtorch);
  const parts = nvidia ? components(nvidia) : [];
  if (!parts.length || !existsSync(join(parts[0], 'bin', 'nvcc'))) return null;
  const root = join(dir, 'cuda-toolkit');
  rmSync(root, { recursive: true, force: true });
  // bin/ holds links to nvcc's files, not a link to the folder: nvcc finds
  // its toolkit at bin/.., which must be this layout, not the wheel.
  linkEntries(join(parts[0], 'bin'), join(root, 'bin'));
  for (const part of parts) {
    linkEntries(join(part, 'include'), join(root, 'include'));
    // libfoo.so.13 is also linked as libfoo.so, the name the linker and CMake look for.
    linkEntries(join(part, 'lib'), join(root, 'lib64'), (name) => (/\.so\.\d/.test(name) ? [name, name.replace(/\.so\..*$/, '.so')] : [name]));
    if (existsSync(join(part, 'nvvm')) && !existsSync(join(root, 'nvvm'))) symlinkSync(join(part, 'nvvm'), join(root, 'nvvm'));
  }
  mkdirSync(join(root, 'lib64', 'stubs'), { recursive: true });
  symlinkSync(join(root, 'lib64', 'libcudart.so'), join(root, 'lib64', 'stubs', 'libcuda.so'));
  return { root, nvcc: join(root, 'bin', 'nvcc') };
}
