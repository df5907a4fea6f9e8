// Two ranks (run from dist/): after one sum, rank 1 fails with an error of its
// own and reports it as fineTune does; rank 0's next sum must name it.
import { join } from 'node:path';

const [root, port, rankArg] = process.argv.slice(2);
const { ProcessGroup, resolveDistributed } = await import(join(root, 'dist', 'distributed', 'index.js'));
const rank = Number(rankArg);
const group = await ProcessGroup.join(resolveDistributed({ masterPort: Number(port), worldSize: 2, rank, host: '127.0.0.1', timeout: 5 }), 'cpu');
await group.sum([1]);
if (rank === 1) {
  await group.reportFailure(Object.assign(new Error('cannot load x.png: corrupt'), { code: 'ERR_DATA_FILE' }));
  await group.leave(false);
  process.exit(1);
}
try {
  await group.sum([1]);
} catch (e) {
  console.error(`[${e.code}] ${e.message}`);
  process.exit(1);
}
