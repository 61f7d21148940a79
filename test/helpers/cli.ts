// Runs the project CLI (`scripts/tedi.ts`) as a child process, the way an operator does, for CLI tests.
// Asynchronous, so the test process's own workers keep serving what the CLI starts.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  /** The child's environment (in full: pass `{ ...process.env, DATABASE_URL }`). */
  env: NodeJS.ProcessEnv;
  /** Node flags before the script, e.g. a heap probe. */
  nodeArgs?: string[];
  /** What the child reads on stdin (default: nothing, stdin closed). */
  input?: string;
  /** Killed with SIGKILL after this long (default 120 s). */
  timeoutMs?: number;
  /** Called with the run's output when it ends (e.g. to check that no secret was printed). */
  onOutput?: (run: CliRun) => void;
}

export function runTedi(args: string[], opts: CliOptions): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), '--import', 'tsx', 'scripts/tedi.ts', ...args], {
      cwd: ROOT,
      env: opts.env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => {
      stdout += c;
    });
    child.stderr.on('data', (c) => {
      stderr += c;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      const run = { code, stdout, stderr };
      opts.onOutput?.(run);
      resolve(run);
    });
    child.stdin.end(opts.input ?? '');
  });
}

/** runTedi, asserting exit status 0 (the message shows the CLI's stderr). */
export async function tediOk(args: string[], opts: CliOptions): Promise<CliRun> {
  const run = await runTedi(args, opts);
  assert.equal(run.code, 0, `tedi ${args.join(' ')} exited ${run.code}:\n${run.stderr}`);
  return run;
}
