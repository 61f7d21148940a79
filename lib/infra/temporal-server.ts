// The Temporal server for local runs: TEMPORAL_ADDRESS when set and reachable, otherwise the Temporal
// CLI's dev server (`temporal server start-dev`) with its SQLite file under the data directory, so
// schedules and histories survive a restart, and the Web UI on its port.
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { PROJECT_ROOT } from '../paths';
import { SEARCH_ATTRIBUTES } from '../search-attributes';

const ROOT = PROJECT_ROOT;

/** The `temporal` CLI: from .tools/paths.json (written by scripts/install-tools.sh). */
export function temporalCliPath(): string {
  return toolPath('temporal');
}

/** The Java time-skipping test server, for tests where hours must pass. */
export function testServerPath(): string {
  return toolPath('testServer');
}

function toolPath(name: 'temporal' | 'testServer'): string {
  const file = path.join(ROOT, '.tools', 'paths.json');
  if (!fs.existsSync(file)) {
    throw new Error(
      `${file} is missing: run \`bash scripts/install-tools.sh\` (npm start and npm test run it for you).`,
    );
  }
  const paths = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, string>;
  const found = paths[name];
  if (!found || !fs.existsSync(found))
    throw new Error(`${name} not found at ${found}: run \`bash scripts/install-tools.sh\`.`);
  return found;
}

export function canReach(address: string, timeoutMs = 1500): Promise<boolean> {
  const [host, port] = address.split(':');
  return new Promise((resolve) => {
    const socket = net.connect({ host, port: Number(port) });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

export interface DevServer {
  address: string;
  uiUrl: string | null;
  pid: number;
  stop(): Promise<void>;
}

export interface DevServerOptions {
  port: number;
  uiPort?: number;
  /** SQLite file; omitted = in memory. */
  dbFile?: string;
  namespace?: string;
  log?: (line: string) => void;
}

/** Starts `temporal server start-dev` on loopback with TEDI's search attributes registered. */
export async function startDevServer(opts: DevServerOptions): Promise<DevServer> {
  const address = `127.0.0.1:${opts.port}`;
  // Something already answering there (often a dev server an earlier `npm start` left behind when it was
  // killed) would be taken for the new server, whose own start then fails on the busy port.
  if (await canReach(address)) {
    throw new Error(
      `Port ${opts.port} already answers on 127.0.0.1: a Temporal dev server left by an earlier run, or another program. ` +
        `Stop it (\`ss -ltnp 'sport = :${opts.port}'\` shows its pid), or set TEMPORAL_ADDRESS=${address} to use it.`,
    );
  }
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(opts.port), '--log-level', 'warn'];
  if (opts.dbFile) {
    fs.mkdirSync(path.dirname(path.resolve(opts.dbFile)), { recursive: true });
    args.push('--db-filename', path.resolve(opts.dbFile));
  }
  if (opts.uiPort) args.push('--ui-port', String(opts.uiPort));
  else args.push('--headless');
  if (opts.namespace && opts.namespace !== 'default') args.push('--namespace', opts.namespace);
  for (const key of SEARCH_ATTRIBUTES) args.push('--search-attribute', `${key.name}=Keyword`);
  // Updates are used by the operator interface; the dev server needs them switched on explicitly.
  args.push('--dynamic-config-value', 'frontend.enableUpdateWorkflowExecution=true');

  const child: ChildProcess = spawn(temporalCliPath(), args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
    for (const line of chunk.toString().split('\n')) if (line.trim()) opts.log?.(line);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`temporal server start-dev exited (${child.exitCode}):\n${output}`);
    if ((await canReach(address)) && child.exitCode === null) break;
    if (Date.now() > deadline) {
      child.kill('SIGTERM');
      throw new Error(`temporal server start-dev did not listen on ${address} within 60 s:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    address,
    uiUrl: opts.uiPort ? `http://127.0.0.1:${opts.uiPort}` : null,
    pid: child.pid!,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
