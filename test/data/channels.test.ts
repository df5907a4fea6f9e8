import { describe, expect, it } from 'vitest';
import { DataLoader, fromArrays, IMAGENET, inferInputChannels, normalize, toChannels } from '../../lib/data/index.js';
import type { ParameterInfo } from '../../lib/index.js';
import { collect } from './helpers/collect.js';
import { python } from './helpers/python.js';

// Parameter listings of real networks in module order, built as Module.parameters() describes them,
// with each network's true input channels (the first Conv2d module's in_channels, or null) beside them.
const networks = python<Record<string, { params: ParameterInfo[]; inChannels: number | null }>>(`
import json, torch, torchvision
nn = torch.nn
def kind(m):
    if isinstance(m, nn.modules.conv._ConvNd): return 'conv'
    if isinstance(m, nn.Linear): return 'linear'
    if isinstance(m, nn.modules.batchnorm._BatchNorm): return 'batchnorm'
    return 'other'
def listing(model):
    out = []
    for name, m in model.named_modules():
        for pname, p in list(m.named_parameters(recurse=False)) + list(m.named_buffers(recurse=False)):
            out.append(dict(name=f'{name}.{pname}'.lstrip('.'), shape=list(p.shape), dtype=str(p.dtype).replace('torch.', ''),
                            kind=kind(m), requiresGrad=p.requires_grad, isBuffer=not isinstance(p, nn.Parameter)))
    first = next((m for m in model.modules() if isinstance(m, nn.Conv2d)), None)
    return dict(params=out, inChannels=first.in_channels if first else None)
class Lenet(nn.Module):
    def __init__(self):
        super().__init__()
        self.bn = nn.BatchNorm2d(1)
        self.conv = nn.Conv2d(1, 6, 5)
        self.fc = nn.Linear(6 * 24 * 24, 10)
class Audio(nn.Module):  # a 1-D conv first: not an image backbone's stem
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv1d(2, 4, 3)
        self.c2 = nn.Conv2d(4, 8, 3)
models = dict(
    resnet18=torchvision.models.resnet18(),
    mobilenet=torchvision.models.mobilenet_v3_small(),
    vit=torchvision.models.vit_b_16(),
    lenet=Lenet(),
    audio=Audio(),
    mlp=nn.Sequential(nn.Flatten(), nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 10)),
)
print(json.dumps({k: listing(m) for k, m in models.items()}))
`);

describe('inferInputChannels', () => {
  it.each(Object.keys(networks))('%s', (name) => {
    expect(inferInputChannels(networks[name]!.params)).toBe(networks[name]!.inChannels);
  });
});

describe('batch channels', () => {
  const grey = fromArrays({ pixels: Uint8Array.from({ length: 2 * 4 }, (_, i) => i * 30), labels: [0, 1], width: 2, height: 2, channels: 1 });
  const channelsOf = async (options: ConstructorParameters<typeof DataLoader>[1]) =>
    (await collect(new DataLoader(grey, { shuffle: false, ...options }).epoch(0)))[0]!;

  it('follow the backbone: grey items become RGB for an RGB stem, repeating the grey value', async () => {
    const batch = await channelsOf({ backbone: networks.resnet18!.params });
    expect(batch.shape).toEqual([2, 3, 2, 2]);
    const v = (k: number) => Math.fround(k / 255);
    expect([...batch.inputs.subarray(0, 12)]).toEqual([0, 30, 60, 90, 0, 30, 60, 90, 0, 30, 60, 90].map(v));
  });

  it("keep the data's own channels without a conv stem or backbone, and obey toChannels over both", async () => {
    expect((await channelsOf({ backbone: networks.mlp!.params })).shape[1]).toBe(1);
    expect((await channelsOf({})).shape[1]).toBe(1);
    expect((await channelsOf({ backbone: networks.lenet!.params, transforms: [toChannels(3)] })).shape[1]).toBe(3);
  });

  it('reject statistics for another channel count, and a pixel operation given twice', () => {
    expect(() => new DataLoader(grey, { transforms: [normalize(IMAGENET)] })).toThrow(/mean has 3 values for 1-channel batches/);
    expect(() => new DataLoader(grey, { transforms: [toChannels(3), normalize(IMAGENET)] })).not.toThrow();
    expect(() => new DataLoader(grey, { transforms: [toChannels(3), toChannels(1)] })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }));
  });

  it('reject a backbone that wants neither 1 nor 3 channels', () => {
    const four = [{ name: 'conv.weight', shape: [8, 4, 3, 3], dtype: 'float32', kind: 'conv', requiresGrad: true, isBuffer: false }] as ParameterInfo[];
    expect(() => new DataLoader(grey, { backbone: four })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }));
  });
});
