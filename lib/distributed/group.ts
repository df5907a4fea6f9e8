/**
 * One rank's membership of a data-parallel job (native/distributed/group.h):
 * joins through the TCPStore rendezvous, sums numbers over the ranks, checks
 * that every rank runs the same job, and leaves. Gradients never pass here:
 * the native session averages them itself.
 */
import { createSocket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { MarsError } from '../errors.js';
import { native } from '../native/loader.js';
import type { NativeProcessGroup } from '../native/surface.js';
import type { ResolvedDistributed } from './options.js';

/** The address of this host on the route to `host` (a UDP connect sends nothing). */
async function addressTowards(host: string, port: number): Promise<string> {
  const socket = createSocket(isIPv6(host) ? 'udp6' : 'udp4');
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.connect(port, host, resolve);
    });
    return socket.address().address;
  } catch (e) {
    throw new MarsError('ERR_DISTRIBUTED', `cannot find a route to the master ${host}: ${(e as Error).message}; check MASTER_ADDR`, { cause: e });
  } finally {
    socket.close();
  }
}

/** Dotted paths of the leaves of a JSON value, with their values. */
function leaves(value: unknown, path = '', out = new Map<string, string>()): Map<string, string> {
  if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) leaves(v, path ? `${path}.${k}` : k, out);
  } else {
    out.set(path, JSON.stringify(value));
  }
  return out;
}

export class ProcessGroup {
  private constructor(
    readonly handle: NativeProcessGroup,
    readonly settings: ResolvedDistributed,
    /** This rank's device: `cpu`, or `cuda:LOCAL_RANK` for an unnumbered `cuda`. */
    readonly device: string,
  ) {}

  get rank(): number {
    return this.handle.rank;
  }

  get worldSize(): number {
    return this.handle.worldSize;
  }

  /** Joins the job described by `settings` (every rank must call it); ERR_DISTRIBUTED when it cannot. */
  static async join(settings: ResolvedDistributed, device: string): Promise<ProcessGroup> {
    const own = device === 'cuda' ? `cuda:${settings.localRank}` : device;
    const backend = settings.backend ?? (own.startsWith('cuda') ? 'nccl' : 'gloo');
    const where = settings.interface
      ? { interface: settings.interface, host: null }
      : { interface: null, host: settings.host ?? (await addressTowards(settings.masterAddr, settings.masterPort)) };
    const handle = await native().createProcessGroup({
      masterAddr: settings.masterAddr,
      masterPort: settings.masterPort,
      rank: settings.rank,
      worldSize: settings.worldSize,
      backend,
      device: backend === 'nccl' ? own : 'cpu',
      timeout: settings.timeout,
      joinTimeout: settings.joinTimeout,
      ...where,
    });
    return new ProcessGroup(handle, settings, own);
  }

  /** Element-wise sums over every rank. */
  async sum(values: readonly number[]): Promise<number[]> {
    return Array.from(await this.handle.allReduce(Float64Array.from(values)));
  }

  /**
   * Checks that every rank has the same `value` (JSON) for `what`; otherwise
   * ERR_DISTRIBUTED on every rank, naming the first rank that differs from
   * rank 0 and the fields that differ.
   */
  async agree(what: string, value: unknown): Promise<void> {
    const all = await this.handle.exchange(what, JSON.stringify(value));
    const odd = all.findIndex((v) => v !== all[0]);
    if (odd < 0) return;
    const [base, other] = [leaves(JSON.parse(all[0]!)), leaves(JSON.parse(all[odd]!))];
    const fields = [...new Set([...base.keys(), ...other.keys()])].filter((k) => base.get(k) !== other.get(k));
    const shown = fields.slice(0, 5).map((k) => `${k} (${base.get(k) ?? 'absent'} on rank 0, ${other.get(k) ?? 'absent'} on rank ${odd})`);
    throw new MarsError('ERR_DISTRIBUTED', `rank ${odd} was started with other ${what} than rank 0: ${shown.join(', ')}${fields.length > 5 ? `, and ${fields.length - 5} more` : ''}; start every rank with the same options and data`);
  }

  /** Leaves this rank's reason for stopping where the other ranks look (best effort). */
  reportFailure(error: unknown): Promise<void> {
    const code = (error as { code?: unknown } | null)?.code;
    const message = error instanceof Error ? error.message : String(error);
    return this.handle.reportFailure(typeof code === 'string' ? `${code}: ${message}` : message);
  }

  /** Leaves the job; with `wait`, only once every rank got here. */
  async leave(wait: boolean): Promise<void> {
    try {
      if (wait) await this.handle.barrier();
    } finally {
      await this.handle.shutdown();
    }
  }
}
