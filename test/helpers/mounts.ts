// Small tmpfs mounts for fault tests: a disk that fills up, a read-only folder.
// Mounting needs root (as in CI); callers fall back to an injected failure.
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';

/** Mounts a tmpfs of `size` (e.g. '2m') at `dir`; false when this process may not mount. */
export function mountTmpfs(dir: string, size: string, readOnly = false): boolean {
  mkdirSync(dir, { recursive: true });
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}${readOnly ? ',ro' : ''}`, 'tmpfs', dir], { encoding: 'utf8' });
  return r.status === 0;
}

export function unmount(dir: string): void {
  spawnSync('umount', ['-l', dir]);
}
