// Runs the compiled CLI in a child process without blocking the test worker
// (a blocked worker cannot answer vitest, which then times out under load).
import { spawn } from 'node:child_process';
import { CLI } from './paths.js';

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** `command` with `args` (default: node running mars-ft with `args`). */
export function runCli(args: string[], command = process.execPath, prefix: string[] = [CLI]): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, [...prefix, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}
