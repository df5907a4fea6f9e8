/**
 * Starts N local ranks of one command, as `torchrun --nproc-per-node N`
 * would: each child gets MASTER_ADDR, MASTER_PORT (a free port unless given),
 * WORLD_SIZE, RANK, LOCAL_RANK and LOCAL_WORLD_SIZE. Rank 0 keeps the
 * terminal's stdout; every rank's stderr is passed through. When a rank fails,
 * the others get `grace` seconds to notice it themselves (they stop with
 * ERR_DISTRIBUTED within their timeout), then are terminated.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

export interface LaunchOptions {
  nproc: number;
  /** Node script and its arguments, run as `node ...args` in every rank. */
  args: string[];
  masterPort?: number;
  /** Seconds the other ranks get after one failed. */
  grace: number;
  env?: Record<string, string | undefined>;
  /** Where the launcher reports a failed rank (default: stderr). */
  log?: (line: string) => void;
}

/** A port free on 127.0.0.1 now (the usual race of every launcher applies). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Runs the ranks to completion; resolves to the exit code of the first rank that failed, else 0. */
export async function launchLocal(o: LaunchOptions): Promise<number> {
  const log = o.log ?? ((line: string) => process.stderr.write(line + '\n'));
  const port = o.masterPort ?? (await freePort());
  const children: ChildProcess[] = [];
  let failure: { rank: number; code: number } | undefined;
  let killer: NodeJS.Timeout | undefined;
  // Ctrl-C reaches every rank from the terminal: the ranks stop together, the launcher waits for them.
  const onSigint = () => {};
  const onSigterm = () => children.forEach((c) => c.kill('SIGTERM'));
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigterm);
  const exits = Array.from({ length: o.nproc }, (_, rank) => {
    const child = spawn(process.execPath, o.args, {
      env: {
        ...process.env,
        ...o.env,
        MASTER_ADDR: '127.0.0.1',
        MASTER_PORT: String(port),
        WORLD_SIZE: String(o.nproc),
        RANK: String(rank),
        LOCAL_RANK: String(rank),
        LOCAL_WORLD_SIZE: String(o.nproc),
      },
      stdio: ['ignore', rank === 0 ? 'inherit' : 'ignore', 'inherit'],
    });
    children.push(child);
    return new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => {
        const status = code ?? 128 + (signal === 'SIGKILL' ? 9 : signal === 'SIGTERM' ? 15 : 1);
        if (status !== 0 && !failure) {
          failure = { rank, code: status };
          log(`mars-ft: rank ${rank} exited with ${signal ?? `code ${code}`}; the other ranks get ${o.grace} s to stop`);
          killer = setTimeout(() => children.forEach((c) => c.exitCode === null && c.signalCode === null && c.kill('SIGKILL')), o.grace * 1000);
        }
        resolve();
      });
    });
  });
  try {
    await Promise.all(exits);
  } finally {
    clearTimeout(killer);
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigterm);
  }
  return failure?.code ?? 0;
}
