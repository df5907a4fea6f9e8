/**
 * The native addon: finding LibTorch (find-libtorch.mjs, plain JavaScript so
 * that the build scripts share it), finding and test-loading the binary that
 * fits it (loader.ts: a local build or a prebuilt variant package), the one
 * message that explains a failure (explain.ts), and the one declaration of
 * everything the binary exports (surface.ts). Every other room reaches C++
 * through `native()` and these types; nothing here knows about training,
 * data or bounds.
 */
export { loadedBinary, native, packageInfo, packageRoot, VARIANT_SCOPE, type BuildManifest, type LoadedBinary } from './loader.js';
export type * from './surface.js';
