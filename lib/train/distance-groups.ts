/**
 * Per-layer distances summed up by group: the backbone (centred at its
 * pre-trained weights W0) and the new head (centred at zero) are measured
 * from different centres against different radii, so one maximum over both
 * would compare a head distance with the backbone's radius. Every summary
 * (progress line, logs, report) reads them through here.
 */
import type { TensorDistance } from '../native/surface.js';
import type { Method } from './regularisers.js';

export type DistanceGroupName = 'backbone' | 'head';

export interface DistanceGroup {
  group: DistanceGroupName;
  /** Weight tensors in the group. */
  layers: number;
  marsMax: number;
  marsMean: number;
  frobeniusMax: number;
  /** The radii of the group's projected tensors, smallest and largest (absent when none is projected). */
  radius?: { min: number; max: number };
  /** The largest distance over its radius, in the norm the radius bounds (absent when none is projected). */
  usedOfRadius?: number;
}

export const groupOf = (name: string): DistanceGroupName => (name.startsWith('head.') ? 'head' : 'backbone');

/** The norm a method's radii bound: Frobenius for frobenius-sp, MARS otherwise. */
export const radiusNorm = (method: Method | string): 'mars' | 'frobenius' => (method === 'frobenius-sp' ? 'frobenius' : 'mars');

export function distanceGroups(distances: readonly TensorDistance[], method: Method | string): DistanceGroup[] {
  const norm = radiusNorm(method);
  const out: DistanceGroup[] = [];
  for (const group of ['backbone', 'head'] as const) {
    const members = distances.filter((d) => groupOf(d.name) === group);
    if (members.length === 0) continue;
    const radii = members.flatMap((d) => (d.radius === undefined ? [] : [d.radius]));
    const ratios = members.flatMap((d) => (d.radius === undefined ? [] : [d.radius > 0 ? d[norm] / d.radius : d[norm] > 0 ? Infinity : 0]));
    out.push({
      group,
      layers: members.length,
      marsMax: Math.max(...members.map((d) => d.mars)),
      marsMean: members.reduce((a, d) => a + d.mars, 0) / members.length,
      frobeniusMax: Math.max(...members.map((d) => d.frobenius)),
      ...(radii.length ? { radius: { min: Math.min(...radii), max: Math.max(...radii) }, usedOfRadius: Math.max(...ratios) } : {}),
    });
  }
  return out;
}
