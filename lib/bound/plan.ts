/**
 * The bound's graph walk, first half: reads a module's inlined forward graph
 * and turns it into a plan — the layers (BatchNorm folded into the layer before
 * it) and the steps of docs/bound.md's recursion — or refuses with
 * ERR_BOUND_UNSUPPORTED, naming the first node that touches the data and has
 * no rule. Nodes that only handle constants, parameters or shapes are not data
 * and are skipped.
 */
import { MarsError } from '../errors.js';
import type { GraphNode, ModuleGraph } from '../native/surface.js';
import { RULES, SHAPE_READERS, unsupported } from './rules.js';

export interface BatchNormRef {
  /** Module path, e.g. `layer1.0.bn1`. */
  name: string;
  weight?: string;
  bias?: string;
  runningMean: string;
  runningVar: string;
  eps: number;
}

export interface ConvArgs {
  /** One sample, e.g. `[1, 16, 28, 28]`. */
  inputShape: number[];
  stride: number[];
  padding: number[] | 'same' | 'valid';
  dilation: number[];
  groups: number;
}

/** A layer of the recursion: rows are output units. */
export interface LayerSpec {
  /** The module path of the weight (`layer1.0.conv1`), or of the BatchNorm for a lone one. */
  name: string;
  kind: 'conv' | 'linear' | 'batchnorm';
  /** Weight parameter; absent for a lone BatchNorm, whose weight is the identity. */
  weight?: string;
  bias?: string;
  /** True when the operator's rows are the weight's columns (`x @ W`). */
  transpose: boolean;
  /** The BatchNorm folded into this layer (for a lone BatchNorm: itself). */
  batchnorm?: BatchNormRef;
  conv?: ConvArgs;
  /** Output positions that share each row (conv: output pixels; linear on (B, F): 1). */
  outputPositions: number;
  /** True for the layer(s) whose output reaches the network's output through no other layer. */
  head: boolean;
}

/**
 * One rule application. `scale`: A(out) = factor A(in), Q(out) = Q(in) (1-Lipschitz
 * activations: factor 2; averaging and coordinate moves: factor 1). `sum`: residual
 * addition. `concat`: concatenation. `alias`: an in-place op's mutated input, which
 * holds the output afterwards.
 */
export type StepBody =
  | { op: 'layer'; layer: number; input: number }
  | { op: 'scale'; factor: 1 | 2; input: number }
  | { op: 'sum'; inputs: number[] }
  | { op: 'concat'; inputs: number[] };
export type Step = StepBody & { output: number; alias?: number };

export interface BoundPlan {
  input: number;
  output: number;
  steps: Step[];
  layers: LayerSpec[];
}

/** Walks the graph once, in program order; the rules (rules.ts) call back into it. */
export class PlanBuilder {
  readonly steps: Step[] = [];
  readonly layers: LayerSpec[] = [];
  private readonly data = new Set<number>();
  private readonly lists = new Map<number, number[]>();
  /** Values made by `W.t()` and the like: the parameter they transpose. */
  private readonly transposed = new Map<number, string>();
  private readonly uses = new Map<number, number>();
  /** Which step produced a value. */
  private readonly producer = new Map<number, Step>();

  constructor(private readonly graph: ModuleGraph) {
    this.data.add(graph.input);
    // Reading a shape is not a use: it does not stop a BatchNorm from folding into the layer before it.
    for (const node of graph.nodes.filter((n) => !SHAPE_READERS.has(n.kind))) for (const i of node.inputs) this.uses.set(i, (this.uses.get(i) ?? 0) + 1);
    for (const o of graph.outputs) this.uses.set(o, (this.uses.get(o) ?? 0) + 1);
  }

  build(): BoundPlan {
    for (const node of this.graph.nodes) this.visit(node);
    const [output, ...rest] = this.graph.outputs;
    if (output === undefined || rest.length > 0 || !this.data.has(output) || this.graph.values[output]?.type !== 'Tensor') {
      throw new MarsError('ERR_BOUND_UNSUPPORTED', 'bound not available: forward must return one tensor of logits computed from its input');
    }
    markHeads(this.steps, this.layers, output);
    return { input: this.graph.input, output, steps: this.steps, layers: this.layers };
  }

  private visit(node: GraphNode): void {
    const touchesData = node.inputs.some((i) => this.data.has(i) || this.lists.has(i));
    if (!touchesData) {
      this.noteTransposedParameter(node);
      return;
    }
    if (node.hasBlocks) throw unsupported(node, 'control flow that depends on the data');
    if (SHAPE_READERS.has(node.kind) && node.outputs.every((o) => !this.value(o).type.includes('Tensor'))) return;
    const rule = RULES[node.kind.replace(/_$/, '')];
    if (!rule) throw unsupported(node);
    rule(this, node);
  }

  // --- what the rules use ---

  value(i: number | undefined) {
    const v = i === undefined ? undefined : this.graph.values[i];
    if (!v) throw new MarsError('ERR_BOUND_UNSUPPORTED', 'bound not available: the forward graph refers to a value it does not define');
    return v;
  }

  isData(i: number | undefined): boolean {
    return i !== undefined && this.data.has(i);
  }

  /** The constant at input `k`, or a refusal naming the node. */
  constant(node: GraphNode, k: number): unknown {
    const v = this.value(node.inputs[k]);
    if (!v.isConstant) throw unsupported(node, `argument ${k} is not a constant`);
    return v.constant;
  }

