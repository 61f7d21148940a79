// A long-running child of the cluster launcher (the Temporal server, the Web UI, a worker, the API):
// spawned with an explicit environment, its output appended to a log file of its own (and, line by line,
// to an optional callback), stopped by its own PID only: SIGTERM, then SIGKILL after a grace period.
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { canReach } from '../temporal-server';

export interface ManagedProcessOptions {
  /** Short name for messages: `temporal-server`, `worker-agriculture-2`. */
  name: string;
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  cwd?: string;
  logFile: string;
  onLine?: (line: string) => void;
}

export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  readonly logFile: string;
  /** Resolves with the exit code (or signal name) when the process ends, for whatever reason. */
  readonly exited: Promise<number | string>;
  running(): boolean;
  /** Resolves once a line of output matches (or rejects when the process ends first, or on timeout). */
  waitForLine(pattern: RegExp, timeoutMs: number): Promise<string>;
  /** SIGTERM, SIGKILL after `graceMs`; resolves when it has ended. */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL at once (fault tests: a crash, no clean-up). */
  kill(): Promise<void>;
  /** The last lines it printed, for error messages. */
  tail(): string;
}

export function startManagedProcess(opts: ManagedProcessOptions): ManagedProcess {
  fs.mkdirSync(path.dirname(opts.logFile), { recursive: true });
  const log = fs.createWriteStream(opts.logFile, { flags: 'a' });
  const child: ChildProcess = spawn(opts.command, opts.args, {
    cwd: opts.cwd,
    env: opts.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid === undefined) throw new Error(`${opts.name}: ${opts.command} did not start`);
  let recent: string[] = [];
  const watchers = new Set<(line: string) => void>();
  let partial = '';
  const onData = (chunk: Buffer) => {
    log.write(chunk);
    const lines = (partial + chunk.toString()).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.trim()) continue;
      // Long lines (a Go stack trace) are cut: the tail is for messages, the log file has everything.
      recent = [...recent.slice(-39), line.length > 300 ? `${line.slice(0, 300)}…` : line];
      opts.onLine?.(line);
      for (const watch of watchers) watch(line);
    }
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => {
      log.end();
      resolve(code ?? signal ?? 'unknown');
    }),
  );
  const running = () => child.exitCode === null && child.signalCode === null;
  const tail = () => recent.slice(-12).join('\n');

  return {
    name: opts.name,
    pid: child.pid,
    logFile: opts.logFile,
    exited,
    running,
    tail,
    waitForLine(pattern, timeoutMs) {
      const seen = recent.find((line) => pattern.test(line));
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const done = (err: Error | null, line?: string) => {
          clearTimeout(timer);
          watchers.delete(watch);
          if (err) reject(err);
          else resolve(line as string);
        };
        const watch = (line: string) => pattern.test(line) && done(null, line);
        const timer = setTimeout(
          () =>
            done(
              new Error(`${opts.name} printed no line matching ${pattern} within ${timeoutMs / 1000} s:\n${tail()}`),
            ),
          timeoutMs,
        );
        watchers.add(watch);
        void exited.then((code) =>
          done(new Error(`${opts.name} exited (${code}) before printing ${pattern}; see ${opts.logFile}:\n${tail()}`)),
        );
      });
    },
    async stop(graceMs = 20_000) {
      if (!running()) return void (await exited);
      child.kill('SIGTERM');
      const timer = setTimeout(() => running() && child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
    async kill() {
      if (running()) child.kill('SIGKILL');
      await exited;
    },
  };
}

/** Resolves once `address` accepts connections; rejects when `child` ends first or `timeoutMs` passes. */
export async function untilListening(child: ManagedProcess, address: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await canReach(address))) {
    if (!child.running() || Date.now() > deadline) {
      throw new Error(`${child.name} did not listen on ${address}; see ${child.logFile}:\n${child.tail()}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}
