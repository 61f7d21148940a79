// Measuring a child process's heap alone (the test process's own heap is not in it): run the child with
// probeArgs() (node --expose-gc and heap-probe.cjs preloaded) and read what the probe wrote, at the child's
// exit (readProbe) or at a mark while it runs (markProbe). Sizes in bytes; `live` = heapUsed + arrayBuffers.
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export const HEAP_PROBE = path.join(__dirname, 'heap-probe.cjs');

export interface HeapReading {
  /** Peaks since the child started or since the last mark. */
  peakHeap: number;
  peakLive: number;
  /** Live sizes when the reading was taken, after a full collection. */
  heap: number;
  live: number;
}

/** Node options and environment for a child whose heap `file` is to receive. */
export function probeArgs(file: string): { nodeArgs: string[]; env: Record<string, string> } {
  fs.rmSync(file, { force: true });
  return { nodeArgs: ['--expose-gc', '--require', HEAP_PROBE], env: { HEAP_PROBE_FILE: file } };
}

/** What the probe wrote last (at the child's exit, once it has exited). */
export function readProbe(file: string): HeapReading {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as HeapReading;
}

/** Asks the running child for its peaks since the last mark (SIGUSR2); the next peaks start from now. */
export async function markProbe(child: ChildProcess, file: string, timeoutMs = 10_000): Promise<HeapReading> {
  fs.rmSync(file, { force: true });
  child.kill('SIGUSR2');
  for (const started = Date.now(); !fs.existsSync(file); ) {
    if (Date.now() - started > timeoutMs) throw new Error(`the heap probe did not answer within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return readProbe(file);
}

export const mb = (bytes: number) => bytes / 2 ** 20;
