/**
 * Logs: the files a run leaves for the tools people already read. TensorBoard
 * event files (TFRecord-framed `Event` protobufs: scalars and histograms,
 * event-file.ts over tfrecord.ts and histogram.ts) and CSV tables (csv.ts).
 * The room knows nothing of training: callers hand it tags, steps and
 * numbers, and lib/train decides what a run logs.
 */
export { EventWriter, type EventValues } from './event-file.js';
export { histogramOf, type Histogram } from './histogram.js';
export { frameRecord, maskedCrc32c } from './tfrecord.js';
export { csvText, type CsvCell } from './csv.js';
