/**
 * Runs trials, `jobs` at a time. One job runs in this process; more run in
 * child processes (worker.ts), one trial each at a time, because LibTorch
 * work of one process goes through one native compute thread and so cannot
 * use two cores for two trials. Trials start in id order as soon as a job is
 * free and the scheduler can prepare them (a trial waits for the trials its
 * suggestion depends on).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { MarsError, type ErrorCode } from '../errors.js';
import { toPortable, type PortableDataset } from './transfer.js';
import { runTrial, type TrialContext, type TrialEpoch, type TrialRecord, type TrialTask } from './trial.js';

/** The trial context as a child process receives it. */
export type WireContext = Omit<TrialContext, 'train' | 'validation'> & { train: PortableDataset; validation?: PortableDataset };
export type ToWorker = { type: 'init'; context: WireContext } | { type: 'run'; task: TrialTask };
export type ToParent =
  | { type: 'epoch'; epoch: TrialEpoch }
  | { type: 'done'; record: TrialRecord }
  | { type: 'error'; code: string; message: string };

interface Executor {
  run(task: TrialTask, onEpoch: (e: TrialEpoch) => void): Promise<TrialRecord>;
  close(): void;
}

/** What the pool asks of the search. */
export interface Scheduler {
  /** Ids still to run, ascending; the pool takes them from the front. */
  pending: number[];
  /** The task of trial `id`, or undefined while a trial it depends on is running. */
  prepare(id: number): TrialTask | undefined;
  started(task: TrialTask): void;
  epoch(e: TrialEpoch): void;
  finished(record: TrialRecord): Promise<void>;
}

/** A trial's end: its record, the executor now free, and the promise to forget. */
interface Finished {
  record: TrialRecord;
  executor: Executor;
  done: Promise<Finished>;
}

const WORKER = fileURLToPath(new URL('./worker.js', import.meta.url));

function inProcess(ctx: TrialContext, signal: AbortSignal): Executor {
  return { run: (task, onEpoch) => runTrial(ctx, task, onEpoch, signal), close: () => {} };
}

class ChildExecutor implements Executor {
  private readonly child: ChildProcess;
  private current?: { resolve: (r: TrialRecord) => void; reject: (e: Error) => void; onEpoch: (e: TrialEpoch) => void };
  /** Why this worker can run no more trials (it failed to start, or exited). */
  private broken?: MarsError;

  constructor(context: WireContext) {
    this.child = fork(WORKER, [], { serialization: 'advanced', execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.child.on('message', (m: ToParent) => {
      if (m.type === 'epoch') return this.current?.onEpoch(m.epoch);
      const c = this.current;
      this.current = undefined;
      if (m.type === 'done') c?.resolve(m.record);
      else this.fail(new MarsError(m.code as ErrorCode, m.message), c);
    });
    this.child.on('error', (e) => this.fail(new MarsError('ERR_TRAINING', `a search worker failed: ${e.message}`)));
    this.child.on('exit', (code, signal) => this.fail(new MarsError('ERR_TRAINING', `a search worker exited (${signal ?? `code ${code}`})`)));
    this.child.send({ type: 'init', context } satisfies ToWorker);
  }

  /** Rejects the trial in flight (or `c`); an error outside a trial breaks the worker for good. */
  private fail(e: MarsError, c = this.current): void {
    if (!c) this.broken ??= e;
    if (c === this.current) this.current = undefined;
    c?.reject(e);
  }

  run(task: TrialTask, onEpoch: (e: TrialEpoch) => void): Promise<TrialRecord> {
    if (this.broken) return Promise.reject(this.broken);
    return new Promise((resolve, reject) => {
      this.current = { resolve, reject, onEpoch };
      this.child.send({ type: 'run', task } satisfies ToWorker);
    });
  }

  close(): void {
    this.child.kill();
  }
}

function executors(ctx: TrialContext, jobs: number, signal: AbortSignal): Executor[] {
  if (jobs === 1) return [inProcess(ctx, signal)];
  if (!existsSync(WORKER)) {
    throw new MarsError('ERR_INVALID_ARGUMENT', `jobs > 1 runs trials in child processes from the compiled package, and ${WORKER} is missing; run npm run build:ts`);
  }
  if (typeof ctx.base.backbone !== 'string') throw new MarsError('ERR_INVALID_ARGUMENT', 'jobs > 1 needs the backbone as a file path');
  const { train, validation, ...rest } = ctx;
  const context: WireContext = { ...rest, train: toPortable(train), ...(validation ? { validation: toPortable(validation) } : {}) };
  return Array.from({ length: jobs }, () => new ChildExecutor(context));
}

/** Runs every pending trial; on an error or an abort of `signal`, stops the trials in flight and rejects. */
export async function runPool(ctx: TrialContext, jobs: number, s: Scheduler, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) throw aborted();
  const stop = new AbortController();
  const free = executors(ctx, jobs, stop.signal);
  const all = [...free];
  // Child processes are killed at once; a trial in this process stops at its next batch.
  const onAbort = () => {
    stop.abort();
    for (const executor of all) executor.close();
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  const running = new Set<Promise<Finished>>();
  try {
    for (;;) {
      while (free.length && s.pending.length && !stop.signal.aborted) {
        const task = s.prepare(s.pending[0]!);
        if (!task) break;
        s.pending.shift();
        s.started(task);
        const executor = free.pop()!;
        const done: Promise<Finished> = executor.run(task, (e) => s.epoch(e)).then((record) => ({ record, executor, done }));
        running.add(done);
      }
      if (stop.signal.aborted || !running.size) break;
      const { record, executor, done } = await Promise.race(running);
      running.delete(done);
      free.push(executor);
      await s.finished(record);
    }
  } catch (e) {
    stop.abort();
    throw signal?.aborted ? aborted() : e;
  } finally {
    signal?.removeEventListener('abort', onAbort);
    for (const executor of all) executor.close();
    // Wait for the trial in this process to stop, so no training outlives the call.
    await Promise.allSettled(running);
  }
  if (signal?.aborted) throw aborted();
}

const aborted = () => new MarsError('ERR_ABORTED', 'search aborted; the trials in flight are lost, the finished ones are in the journal');
