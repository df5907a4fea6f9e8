/**
 * What fineTune does differently as one rank of a data-parallel job: the
 * shards of the data each rank reads, the fingerprint of the job every rank
 * must share, and sums of metrics over the ranks. Without a group each helper
 * is the one-process identity, so the loop has one shape.
 */
import type { Dataset } from '../data/dataset.js';
import type { Shard } from '../data/shard.js';
import type { ProcessGroup } from '../distributed/group.js';
import type { Module } from '../torch/module.js';
import type { ParsedFineTuneOptions } from './options.js';

/** This rank's shard: training pads or drops the remainder, evaluation sees every item once. */
export function shardFor(group: ProcessGroup | undefined, train: boolean): Shard | undefined {
  if (!group) return undefined;
  return { rank: group.rank, count: group.worldSize, remainder: train ? group.settings.remainder : 'none' };
}

/**
 * What must be equal on every rank for the job to make sense: the options
 * (less per-rank ones: device, threads, paths, callbacks), the data's size
 * and classes, the backbone's tensor shapes and the epoch it starts from.
 */
export function jobFingerprint(o: ParsedFineTuneOptions, group: ProcessGroup, backbone: Module, startEpoch: number): unknown {
  const { train, validation, test, backbone: _path, distributed: _d, device: _device, threads: _t, checkpointDir: _c, onBatchEnd: _b, onEpochEnd: _e, signal: _s, ...rest } = o;
  const data = (d?: Dataset) => d && { size: d.size, classNames: d.classNames };
  const { rank: _r, localRank: _l, host: _h, interface: _i, ...job } = group.settings;
  return {
    ...rest,
    train: data(train),
    validation: data(validation),
    test: data(test),
    backbone: backbone.parameters().map((p) => `${p.name}:${p.shape.join('x')}`),
    startEpoch,
    distributed: job,
  };
}

/** `values` summed over the ranks (as they are without a group). */
export function sumOverRanks(group: ProcessGroup | undefined, values: number[]): Promise<number[]> {
  return group ? group.sum(values) : Promise.resolve(values);
}
