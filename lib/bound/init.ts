/**
 * The initial network W0 on the fine-tuned network's layout. `init` is either
 * the full network with the same tensor names, or the backbone alone: then the
 * fine-tuned names carry one more leading component (`backbone.conv1.weight`
 * for `conv1.weight`), found as the prefix that matches the most names, and
 * parameters the backbone lacks (the new head) start at zero — MARS-SP centres
 * a new head at zero.
 */
import { MarsError } from '../errors.js';
import { Module, load } from '../torch/module.js';
import { native } from '../native/loader.js';
import type { ParameterInfo } from '../native/surface.js';

export interface InitMatch {
  /** [fine-tuned name, initial name or null for zero], one per parameter and buffer. */
  pairs: [string, string | null][];
  /** What the fine-tuned names carry in front of the initial ones ('' for the same names). */
  prefix: string;
  /** Parameters that start at zero. */
  zeroed: string[];
}

/** A loaded module as is, or the TorchScript file at a path loaded (in eval mode). */
export async function resolveModule(model: Module | string): Promise<Module> {
  return typeof model === 'string' ? load(model) : model;
}

const tensorsOf = (m: Module): ParameterInfo[] => [...m.parameters(), ...m.buffers()];

export function matchInit(model: ParameterInfo[], init: ParameterInfo[]): InitMatch {
  const byName = new Map(init.map((t) => [t.name, t]));
  const prefixes = ['', ...new Set(model.map((t) => t.name.split('.')[0] + '.'))];
  const score = (p: string) => model.filter((t) => t.name.startsWith(p) && byName.has(t.name.slice(p.length))).length;
  const prefix = prefixes.reduce((best, p) => (score(p) > score(best) ? p : best), '');
  const pairs: [string, string | null][] = [];
  const zeroed: string[] = [];
  for (const t of model) {
    const source = t.name.startsWith(prefix) ? byName.get(t.name.slice(prefix.length)) : undefined;
    if (source && source.shape.join() !== t.shape.join()) {
      throw new MarsError(
        'ERR_BOUND_INIT',
        `'${t.name}' has shape [${t.shape.join(', ')}] but the initial network's '${source.name}' has [${source.shape.join(', ')}]; ` +
          'if that is the old head, pass the backbone alone as the initial network (a new head then starts at zero)',
      );
    }
    if (!source && t.isBuffer) {
      throw new MarsError('ERR_BOUND_INIT', `the initial network has no buffer for '${t.name}' (running statistics cannot start at zero); is it the right network?`);
    }
    if (!source) zeroed.push(t.name);
    pairs.push([t.name, source?.name ?? null]);
  }
  if (zeroed.length === model.filter((t) => !t.isBuffer).length && zeroed.length > 0) {
    throw new MarsError('ERR_BOUND_INIT', 'no parameter of the model matches the initial network by name; is it the right network?');
  }
  return { pairs, prefix, zeroed };
}

/** A copy of `model` holding the initial weights (see the file comment). */
export async function initialNetwork(model: Module, init: Module): Promise<{ network: Module } & InitMatch> {
  const match = matchInit(tensorsOf(model), tensorsOf(init));
  const network = new Module(await native().initialNetwork(model.handle, init.handle, match.pairs));
  return { network: network.eval(), ...match };
}
