/**
 * The bounds of the experiment's final runs: the post hoc bound of every run
 * and the a priori bound of every MARS-SP run, on the run's training draw.
 * The bound measures distances from the run's starting weights: the backbone,
 * loaded once, or for a scratch run the backbone re-drawn with the run's
 * seed, as fineTune re-drew it. A network the bound cannot measure (a node
 * without a rule, say) stops the bounds, not the experiment: `refused` says why.
 */
import { computeBound } from '../bound/compute.js';
import type { Dataset } from '../data/dataset.js';
import { DataLoader } from '../data/loader.js';
import { hasCode } from '../errors.js';
import { load, type Module } from '../torch/module.js';
import { marsSpRadii } from '../train/radii.js';
import { reinitialize } from '../train/reinit.js';
import type { Row } from './config.js';
import { methodOf, type Setting } from './rows.js';
import type { ExperimentRun } from './summary.js';

type RunBoundFields = Pick<ExperimentRun, 'posthocBound' | 'marginLoss' | 'aprioriBound'>;

export class RunBounds {
  /** Why the bound cannot measure this network, once known; later runs then get no bounds. */
  refused: string | undefined;

  private constructor(
    private readonly pretrained: Module,
    private readonly options: { margin: number; delta: number; signal?: AbortSignal | undefined },
  ) {}

  static async open(backbone: string, options: RunBounds['options']): Promise<RunBounds> {
    return new RunBounds(await load(backbone), options);
  }

  /** The bounds of `model`, trained by `row` with `setting` on `train` from seed `seed`. */
  async of(model: Module, train: Dataset, row: Row, setting: Setting, seed: number): Promise<RunBoundFields> {
    if (this.refused) return {};
    const init = row === 'scratch' ? await this.pretrained.clone() : this.pretrained;
    try {
      if (row === 'scratch') reinitialize(init, seed);
      const measure = (mode: 'posthoc' | 'apriori') =>
        computeBound({
          model, init, data: new DataLoader(train, { batchSize: 256, shuffle: false, backbone: model.parameters() }).epoch(0), mode,
          ...(mode === 'apriori' ? { radii: marsSpRadii(setting.regulariser, model.parameters()) } : {}),
          spectral: false, margin: this.options.margin, delta: this.options.delta,
          ...(this.options.signal ? { signal: this.options.signal } : {}),
        });
      const posthoc = await measure('posthoc');
      const apriori = methodOf(row) === 'mars-sp' ? await measure('apriori') : undefined;
      return {
        posthocBound: posthoc.generalisation.total, marginLoss: posthoc.generalisation.marginLoss,
        ...(apriori ? { aprioriBound: apriori.generalisation.total } : {}),
      };
    } catch (e) {
      if (!hasCode(e, 'ERR_BOUND_UNSUPPORTED') && !hasCode(e, 'ERR_BOUND_INIT')) throw e;
      this.refused = (e as Error).message;
      return {};
    } finally {
      if (init !== this.pretrained) init.dispose();
    }
  }

  dispose(): void {
    this.pretrained.dispose();
  }
}
