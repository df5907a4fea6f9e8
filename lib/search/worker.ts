/**
 * A search's child process: receives the shared trial context once, then
 * runs the trials it is sent, one at a time, reporting every epoch. It exits
 * when its parent goes away.
 */
import { codeOf } from '../errors.js';
import type { ToParent, ToWorker } from './runner.js';
import { fromPortable } from './transfer.js';
import { runTrial, type TrialContext } from './trial.js';

let context: TrialContext | undefined;
/** Why the context could not be built: the answer to every trial. */
let failed: ToParent | undefined;
const send = (m: ToParent) => process.send!(m);

process.on('message', (m: ToWorker) => {
  if (m.type === 'init') {
    try {
      const { train, validation, ...rest } = m.context;
      context = { ...rest, train: fromPortable(train, 'training data'), ...(validation ? { validation: fromPortable(validation, 'validation data') } : {}) };
    } catch (e) {
      failed = { type: 'error', code: codeOf(e) ?? 'ERR_DATA', message: (e as Error).message };
      send(failed);
    }
    return;
  }
  if (failed) return send(failed);
  runTrial(context!, m.task, (e) => send({ type: 'epoch', epoch: e })).then(
    (record) => send({ type: 'done', record }),
    (e: Error) => send({ type: 'error', code: codeOf(e) ?? 'ERR_TRAINING', message: e.message }),
  );
});
process.on('disconnect', () => process.exit(0));
