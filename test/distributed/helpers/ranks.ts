/** Starts the ranks of a loopback job as child processes and collects how each ended. */
import { spawn, type ChildProcess } from 'node:child_process';

export interface RankExit {
  rank: number;
  code: number | null;
  signal: string | null;
  stderr: string;
  stdout: string;
  /** Milliseconds from start to exit. */
  ms: number;
}

export interface Rank {
  child: ChildProcess;
  exit: Promise<RankExit>;
  /** Resolves when stderr first matches `pattern`. */
  waitFor(pattern: RegExp): Promise<void>;
}

export function startRank(rank: number, args: string[], env: Record<string, string> = {}): Rank {
  const started = Date.now();
  const child = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const waiters: { pattern: RegExp; resolve: () => void }[] = [];
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
    for (const w of waiters.filter((w) => w.pattern.test(stderr))) w.resolve();
  });
  const exit = new Promise<RankExit>((resolve) =>
    child.once('exit', (code, signal) => resolve({ rank, code, signal, stderr, stdout, ms: Date.now() - started })),
  );
  return {
    child,
    exit,
    waitFor: (pattern) => new Promise<void>((resolve) => (pattern.test(stderr) ? resolve() : waiters.push({ pattern, resolve }))),
  };
}

/** The environment PyTorch's launchers give rank `rank` of `worldSize` on this host. */
export function rankEnv(rank: number, worldSize: number, port: number): Record<string, string> {
  return { MASTER_ADDR: '127.0.0.1', MASTER_PORT: String(port), WORLD_SIZE: String(worldSize), RANK: String(rank), LOCAL_RANK: String(rank) };
}
