/** Which channel count a backbone wants, read from its parameter listing. */
import type { ParameterInfo } from '../native/surface.js';

/**
 * In-channels of the first 2-D convolution: shape[1] of the first 4-D conv
 * weight. For a grouped first conv the true count is shape[1] × groups, which
 * the listing cannot tell; stems are not grouped in practice. Null when the
 * network has no 2-D convolution (e.g. an MLP), so the caller keeps the data's own channels.
 */
export function inferInputChannels(params: readonly ParameterInfo[]): number | null {
  const first = params.find((p) => p.kind === 'conv' && !p.isBuffer && p.shape.length === 4);
  return first?.shape[1] ?? null;
}
