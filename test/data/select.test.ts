import { describe, expect, it } from 'vitest';
import { fromArrays, select, selectClasses, splitDataset, type Dataset } from '../../lib/data/index.js';

// 4 classes of 10, 25, 40 and 7 items (interleaved), one byte each whose value is its index.
const labels = [...Array<number>(10).fill(0), ...Array<number>(25).fill(1), ...Array<number>(40).fill(2), ...Array<number>(7).fill(3)].sort(
  (a, b) => ((a * 7919) % 13) - ((b * 7919) % 13) || a - b,
);
const data = fromArrays({
  pixels: Uint8Array.from(labels, (_, i) => i),
  labels,
  width: 1,
  height: 1,
  channels: 1,
  classNames: ['a', 'b', 'c', 'd'],
});
const keys = (ds: Dataset) => Array.from({ length: ds.size }, (_, i) => ds.key(i));
const rowOf = (key: string) => Number(key.split('#')[1]);

describe('class selection', () => {
  it('keeps the chosen classes, relabelled in the given order', () => {
    const ds = selectClasses(data, [2, 0]);
    expect(ds.classNames).toEqual(['c', 'a']);
    expect(ds.classCounts()).toEqual([40, 10]);
    for (let i = 0; i < ds.size; i++) expect(ds.label(i)).toBe({ 2: 0, 0: 1 }[labels[rowOf(ds.key(i))]!]);
  });

  it('classNames renames the classes after selection, in label order, keeping items and labels', () => {
    const ds = select(data, { classes: [2, 0], classNames: ['cat', 'dog'], perClass: 5, seed: 3 });
    const plain = select(data, { classes: [2, 0], perClass: 5, seed: 3 });
    expect(ds.classNames).toEqual(['cat', 'dog']);
    expect(keys(ds)).toEqual(keys(plain));
    expect(Array.from({ length: ds.size }, (_, i) => ds.label(i))).toEqual(Array.from({ length: plain.size }, (_, i) => plain.label(i)));
    expect(() => select(data, { classes: [2, 0], classNames: ['cat'] })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT', message: expect.stringMatching(/1 names for 2 classes/) }));
    expect(() => select(data, { classes: [2, 0], classNames: ['cat', 'cat'] })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }));
  });

  it('rejects unknown or repeated classes', () => {
    expect(() => selectClasses(data, [4])).toThrow(expect.objectContaining({ code: 'ERR_DATA_LABEL' }));
    expect(() => selectClasses(data, [1, 1])).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }));
  });
});

describe('sampling', () => {
  it('perClass takes n of each class, seeded, in dataset order', () => {
    const a = select(data, { perClass: 5, seed: 1 });
    expect(a.classCounts()).toEqual([5, 5, 5, 5]);
    const rows = keys(a).map(rowOf);
    expect(rows).toEqual([...rows].sort((x, y) => x - y));
    rows.forEach((row, i) => expect(labels[row]).toBe(a.label(i)));
    expect(keys(select(data, { perClass: 5, seed: 1 }))).toEqual(keys(a));
    expect(keys(select(data, { perClass: 5, seed: 2 }))).not.toEqual(keys(a));
  });

  it('perClass larger than a class is an error naming it', () => {
    expect(() => select(data, { perClass: 8 })).toThrow(/class "d" has 7 items/);
  });

  it('fraction keeps round(f × count) of each class', () => {
    expect(select(data, { fraction: 0.3, seed: 4 }).classCounts()).toEqual([3, 8, 12, 2]);
  });

  it('classes then perClass compose', () => {
    const ds = select(data, { classes: [3, 1], perClass: 6, seed: 3 });
    expect(ds.classNames).toEqual(['d', 'b']);
    expect(ds.classCounts()).toEqual([6, 6]);
  });

  it('rejects both perClass and fraction, and unknown options', () => {
    expect(() => select(data, { perClass: 2, fraction: 0.5 })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }));
    expect(() => select(data, { perclass: 2 } as never)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }));
  });
});

describe('train/validation split', () => {
  it('is stratified, disjoint, complete and seeded', () => {
    const { train, validation } = splitDataset(data, { validation: 0.2, seed: 9 });
    expect(validation.classCounts()).toEqual([2, 5, 8, 1]);
    expect(train.classCounts()).toEqual([8, 20, 32, 6]);
    const all = [...keys(train), ...keys(validation)];
    expect(new Set(all).size).toBe(data.size);
    expect(new Set(all)).toEqual(new Set(keys(data)));
    expect(keys(splitDataset(data, { validation: 0.2, seed: 9 }).validation)).toEqual(keys(validation));
    expect(keys(splitDataset(data, { validation: 0.2, seed: 10 }).validation)).not.toEqual(keys(validation));
  });
});
