// What the process benchmarks (worker-memory, compiled-worker) do with a child process: read its memory,
// wait for its readiness line, stop it. One copy, so both benches measure and stop processes alike.
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';

/** VmRSS and VmHWM (peak) of a process, in bytes, from /proc/<pid>/status. */
export function memoryOf(pid: number): { rss: number; hwm: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits for a line containing `marker` on the child's stdout. */
export function waitForLine(child: ChildProcess, marker: string, timeoutMs = 120_000): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`no "${marker}" within ${timeoutMs} ms:\n${seen}`)), timeoutMs);
    child.stdout?.on('data', (chunk: Buffer) => {
      seen = (seen + chunk.toString()).slice(-4000);
      if (seen.includes(marker)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited (${code}) before "${marker}":\n${seen}`));
    });
  });
}

/** SIGTERM, SIGKILL after 15 s; resolves when it has exited. */
export async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}
