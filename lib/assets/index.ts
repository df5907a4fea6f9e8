/**
 * What the package carries besides code: the embedded default backbone (a
 * small ResNet that this package pre-trained on Fashion-MNIST classes 0-4)
 * and the embedded target set (classes 5-9), as absolute paths and data
 * specs, so that examples and quick trials run from any project.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../native/loader.js';

const assets = join(packageRoot, 'assets');
const split = (name: string) => `idx:${join(assets, 'target', `${name}-images.idx.gz`)},${join(assets, 'target', `${name}-labels.idx.gz`)}`;

/** The embedded backbone's TorchScript file: 1×28×28 greyscale images in, (B, C, H, W) feature maps out. */
export const defaultBackbone: string = join(assets, 'backbone.pt');

/**
 * The embedded target set: `train` (60 images per class) and `test` (100 per
 * class) as data specs for `openDataset`, and the names of its 5 classes
 * (sandal, shirt, sneaker, bag, ankle boot) in label order.
 */
export const targetSet: { readonly train: string; readonly test: string; readonly classNames: readonly string[] } = {
  train: split('train'),
  test: split('test'),
  classNames: JSON.parse(readFileSync(join(assets, 'target', 'classes.json'), 'utf8')) as string[],
};
