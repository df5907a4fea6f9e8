/**
 * The options of a data-parallel run and how they are completed from the
 * environment variables PyTorch's launchers set (torchrun, Slurm wrappers,
 * Kubernetes operators): MASTER_ADDR, MASTER_PORT, WORLD_SIZE, RANK,
 * LOCAL_RANK, and Gloo's GLOO_SOCKET_IFNAME. An option given wins over its
 * variable.
 */
import { z } from 'zod';
import { MarsError } from '../errors.js';
import { parseOptions } from '../util/parse-options.js';

/**
 * The most ranks a job may have (native/distributed/group.h's kMaxWorldSize):
 * past the largest real jobs; a world size of 1e9 used to pass and leave the
 * rendezvous looping over ranks for hours.
 */
export const MAX_WORLD_SIZE = 65536;
/** The longest timeout, in seconds (kMaxTimeoutSeconds there): a week. */
export const MAX_TIMEOUT_SECONDS = 604800;

export const DistributedSchema = z.strictObject({
  /** Rank 0's host, where the rendezvous store listens (MASTER_ADDR; default 127.0.0.1). */
  masterAddr: z.string().min(1).optional(),
  /** The store's TCP port on rank 0 (MASTER_PORT; default 29500). */
  masterPort: z.number().int().min(1).max(65535).optional(),
  /** Processes in the job (WORLD_SIZE). */
  worldSize: z.number().int().positive().max(MAX_WORLD_SIZE, `at most ${MAX_WORLD_SIZE} ranks`).optional(),
  /** This process's rank, 0 .. worldSize - 1 (RANK). */
  rank: z.number().int().nonnegative().optional(),
  /** This process's rank on its host (LOCAL_RANK; default rank): picks its GPU with NCCL. */
  localRank: z.number().int().nonnegative().optional(),
  /** `gloo` (CPU) or `nccl` (CUDA); default: by device. */
  backend: z.enum(['gloo', 'nccl']).optional(),
  /** The network interface Gloo uses (GLOO_SOCKET_IFNAME), e.g. `eth0`. */
  interface: z.string().min(1).optional(),
  /** Else the address Gloo listens on; default: this host's address on the route to the master. */
  host: z.string().min(1).optional(),
  /** Seconds after which a dead or hung rank stops the others with ERR_DISTRIBUTED. */
  timeout: z.number().min(1).max(MAX_TIMEOUT_SECONDS, 'at most a week (604800 s)').default(60),
  /** Seconds every rank has to join the job. */
  joinTimeout: z.number().min(1).max(MAX_TIMEOUT_SECONDS, 'at most a week (604800 s)').default(300),
  /** BatchNorm statistics over the global batch instead of each rank's (DDP's default: rank 0's buffers). */
  syncBatchNorm: z.boolean().default(false),
  /** Debug: every this many steps, check that every rank holds the same weights (0: never). */
  checkEvery: z.number().int().nonnegative().default(0),
  /** The training data's remainder past a multiple of worldSize: repeat items (`pad`) or `drop` them. */
  remainder: z.enum(['pad', 'drop']).default('pad'),
});
export type DistributedOptions = z.input<typeof DistributedSchema>;

/** Every field known: what one rank needs to join and train. */
export interface ResolvedDistributed extends Omit<z.output<typeof DistributedSchema>, 'backend' | 'localRank'> {
  masterAddr: string;
  masterPort: number;
  worldSize: number;
  rank: number;
  localRank: number;
  backend?: 'gloo' | 'nccl';
}

type Env = Record<string, string | undefined>;

function envInteger(env: Env, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new MarsError('ERR_INVALID_ARGUMENT', `${name} must be a non-negative integer, got '${raw}'`);
  return n;
}

/**
 * The run's distributed settings, or undefined for one process. `option`
 * `false` means one process; `true` or an object means distributed, with
 * missing fields from `env`; undefined means distributed exactly when `env`
 * has WORLD_SIZE (as under torchrun).
 */
export function resolveDistributed(option: boolean | DistributedOptions | undefined, env: Env = process.env): ResolvedDistributed | undefined {
  if (option === false || (option === undefined && env.WORLD_SIZE === undefined)) return undefined;
  const o = parseOptions(DistributedSchema, option === true || option === undefined ? {} : option, 'distributed');
  const worldSize = o.worldSize ?? envInteger(env, 'WORLD_SIZE');
  const rank = o.rank ?? envInteger(env, 'RANK');
  if (worldSize === undefined || worldSize < 1) throw new MarsError('ERR_INVALID_ARGUMENT', 'distributed.worldSize: not given and WORLD_SIZE is not set (or is 0)');
  if (worldSize > MAX_WORLD_SIZE) throw new MarsError('ERR_INVALID_ARGUMENT', `WORLD_SIZE must be at most ${MAX_WORLD_SIZE}, got ${worldSize}`);
  if (rank === undefined) throw new MarsError('ERR_INVALID_ARGUMENT', 'distributed.rank: not given and RANK is not set');
  if (rank >= worldSize) throw new MarsError('ERR_INVALID_ARGUMENT', `distributed.rank ${rank} must be below worldSize ${worldSize}`);
  const masterPort = o.masterPort ?? envInteger(env, 'MASTER_PORT') ?? 29500;
  if (masterPort < 1 || masterPort > 65535) throw new MarsError('ERR_INVALID_ARGUMENT', `MASTER_PORT must be a port number (1-65535), got ${masterPort}`);
  const iface = o.interface ?? (env.GLOO_SOCKET_IFNAME || undefined);
  return {
    ...o,
    masterAddr: o.masterAddr ?? (env.MASTER_ADDR || '127.0.0.1'),
    masterPort,
    worldSize,
    rank,
    localRank: o.localRank ?? envInteger(env, 'LOCAL_RANK') ?? rank,
    ...(iface ? { interface: iface } : {}),
  };
}
