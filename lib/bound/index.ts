/**
 * The distance-based generalisation bound (docs/bound.md). The graph walk
 * (plan.ts and rules.ts: the forward graph read into layers and steps, or
 * refused), the pure maths (recursion.ts, classes.ts, generalisation.ts,
 * comparison.ts: float64 arithmetic, no LibTorch), and the measurement
 * (init.ts, measure.ts, data.ts, distances.ts, fold.ts: networks, data and
 * norms, natively). `computeBound` (compute.ts) puts them together.
 */
export { computeBound, type BoundReport, type LayerReport } from './compute.js';
export { boundInWords } from './generalisation.js';
export type { MeasuredPart } from './classes.js';
export { layerDistances, type ParameterDistance } from './distances.js';
export { foldBatchNorm, type BatchNormTensors } from './fold.js';
export type { BoundData } from './data.js';
export { BoundOptionsSchema, RadiiSchema, type BoundOptions, type Radii } from './options.js';
