/**
 * The native addon: finding LibTorch (find-libtorch.mjs, plain JavaScript so
 * that the build scripts share it), finding and test-loading the binary that
 * fits it (loader.ts), and the one declaration of everything the binary
 * exports (surface.ts). Every other room reaches C++ through `native()` and
 * these types; nothing here knows about training, data or bounds.
 */
export { native, packageRoot, type BuildManifest } from './loader.js';
export type * from './surface.js';
