// Faults of a two-rank loopback job run through the CLI (dist/, so
// `npm run build:ts` first), as a user meets them: a rank killed, a rank
// frozen, ranks started with different options; and, in this process, a
// rendezvous port in use, a master that does not answer and a peer that never
// comes. Every survivor must exit non-zero with ERR_DISTRIBUTED naming the
// rank to blame, within the timeout (5 s here, 3 s for joining), and leave no
// half-written checkpoint. A world size no job has is refused before anything
// starts.
import { mkdtempSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort } from '../../lib/distributed/launch.js';
import { ProcessGroup } from '../../lib/distributed/group.js';
import { resolveDistributed } from '../../lib/distributed/options.js';
import { fineTune, fromArrays, loadCheckpoint } from '../../lib/index.js';
import { native } from '../../lib/native/loader.js';
import { CLI, ROOT } from '../helpers/paths.js';
import { rankEnv, startRank, type Rank } from './helpers/ranks.js';

const TIMEOUT = 5;
// What a rank needs past the timeout to print its error and exit.
const SLACK_MS = 2500;
const FMNIST = '/usr/share/datasets/fashion-mnist';
const idx = (s: string) => `idx:${FMNIST}/${s}-images-idx3-ubyte.gz,${FMNIST}/${s}-labels-idx1-ubyte.gz`;

/** Two ranks of a job long enough to be interrupted (many small steps). */
async function job(extra: (rank: number) => string[] = () => []): Promise<{ ranks: Rank[]; out: string }> {
  const out = mkdtempSync(join(tmpdir(), 'mars-fault-'));
  const port = await freePort();
  const ranks = [0, 1].map((r) =>
    startRank(r, [CLI, 'finetune', '--backbone', join(ROOT, 'assets', 'backbone.pt'), '--train', idx('train'), '--test', idx('t10k'),
      '--classes', '5,6,7', '--per-class', '60', '--epochs', '30', '--batch-size', '4', '--threads', '1',
      '--dist-timeout', String(TIMEOUT), '--out', out, ...extra(r)], rankEnv(r, 2, port)),
  );
  return { ranks, out };
}

/** Every checkpoint left is whole (temporary files are hidden and never read). */
async function checkpointsWhole(out: string): Promise<void> {
  const dir = join(out, 'checkpoints');
  for (const f of readdirSync(dir).filter((f) => !f.startsWith('.'))) await expect(loadCheckpoint(join(dir, f))).resolves.toBeTruthy();
}

