/** `--nproc N`: runs a subcommand as N local ranks of a data-parallel job (lib/distributed/launch.ts). */
import { availableParallelism } from 'node:os';
import { MarsError } from '../errors.js';
import { launchLocal } from '../distributed/launch.js';
import { DistributedSchema } from '../distributed/options.js';

/** `argv` without `--nproc N` / `--nproc=N`. */
function withoutNproc(argv: string[]): string[] {
  return argv.filter((a, i) => a !== '--nproc' && argv[i - 1] !== '--nproc' && !a.startsWith('--nproc='));
}

/**
 * Runs `mars-ft finetune` again as `nproc` ranks; each gets the cores'
 * share of threads unless --threads was given (as torchrun sets OMP_NUM_THREADS).
 */
export async function launchRanks(argv: string[], nproc: number, threadsGiven: boolean, timeout: number | undefined): Promise<void> {
  if (!Number.isInteger(nproc) || nproc < 1) throw new MarsError('ERR_INVALID_ARGUMENT', `--nproc must be a positive integer, got ${nproc}`);
  const threads = threadsGiven ? [] : ['--threads', String(Math.max(1, Math.floor(availableParallelism() / nproc)))];
  const grace = (timeout ?? DistributedSchema.shape.timeout.parse(undefined)) + 10;
  const code = await launchLocal({ nproc, args: [process.argv[1]!, 'finetune', ...withoutNproc(argv), ...threads], grace });
  if (code !== 0) throw new MarsError('ERR_DISTRIBUTED', `a rank of the ${nproc} failed (exit code ${code}); its error is above`);
}
