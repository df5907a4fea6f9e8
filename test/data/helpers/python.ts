/** The independent oracle: the system Python, which has numpy, PIL, torch and torchvision. */
import { execFileSync } from 'node:child_process';

const PYTHON = '/usr/bin/python3';

/** Runs `script` with `input` as JSON on stdin (read it with json.load(sys.stdin)); returns the JSON it prints. */
export function python<T>(script: string, input: unknown = null): T {
  const out = execFileSync(PYTHON, ['-c', script], {
    input: JSON.stringify(input),
    encoding: 'utf8',
    maxBuffer: 1 << 28,
  });
  return JSON.parse(out) as T;
}