describe('a rank that dies or hangs', () => {
  it.each([
    { victim: 1, survivor: 0, how: 'SIGKILL', blame: /rank 1 stopped responding/ },
    { victim: 0, survivor: 1, how: 'SIGKILL', blame: /rank 0, which hosts the job's store .* is unreachable/ },
    { victim: 1, survivor: 0, how: 'SIGSTOP', blame: /rank 1 stopped responding/ },
  ] as const)('$how of rank $victim ends rank $survivor with ERR_DISTRIBUTED inside the timeout', async ({ victim, survivor, how, blame }) => {
    const { ranks, out } = await job();
    await ranks[0]!.waitFor(/epoch 2\//);
    const killed = Date.now();
    ranks[victim]!.child.kill(how);
    const end = await ranks[survivor]!.exit;
    const ms = Date.now() - killed;
    ranks[victim]!.child.kill('SIGKILL');
    expect(end.code, end.stderr).toBe(1);
    expect(end.stderr).toMatch(/\[ERR_DISTRIBUTED\]/);
    expect(end.stderr).toMatch(blame);
    expect(ms).toBeLessThan(TIMEOUT * 1000 + SLACK_MS);
    await checkpointsWhole(out);
  });
});

describe('a rank that fails with an error of its own', () => {
  it('is named with its reason', async () => {
    const port = String(await freePort());
    const script = join(ROOT, 'test', 'distributed', 'helpers', 'failing-rank.mjs');
    const [zero] = await Promise.all([0, 1].map((r) => startRank(r, [script, ROOT, port, String(r)]).exit));
    expect(zero!.stderr).toMatch(/\[ERR_DISTRIBUTED\] .*failed on rank 0: rank 1 stopped: ERR_DATA_FILE: cannot load x\.png: corrupt/);
  });
});

describe('ranks that cannot form a job', () => {
  it('different options on two ranks stop both, naming the option', async () => {
    const { ranks } = await job((r) => ['--lr', r === 0 ? '0.001' : '0.002']);
    for (const end of await Promise.all(ranks.map((r) => r.exit))) {
      expect(end.code, end.stderr).toBe(1);
      expect(end.stderr).toMatch(/\[ERR_DISTRIBUTED\].*rank 1 was started with other options than rank 0: optimizer\.lr \(0\.001 on rank 0, 0\.002 on rank 1\)/);
    }
  });

  it('a rendezvous port in use', async () => {
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, r));
    const port = (server.address() as { port: number }).port;
    try {
      const settings = resolveDistributed({ worldSize: 2, rank: 0, masterPort: port, host: '127.0.0.1', joinTimeout: 2 })!;
      await expect(ProcessGroup.join(settings, 'cpu')).rejects.toMatchObject({ code: 'ERR_DISTRIBUTED', message: expect.stringMatching(new RegExp(`port ${port}: the port is in use`)) });
    } finally {
      server.close();
    }
  });

  it('a world size past any real job is refused at once, from an option or from WORLD_SIZE', async () => {
    const train = fromArrays({ pixels: new Uint8Array(4 * 28 * 28), width: 28, height: 28, channels: 1, labels: [0, 1, 0, 1] });
    const started = Date.now();
    await expect(fineTune({ backbone: join(ROOT, 'assets', 'backbone.pt'), train, distributed: { worldSize: 1e9, rank: 0 } })).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT',
      message: expect.stringMatching(/distributed\.worldSize: at most 65536 ranks/),
    });
    expect(Date.now() - started).toBeLessThan(1000);
    expect(() => resolveDistributed(undefined, { WORLD_SIZE: '1000000000', RANK: '0' })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT', message: expect.stringMatching(/WORLD_SIZE must be at most 65536, got 1000000000/) }),
    );
    const spec = { masterAddr: '127.0.0.1', masterPort: 1, rank: 0, worldSize: 1e9, backend: 'gloo', device: 'cpu', interface: null, host: null, timeout: 3, joinTimeout: 3 } as const;
    expect(() => native().createProcessGroup(spec)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT', message: expect.stringMatching(/options\.worldSize must be a whole number in \[1, 65536\]/) }),
    );
  });

  it('a peer that never comes: rank 0 gives up at the join timeout', async () => {
    const settings = resolveDistributed({ worldSize: 2, rank: 0, masterPort: await freePort(), host: '127.0.0.1', timeout: 3, joinTimeout: 3 })!;
    const started = Date.now();
    await expect(ProcessGroup.join(settings, 'cpu')).rejects.toMatchObject({
      code: 'ERR_DISTRIBUTED',
      message: expect.stringMatching(/not every one of the 2 ranks joined at 127\.0\.0\.1:\d+ within 3 s \(1 did\)/),
    });
    const ms = Date.now() - started;
    expect(ms).toBeGreaterThanOrEqual(2900);
    expect(ms).toBeLessThan(3000 + SLACK_MS);
  });

  it('a master that never answers', async () => {
    const settings = resolveDistributed({ worldSize: 2, rank: 1, masterPort: await freePort(), host: '127.0.0.1', joinTimeout: 2 })!;
    const started = Date.now();
    await expect(ProcessGroup.join(settings, 'cpu')).rejects.toMatchObject({ code: 'ERR_DISTRIBUTED', message: expect.stringMatching(/rank 1 cannot reach the master at 127\.0\.0\.1:\d+ within 2 s/) });
    // At the join timeout: LibTorch 2.11's own client retried past it, for 5.3-5.7 s.
    expect(Date.now() - started).toBeGreaterThanOrEqual(1900);
    expect(Date.now() - started).toBeLessThan(3000);
  });
});
