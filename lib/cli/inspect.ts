/** `mars-ft inspect FILE.pt [--json]`: the parameter and buffer table of a TorchScript file. */
import { load } from '../torch/module.js';
import { formatTable } from './table.js';
import { UsageError } from './usage.js';
import { parseFlags } from './args.js';

export const inspectHelp = `mars-ft inspect FILE.pt [--json]

Lists every parameter and buffer of a TorchScript file: name, shape, dtype,
layer kind (conv, linear, batchnorm, other), owning module and whether it is
trainable. --json prints the same as JSON.`;

export async function inspect(argv: string[]): Promise<void> {
  const { values, positionals } = parseFlags({ args: argv, options: { json: { type: 'boolean', default: false } }, allowPositionals: true });
  if (positionals.length !== 1) throw new UsageError('inspect takes exactly one FILE.pt', inspectHelp);
  const file = positionals[0] as string;
  const module = await load(file, { mode: 'as-saved' });
  const entries = [...module.parameters(), ...module.buffers()];
  const count = (list: typeof entries) => list.reduce((n, p) => n + p.shape.reduce((a, b) => a * b, 1), 0);
  const params = module.parameters();
  const summary = { file, training: module.training, parameters: params.length, elements: count(params), trainableElements: count(params.filter((p) => p.requiresGrad)), buffers: module.buffers().length };
  if (values.json) {
    process.stdout.write(JSON.stringify({ ...summary, tensors: entries }, null, 2) + '\n');
    return;
  }
  const rows = entries.map((p) => [p.name, `[${p.shape.join(', ')}]`, p.dtype, p.kind, p.moduleType, p.isBuffer ? 'buffer' : p.requiresGrad ? 'yes' : 'no']);
  process.stdout.write(formatTable(['name', 'shape', 'dtype', 'kind', 'module', 'trainable'], rows) + '\n\n');
  process.stdout.write(
    `${summary.parameters} parameters (${summary.elements.toLocaleString('en-US')} elements, ` +
      `${summary.trainableElements.toLocaleString('en-US')} trainable), ${summary.buffers} buffers; saved in ${summary.training ? 'train' : 'eval'} mode\n`,
  );
}
