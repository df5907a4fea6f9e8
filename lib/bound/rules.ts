/**
 * The rules of docs/bound.md's recursion, one per node kind of the inlined
 * forward graph: each checks that its premises hold (1-Lipschitz with σ(0) = 0,
 * weights summing to at most 1, the batch axis untouched, eval mode, ...) and
 * adds its step or layer to the plan, or refuses with ERR_BOUND_UNSUPPORTED.
 */
import { MarsError } from '../errors.js';
import type { GraphNode } from '../native/surface.js';
import type { BatchNormRef, LayerSpec, PlanBuilder } from './plan.js';

/** Nodes that read only a tensor's shape, never its values. */
export const SHAPE_READERS = new Set(['aten::size', 'aten::dim', 'aten::numel', 'aten::len']);

const RULES_SUMMARY =
  'the recursion (docs/bound.md) covers convolution, linear, BatchNorm (folded into the layer before it), ReLU, LeakyReLU (|slope| <= 1), ' +
  'tanh, hardtanh, dropout in eval mode, residual addition, average pooling, mean over non-batch axes, flatten/view/reshape and concat; ' +
  'a new rule needs its proof in the docs first';

function describeNode(node: GraphNode): string {
  const where = [node.scope && `module ${node.scope}`, node.source].filter(Boolean).join(', ');
  return where ? `${node.kind} (${where})` : node.kind;
}

export function unsupported(node: GraphNode, why = 'no rule for this node'): MarsError {
  return new MarsError('ERR_BOUND_UNSUPPORTED', `bound not available at ${describeNode(node)}: ${why}; ${RULES_SUMMARY}`);
}

type Rule = (b: PlanBuilder, node: GraphNode) => void;

/** Axis `a` of a rank-`rank` tensor, counted from the front. */
const axis = (a: number, rank: number) => (a < 0 ? a + rank : a);

/** Coordinates only move (or are averaged); every sample must keep its own row of the batch. */
const coordinateMove: Rule = (b, node) => {
  const input = b.dataInput(node);
  if (b.shape(node, input)[0] !== b.shape(node, node.outputs[0])[0]) throw unsupported(node, 'it mixes samples of the batch');
  b.addStep(node, { op: 'scale', factor: 1, input });
};

const activation: Rule = (b, node) => b.addStep(node, { op: 'scale', factor: 2, input: b.dataInput(node) });

const identityInEval: Rule = (b, node) => {
  if (b.constant(node, 2) !== false) throw unsupported(node, 'dropout in training mode');
  b.addStep(node, { op: 'scale', factor: 1, input: b.dataInput(node) });
};

/** The module a weight belongs to: `layer1.0.conv1` for `layer1.0.conv1.weight`. */
const moduleOf = (weight: string) => weight.replace(/\.weight$/, '');

function convRule(groupsAt: number, transposedAt?: number): Rule {
  return (b, node) => {
    const input = b.dataInput(node);
    if (transposedAt !== undefined && b.constant(node, transposedAt) !== false) throw unsupported(node, 'transposed convolution');
    const padding = b.constant(node, 4);
    const inShape = b.shape(node, input);
    const outShape = b.shape(node, node.outputs[0]);
    const weight = b.param(node, 1);
    b.addLayer(
      node,
      {
        name: moduleOf(weight),
        kind: 'conv',
        weight,
        bias: b.param(node, 2, true),
        transpose: false,
        conv: {
          inputShape: [1, ...inShape.slice(1)],
          stride: b.ints(node, 3),
          padding: padding === 'same' || padding === 'valid' ? padding : b.ints(node, 4),
          dilation: b.ints(node, 5),
          groups: b.ints(node, groupsAt)[0] as number,
        },
        outputPositions: outShape.slice(2).reduce((p, s) => p * s, 1),
      },
      input,
    );
  };
}

function linearPositions(b: PlanBuilder, node: GraphNode): number {
  return b.shape(node, node.outputs[0]).slice(1, -1).reduce((p, s) => p * s, 1);
}

/** A linear map of a rank-1 value would sum over the batch axis. */
function requireFeatureAxis(b: PlanBuilder, node: GraphNode, input: number): void {
  if (b.shape(node, input).length < 2) throw unsupported(node, 'a product over the batch axis');
}

const linearRule: Rule = (b, node) => {
  const input = b.dataInput(node);
  requireFeatureAxis(b, node, input);
  const weight = b.param(node, 1);
  const spec = { name: moduleOf(weight), kind: 'linear' as const, weight, bias: b.param(node, 2, true), transpose: false };
  b.addLayer(node, { ...spec, outputPositions: linearPositions(b, node) }, input);
};

/** x @ W.t() is a linear layer with rows of W; x @ W one with rows of W's columns. */
const matmulRule: Rule = (b, node) => {
  const input = b.dataInput(node);
  const other = node.inputs[1];
  const ofTransposed = b.transposedParam(other);
  const weight = ofTransposed ?? b.param(node, 1);
  requireFeatureAxis(b, node, input);
  const spec = { name: moduleOf(weight), kind: 'linear' as const, weight, transpose: ofTransposed === undefined };
  b.addLayer(node, { ...spec, outputPositions: linearPositions(b, node) }, input);
};

