/**
 * Datasets as plain data, to hand to a child process (structured clone) or
 * to join two of them: file items travel as paths, in-memory items as a copy
 * of their own pixels (a view would drag its whole source buffer along).
 */
import { Dataset, type ItemRef, type ItemStore } from '../data/dataset.js';
import { MarsError } from '../errors.js';

export interface PortableDataset {
  classNames: string[];
  channels: 1 | 3;
  labels: Int32Array;
  keys: string[];
  items: ItemRef[];
}

export function toPortable(dataset: Dataset): PortableDataset {
  const items: ItemRef[] = [];
  const keys: string[] = [];
  const labels = new Int32Array(dataset.size);
  for (let i = 0; i < dataset.size; i++) {
    const ref = dataset.ref(i);
    items.push(ref.kind === 'file' ? ref : { kind: 'pixels', pixels: { ...ref.pixels, data: ref.pixels.data.slice() } });
    keys.push(dataset.key(i));
    labels[i] = dataset.label(i);
  }
  return { classNames: [...dataset.classNames], channels: dataset.channels, labels, keys, items };
}

export function fromPortable(p: PortableDataset, origin: string): Dataset {
  const store: ItemStore = { channels: p.channels, ref: (row) => p.items[row]!, key: (row) => p.keys[row]! };
  return Dataset.fromSource(store, p.labels, p.classNames, origin);
}

/** `a` then `b`, which must name the same classes in the same order. */
export function concatDatasets(a: Dataset, b: Dataset): Dataset {
  if (a.classNames.join('\n') !== b.classNames.join('\n')) {
    throw new MarsError('ERR_DATA_LABEL', `the validation classes (${b.classNames.join(', ')}) differ from the training classes (${a.classNames.join(', ')})`);
  }
  const [pa, pb] = [toPortable(a), toPortable(b)];
  const labels = new Int32Array(pa.labels.length + pb.labels.length);
  labels.set(pa.labels);
  labels.set(pb.labels, pa.labels.length);
  return fromPortable({ ...pa, labels, keys: [...pa.keys, ...pb.keys], items: [...pa.items, ...pb.items] }, 'training and validation data');
}