  ints(node: GraphNode, k: number): number[] {
    const c = this.constant(node, k);
    const list = typeof c === 'number' ? [c] : c;
    if (!Array.isArray(list) || !list.every((x) => Number.isInteger(x))) throw unsupported(node, `argument ${k} is not a list of integers`);
    return list as number[];
  }

  shape(node: GraphNode, i: number | undefined): number[] {
    const s = this.value(i).shape;
    if (!s) throw unsupported(node, 'a tensor shape is unknown');
    return s;
  }

  /** The parameter name at input `k`; `optional` allows None (an absent bias). */
  param(node: GraphNode, k: number, optional: true): string | undefined;
  param(node: GraphNode, k: number): string;
  param(node: GraphNode, k: number, optional = false): string | undefined {
    const v = this.value(node.inputs[k]);
    if (optional && v.isConstant && v.constant === null) return undefined;
    if (!v.param) throw unsupported(node, `argument ${k} is not a parameter of the module (computed weights have no rule)`);
    return v.param;
  }

  transposedParam(i: number | undefined): string | undefined {
    return i === undefined ? undefined : this.transposed.get(i);
  }

  /** The data input at position `k`; a refusal when it is not data. */
  dataInput(node: GraphNode, k = 0): number {
    const i = node.inputs[k];
    if (!this.isData(i)) throw unsupported(node, `argument ${k} is not computed from the input (fixed offsets have no rule)`);
    return i as number;
  }

  listMembers(i: number | undefined): number[] | undefined {
    return i === undefined ? undefined : this.lists.get(i);
  }

  addList(node: GraphNode): void {
    if (!node.inputs.every((i) => this.isData(i))) throw unsupported(node, 'a list mixes data with fixed tensors');
    this.lists.set(node.outputs[0] as number, node.inputs);
  }

  private usesOf(i: number): number {
    return this.uses.get(i) ?? 0;
  }

  addStep(node: GraphNode, body: StepBody): void {
    const output = node.outputs[0];
    if (output === undefined || node.outputs.length !== 1) throw unsupported(node, 'a node with several outputs');
    const full: Step = { ...body, output };
    if (node.kind.endsWith('_')) full.alias = node.inputs[0];
    this.steps.push(full);
    this.producer.set(output, full);
    this.data.add(output);
    if (full.alias !== undefined) this.producer.set(full.alias, full);
  }

  addLayer(node: GraphNode, spec: Omit<LayerSpec, 'head'>, input: number): void {
    this.layers.push({ ...spec, head: false });
    this.addStep(node, { op: 'layer', layer: this.layers.length - 1, input });
  }

  /**
   * The layer step that made `input`, when `node` may be folded into it: the
   * step's output is `input` itself, nothing else reads it, and nothing was
   * folded into it yet.
   */
  foldableLayer(input: number): (Step & { op: 'layer' }) | undefined {
    const step = this.producer.get(input);
    if (step?.op !== 'layer' || step.output !== input || step.alias !== undefined || this.usesOf(input) !== 1) return undefined;
    return this.layers[step.layer]?.batchnorm ? undefined : step;
  }

  /** Makes `node`'s output the output of `step`, whose layer now includes it. */
  extendLayer(step: Step & { op: 'layer' }, node: GraphNode): void {
    const output = node.outputs[0] as number;
    step.output = output;
    this.producer.set(output, step);
    this.data.add(output);
  }

  private noteTransposedParameter(node: GraphNode): void {
    const p = this.value(node.inputs[0]).param;
    if (!p || node.outputs.length !== 1) return;
    const swapsTwoAxes =
      node.kind === 'aten::t' ||
      node.kind === 'aten::numpy_T' ||
      (node.kind === 'aten::transpose' && isPair(this.graph, node, [0, 1])) ||
      (node.kind === 'aten::permute' && JSON.stringify(this.value(node.inputs[1]).constant) === '[1,0]');
    if (swapsTwoAxes) this.transposed.set(node.outputs[0] as number, p);
  }
}

/** aten::transpose(p, a, b) of a matrix with {a, b} = {0, 1} (or -2, -1). */
function isPair(graph: ModuleGraph, node: GraphNode, pair: [number, number]): boolean {
  const axes = [node.inputs[1], node.inputs[2]].map((i) => graph.values[i as number]?.constant);
  const norm = axes.map((a) => (typeof a === 'number' ? (a + 2) % 2 : NaN)).sort();
  return norm[0] === pair[0] && norm[1] === pair[1];
}

/** Marks as head every layer whose output reaches `output` through no other layer. */
function markHeads(steps: Step[], layers: LayerSpec[], output: number): void {
  const tail = new Set([output]);
  for (let s = steps.length - 1; s >= 0; s--) {
    const step = steps[s] as Step;
    if (!tail.has(step.output) && (step.alias === undefined || !tail.has(step.alias))) continue;
    if (step.op === 'layer') (layers[step.layer] as LayerSpec).head = true;
    else for (const i of step.op === 'scale' ? [step.input] : step.inputs) tail.add(i);
  }
}

/** Reads the forward graph into the bound's plan (throws ERR_BOUND_UNSUPPORTED). */
export function buildPlan(graph: ModuleGraph): BoundPlan {
  return new PlanBuilder(graph).build();
}
