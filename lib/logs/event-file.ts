/**
 * A TensorBoard event file: `events.out.tfevents.<seconds>.<host>.<pid>`,
 * opening with the `brain.Event:2` version record, then one `Event` per
 * step holding a `Summary` of scalars (`simple_value`) and histograms
 * (`histo`). Each record is appended with one write, so a crash can cut at
 * most the last record short, which TensorBoard's reader skips.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import protobuf from 'protobufjs';
import { MarsError } from '../errors.js';
import { histogramOf } from './histogram.js';
import { frameRecord } from './tfrecord.js';

/** The fields this package writes of tensorboard/compat/proto event.proto and summary.proto, with their numbers. */
const PROTO = `
syntax = "proto3";
package tensorboard;
message HistogramProto {
  double min = 1;
  double max = 2;
  double num = 3;
  double sum = 4;
  double sum_squares = 5;
  repeated double bucket_limit = 6 [packed = true];
  repeated double bucket = 7 [packed = true];
}
message Summary {
  message Value {
    string tag = 1;
    oneof value {
      float simple_value = 2;
      HistogramProto histo = 5;
    }
  }
  repeated Value value = 1;
}
message Event {
  double wall_time = 1;
  int64 step = 2;
  oneof what {
    string file_version = 3;
    Summary summary = 5;
  }
}`;

const Event = protobuf.parse(PROTO, { keepCase: false }).root.lookupType('tensorboard.Event');

/** What one step logs: scalars by tag, and histograms of value lists by tag. */
export interface EventValues {
  scalars?: Record<string, number>;
  histograms?: Record<string, readonly number[]>;
}

export class EventWriter {
  /** The event file's path. */
  readonly path: string;

  /** Creates the folder and a new event file in it (a resumed run adds a file; TensorBoard reads them all). */
  constructor(dir: string) {
    this.path = join(dir, `events.out.tfevents.${Math.floor(Date.now() / 1000)}.${hostname()}.${process.pid}`);
    try {
      mkdirSync(dir, { recursive: true });
    } catch (e) {
      throw new MarsError('ERR_WRITE', `cannot create the log folder ${dir}: ${(e as Error).message}`, { cause: e });
    }
    this.append({ fileVersion: 'brain.Event:2' });
  }

  /** Appends one event at `step`; non-finite scalars are left out (TensorBoard cannot plot them). */
  write(step: number, { scalars = {}, histograms = {} }: EventValues): void {
    const value = [
      ...Object.entries(scalars).filter(([, v]) => Number.isFinite(v)).map(([tag, simpleValue]) => ({ tag, simpleValue })),
      ...Object.entries(histograms).filter(([, v]) => v.length > 0).map(([tag, values]) => ({ tag, histo: histogramOf(values) })),
    ];
    if (value.length > 0) this.append({ step, summary: { value } });
  }

  private append(fields: Record<string, unknown>): void {
    const bytes = Event.encode(Event.fromObject({ wallTime: Date.now() / 1000, ...fields })).finish();
    try {
      appendFileSync(this.path, frameRecord(bytes));
    } catch (e) {
      throw new MarsError('ERR_WRITE', `cannot write the event file ${this.path}: ${(e as Error).message}`, { cause: e });
    }
  }
}
