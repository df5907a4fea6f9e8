/** TensorBoard's HistogramProto for a list of values, bucketed as tensorboardX does. */

export interface Histogram {
  min: number;
  max: number;
  num: number;
  sum: number;
  sumSquares: number;
  /** Right edges; bucket i holds the values in (bucketLimit[i-1], bucketLimit[i]]. */
  bucketLimit: number[];
  bucket: number[];
}

/**
 * `bins` equal-width buckets from min to max. As in tensorboardX, the left
 * edge comes first with an empty bucket, so that every bucket's range is
 * closed by the limit before it.
 */
export function histogramOf(values: readonly number[], bins = 30): Histogram {
  const min = Math.min(...values);
  const max = Math.max(...values);
  const sum = values.reduce((a, v) => a + v, 0);
  const sumSquares = values.reduce((a, v) => a + v * v, 0);
  const width = (max - min) / bins;
  if (!(width > 0)) return { min, max, num: values.length, sum, sumSquares, bucketLimit: [min, max], bucket: [0, values.length] };
  const counts = new Array<number>(bins).fill(0);
  for (const v of values) counts[Math.min(bins - 1, Math.floor((v - min) / width))]!++;
  const edges = Array.from({ length: bins + 1 }, (_, i) => (i === bins ? max : min + i * width));
  return { min, max, num: values.length, sum, sumSquares, bucketLimit: edges, bucket: [0, ...counts] };
}
