/**
 * Data-parallel fine-tuning past one process or one machine, on LibTorch's
 * c10d (Gloo on CPU, NCCL on CUDA): the options and their completion from
 * the launch variables PyTorch users know (options.ts), one rank's membership
 * of a job with its metric sums and option check (group.ts), and the local
 * launcher behind `mars-ft finetune --nproc N` (launch.ts). The averaging of
 * gradients, the broadcasts and syncBatchNorm live in the native session
 * (native/distributed/); the data shards in the loader (data/shard.ts).
 */
export { DistributedSchema, resolveDistributed, type DistributedOptions, type ResolvedDistributed } from './options.js';
export { ProcessGroup } from './group.js';
export { freePort, launchLocal, type LaunchOptions } from './launch.js';
