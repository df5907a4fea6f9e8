/**
 * TensorBoard's HistogramProto for a list of values. As summary.proto
 * defines it, bucket 0 covers (-DBL_MAX, bucket_limit[0]] and bucket i
 * covers (bucket_limit[i-1], bucket_limit[i]]; here `bins` equal-width
 * buckets between the smallest and the largest value, by their right edges.
 */

export interface Histogram {
  min: number;
  max: number;
  num: number;
  sum: number;
  sumSquares: number;
  /** Right edges, ascending; the last is the largest value. */
  bucketLimit: number[];
  bucket: number[];
}

export function histogramOf(values: readonly number[], bins = 30): Histogram {
  const min = Math.min(...values);
  const max = Math.max(...values);
  const width = (max - min) / bins;
  const bucketLimit = width > 0 ? Array.from({ length: bins }, (_, i) => (i === bins - 1 ? max : min + (i + 1) * width)) : [max];
  const bucket = new Array<number>(bucketLimit.length).fill(0);
  for (const v of values) bucket[bucketLimit.findIndex((limit) => v <= limit)]!++;
  return {
    min,
    max,
    num: values.length,
    sum: values.reduce((a, v) => a + v, 0),
    sumSquares: values.reduce((a, v) => a + v * v, 0),
    bucketLimit,
    bucket,
  };
}
