/** `mars-ft finetune`'s flags turned into fineTune options, each checked by the schema of the option it sets. */
import type { TransformInput } from '../data/options.js';
import { FineTuneSchema, OptimizerSchema, ScheduleSchema, type FineTuneOptions } from '../train/options.js';
import { METHODS, RegulariserSchema, type RegulariserOptions } from '../train/regularisers.js';
import { checked, numberFlag, sizeFlag } from './flags.js';
import { UsageError } from './usage.js';

/** The regulariser of --method, --extractor and --classifier, checked by its schema (errors name the flag). */
export function regulariserFlags(method: string, extractor: number | undefined, classifier: number | undefined, help: string): RegulariserOptions {
  const options = regulariserOf(method, extractor, classifier, help);
  const r = RegulariserSchema.safeParse(options);
  if (r.success) return options;
  const issue = r.error.issues[0]!;
  const flag = issue.path[0] === 'classifier' ? 'classifier' : 'extractor';
  throw new UsageError(`--${flag} ${flag === 'classifier' ? classifier : extractor}: ${issue.message}`, help);
}

function regulariserOf(method: string, extractor: number | undefined, classifier: number | undefined, help: string): RegulariserOptions {
  const given = <K extends string>(key: K, v: number | undefined) => (v === undefined ? {} : ({ [key]: v } as Record<K, number>));
  switch (method) {
    case 'none':
      if (extractor !== undefined || classifier !== undefined) throw new UsageError('--extractor and --classifier do not apply to --method none', help);
      return { method };
    case 'mars-sp':
    case 'frobenius-sp':
    case 'mars-penalty':
    case 'l2-sp':
      return { method, ...given('extractor', extractor), ...given('classifier', classifier) };
    case 'delta':
      return { method, ...given('alpha', extractor), ...given('classifier', classifier) };
    case 'bss':
      return { method, ...given('eta', extractor) };
    default:
      throw new UsageError(`unknown --method '${method}'; expected one of ${METHODS.join(', ')}`, help);
  }
}

/**
 * --resize N: the shorter side to N, then the centre N×N (aspect kept, every
 * item N×N); --resize HxW: exactly H×W. --crop C after it: the centre C×C to
 * evaluate, a random C×C to train. --flip: random horizontal flips in training.
 */
export function transformFlags(v: { resize?: string; crop?: string; flip?: boolean }, help: string): NonNullable<FineTuneOptions['transforms']> {
  const resize = sizeFlag('resize', v.resize, help);
  const crop = sizeFlag('crop', v.crop, help);
  const base: TransformInput[] = resize === undefined ? [] : [{ op: 'resize', size: resize }];
  const square = typeof resize === 'number' && crop === undefined ? [{ op: 'centerCrop', size: resize } as const] : [];
  return {
    eval: [...base, ...square, ...(crop === undefined ? [] : [{ op: 'centerCrop', size: crop } as const])],
    train: [...base, ...square, ...(crop === undefined ? [] : [{ op: 'randomCrop', size: crop } as const]), ...(v.flip ? [{ op: 'horizontalFlip' } as const] : [])],
  };
}

export function scheduleFlag(name: string | undefined, warmup: string | undefined, help: string): FineTuneOptions['schedule'] {
  if (name === undefined && warmup === undefined) return undefined;
  const type = name ?? FineTuneSchema.shape.schedule.parse(undefined).type;
  if (!ScheduleSchema.options.some((o) => o.shape.type.value === type)) {
    throw new UsageError(`--schedule must be one of ${ScheduleSchema.options.map((o) => o.shape.type.value).join(', ')}, got '${type}'`, help);
  }
  const warmupEpochs = numberFlag('warmup', warmup, ScheduleSchema.options[0].shape.warmupEpochs, help);
  return checked('schedule', ScheduleSchema, { type, ...(warmupEpochs === undefined ? {} : { warmupEpochs }) }, type, help);
}

/** `balanced`, or one positive weight per class: `1,4,2`. */
export function classWeightsFlag(raw: string | undefined, help: string): FineTuneOptions['classWeights'] {
  if (raw === undefined) return undefined;
  const value = raw === 'balanced' ? raw : raw.split(',').map((s) => (s.trim() === '' ? NaN : Number(s)));
  return checked('class-weights', FineTuneSchema.shape.classWeights, value, raw, help);
}

export function optimizerFlags(v: { optimizer?: string; lr?: string; 'weight-decay'?: string }, help: string): FineTuneOptions['optimizer'] {
  const shape = OptimizerSchema.shape;
  const lr = numberFlag('lr', v.lr, shape.lr, help);
  const weightDecay = numberFlag('weight-decay', v['weight-decay'], shape.weightDecay, help);
  return {
    ...(v.optimizer === undefined ? {} : { name: checked('optimizer', shape.name, v.optimizer, v.optimizer, help) }),
    ...(lr === undefined ? {} : { lr }),
    ...(weightDecay === undefined ? {} : { weightDecay }),
  };
}