const batchNormRule: Rule = (b, node) => {
  const input = b.dataInput(node);
  if (b.constant(node, 5) !== false) throw unsupported(node, 'BatchNorm in training mode');
  const runningMean = b.param(node, 3, true);
  const runningVar = b.param(node, 4, true);
  if (!runningMean || !runningVar) throw unsupported(node, 'BatchNorm without running statistics normalises by the batch');
  const eps = b.constant(node, 7);
  if (typeof eps !== 'number') throw unsupported(node, 'eps is not a number');
  const weight = b.param(node, 1, true);
  const bn: BatchNormRef = { name: runningMean.replace(/\.running_mean$/, ''), weight, bias: b.param(node, 2, true), runningMean, runningVar, eps };
  // Folding scales the layer's rows: only where the BatchNorm's channel axis (1) is the layer's
  // output-unit axis (a convolution's; a linear layer's only on (batch, features) values).
  const before = b.foldableLayer(input);
  const unitAxis = before && ((b.layers[before.layer] as LayerSpec).kind === 'conv' || b.shape(node, input).length === 2);
  if (before && unitAxis) {
    (b.layers[before.layer] as LayerSpec).batchnorm = bn;
    b.extendLayer(before, node);
    return;
  }
  // A lone BatchNorm is a diagonal linear layer (the identity with the BatchNorm folded in).
  const positions = b.shape(node, node.outputs[0]).slice(2).reduce((p, s) => p * s, 1);
  b.addLayer(node, { name: bn.name, kind: 'batchnorm', transpose: false, batchnorm: bn, outputPositions: positions }, input);
};

export const RULES: Record<string, Rule> = {
  'aten::conv1d': convRule(6),
  'aten::conv2d': convRule(6),
  'aten::conv3d': convRule(6),
  'aten::_convolution': convRule(8, 6),
  'aten::convolution': convRule(8, 6),
  'aten::linear': linearRule,
  'aten::matmul': matmulRule,
  'aten::mm': matmulRule,
  'aten::batch_norm': batchNormRule,

  // 1-Lipschitz with σ(0) = 0.
  'aten::relu': activation,
  'aten::tanh': activation,
  'aten::leaky_relu': (b, node) => {
    const slope = b.constant(node, 1);
    if (typeof slope !== 'number' || Math.abs(slope) > 1) throw unsupported(node, 'a slope above 1 in absolute value is not 1-Lipschitz');
    activation(b, node);
  },
  'aten::hardtanh': (b, node) => {
    const [lo, hi] = [b.constant(node, 1), b.constant(node, 2)];
    if (typeof lo !== 'number' || typeof hi !== 'number' || lo > 0 || hi < 0) throw unsupported(node, 'hardtanh must keep 0 in its range');
    activation(b, node);
  },

  // Identity in eval mode, or coordinates only move.
  'aten::dropout': identityInEval,
  'aten::feature_dropout': identityInEval,
  'aten::alpha_dropout': identityInEval,
  'aten::feature_alpha_dropout': identityInEval,
  'aten::contiguous': coordinateMove,
  'aten::clone': coordinateMove,
  'aten::detach': coordinateMove,
  'aten::view': coordinateMove,
  'aten::reshape': coordinateMove,
  'aten::squeeze': coordinateMove,
  'aten::unsqueeze': coordinateMove,
  'aten::flatten': (b, node) => {
    const rank = b.shape(node, node.inputs[0]).length;
    if (axis(b.ints(node, 1)[0] as number, rank) < 1) throw unsupported(node, 'flattening the batch axis mixes samples');
    coordinateMove(b, node);
  },
  'aten::cat': (b, node) => {
    const members = b.listMembers(node.inputs[0]);
    if (!members) throw unsupported(node, 'its tensors are not all computed from the input');
    const rank = b.shape(node, node.outputs[0]).length;
    if (axis(b.ints(node, 1)[0] as number, rank) === 0) throw unsupported(node, 'concatenating along the batch axis');
    b.addStep(node, { op: 'concat', inputs: members });
  },
  'prim::ListConstruct': (b, node) => b.addList(node),

  // Fixed averages: non-negative weights that sum to at most 1 per output.
  'aten::adaptive_avg_pool1d': coordinateMove,
  'aten::adaptive_avg_pool2d': coordinateMove,
  'aten::adaptive_avg_pool3d': coordinateMove,
  'aten::avg_pool1d': coordinateMove,
  'aten::avg_pool2d': averagePool,
  'aten::avg_pool3d': averagePool,
  'aten::mean': (b, node) => {
    const rank = b.shape(node, node.inputs[0]).length;
    const dims = node.inputs.length >= 3 ? b.ints(node, 1) : [];
    if (dims.length === 0 || dims.some((d) => axis(d, rank) === 0)) throw unsupported(node, 'a mean over the batch axis mixes samples');
    b.addStep(node, { op: 'scale', factor: 1, input: b.dataInput(node) });
  },

  'aten::add': (b, node) => {
    const [u, v] = [b.dataInput(node, 0), b.dataInput(node, 1)];
    if (b.constant(node, 2) !== 1) throw unsupported(node, 'addition with a scale other than 1');
    b.addStep(node, { op: 'sum', inputs: [u, v] });
  },
};

/** avg_pool2d/3d with a divisor_override could weigh above 1. */
function averagePool(b: PlanBuilder, node: GraphNode): void {
  if (b.constant(node, 6) !== null) throw unsupported(node, 'a divisor_override can make the weights sum above 1');
  coordinateMove(b, node);
}

