// marsSpRadii: a MARS-SP configuration as the bound's a priori radii, by
// parameter name, against method.md's table applied by hand.
import { describe, expect, it } from 'vitest';
import { marsSpRadii, type ParameterInfo } from '../../lib/index.js';

const p = (name: string, kind: ParameterInfo['kind'], isBuffer = false): ParameterInfo => ({
  name, kind, isBuffer, shape: [2], dtype: 'float32', moduleType: kind, requiresGrad: !isBuffer, device: 'cpu',
});
const CLASSIFIER = [
  p('backbone.conv1.weight', 'conv'),
  p('backbone.conv1.bias', 'conv'),
  p('backbone.bn1.weight', 'batchnorm'),
  p('backbone.bn1.bias', 'batchnorm'),
  p('backbone.bn1.running_var', 'batchnorm', true),
  p('backbone.layer1.0.conv.weight', 'conv'),
  p('backbone.layer1.0.bn.weight', 'batchnorm'),
  p('backbone.fc.weight', 'linear'),
  p('head.weight', 'linear'),
  p('head.bias', 'linear'),
];

describe('marsSpRadii', () => {
  it('defaults: conv/linear weights at γ_ext, BatchNorm scales at γ_ext, the head at γ_cls; no biases', () => {
    expect(marsSpRadii({ method: 'mars-sp' }, CLASSIFIER)).toEqual({
      backbone: 2,
      head: 10,
      batchnorm: 2,
      includeBias: false,
      layers: {
        'backbone.conv1.weight': 2,
        'backbone.bn1.weight': 2,
        'backbone.layer1.0.conv.weight': 2,
        'backbone.layer1.0.bn.weight': 2,
        'backbone.fc.weight': 2,
        'head.weight': 10,
      },
    });
  });

  it('globs and overrides (the first match wins), the BatchNorm clip and includeBias', () => {
    const radii = marsSpRadii(
      {
        method: 'mars-sp',
        extractor: 1.5,
        classifier: 8,
        batchnorm: 0.1,
        includeBias: true,
        overrides: [
          { pattern: 'backbone.layer1.*', value: 0.5 },
          { pattern: '*.bn1.weight', value: 0.3 },
          { pattern: 'backbone.layer1.0.bn.*', value: 9 },
        ],
      },
      CLASSIFIER,
    );
    expect(radii).toEqual({
      backbone: 1.5,
      head: 8,
      batchnorm: 0.1,
      includeBias: true,
      layers: {
        'backbone.conv1.weight': 1.5,
        'backbone.conv1.bias': 1.5,
        'backbone.bn1.weight': 0.3,
        'backbone.layer1.0.conv.weight': 0.5,
        'backbone.layer1.0.bn.weight': 0.5,
        'backbone.fc.weight': 1.5,
        'head.weight': 8,
        'head.bias': 8,
      },
    });
  });

  it.each(['frobenius-sp', 'mars-penalty', 'none'] as const)('%s is not MARS-SP: refused', (method) => {
    expect(() => marsSpRadii({ method }, CLASSIFIER)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }));
  });
});
