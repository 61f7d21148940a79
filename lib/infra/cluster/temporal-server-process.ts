// The Temporal server of the cluster mode: `temporal-server start` with the config template compiled into
// the server (config/docker.yaml, the one the temporalio/server image renders), filled in from the same
// environment variables the compose deployment's `temporal` service sets, with loopback addresses and
// this machine's ports. So the cluster mode runs the compose deployment's server configuration, key for
// key; the compose test holds the two together (test/compose/compose.test.ts).
import fs from 'node:fs';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { isPortFree } from '../postgres';
import { type ManagedProcess, startManagedProcess } from './managed-process';
import type { TemporalBinaries } from './temporal-binaries';
import { type SqlEndpoint, TEMPORAL_SQL_PLUGIN } from './temporal-schema';

/** The server's listening ports: the frontend's gRPC port is the one clients use. */
export interface TemporalServerPorts {
  frontend: number;
  frontendHttp: number;
  frontendMembership: number;
  history: number;
  historyMembership: number;
  matching: number;
  matchingMembership: number;
  worker: number;
  workerMembership: number;
}

/** The template's own defaults: the frontend on 7233, as in compose and as the dev server. */
export const DEFAULT_TEMPORAL_PORTS: TemporalServerPorts = {
  frontend: 7233,
  frontendHttp: 7243,
  frontendMembership: 6933,
  history: 7234,
  historyMembership: 6934,
  matching: 7235,
  matchingMembership: 6935,
  worker: 7239,
  workerMembership: 6939,
};

/**
 * Free loopback ports for every service (tests run clusters beside whatever else is running). Below the
 * kernel's ephemeral range, and so below 32768: the server stores membership ports in a smallint column.
 */
export async function freeTemporalPorts(): Promise<TemporalServerPorts> {
  const ports = {} as TemporalServerPorts;
  const taken = new Set<number>();
  for (const key of Object.keys(DEFAULT_TEMPORAL_PORTS) as (keyof TemporalServerPorts)[]) {
    for (;;) {
      const port = 20_000 + Math.floor(Math.random() * 12_000);
      if (taken.has(port) || !(await isPortFree(port))) continue;
      taken.add(port);
      ports[key] = port;
      break;
    }
  }
  return ports;
}

export interface TemporalServerSettings {
  sql: SqlEndpoint;
  ports: TemporalServerPorts;
  dynamicConfigFile: string;
  /** host:port for the server's Prometheus metrics; omitted = none. */
  metricsEndpoint?: string;
  logLevel?: string;
}

/**
 * The variables the server's config template reads. The first block is what compose's `temporal` service
 * sets (the compose test checks each of its keys is here); the ports are the template's, for one machine.
 */
export function temporalServerEnvironment(s: TemporalServerSettings): Record<string, string> {
  const env: Record<string, string> = {
    DB: TEMPORAL_SQL_PLUGIN,
    DB_PORT: String(s.sql.port),
    POSTGRES_USER: s.sql.user,
    POSTGRES_PWD: s.sql.password,
    POSTGRES_SEEDS: s.sql.host,
    BIND_ON_IP: '127.0.0.1',
    DYNAMIC_CONFIG_FILE_PATH: path.resolve(s.dynamicConfigFile),
    FRONTEND_GRPC_PORT: String(s.ports.frontend),
    FRONTEND_HTTP_PORT: String(s.ports.frontendHttp),
    FRONTEND_MEMBERSHIP_PORT: String(s.ports.frontendMembership),
    HISTORY_GRPC_PORT: String(s.ports.history),
    HISTORY_MEMBERSHIP_PORT: String(s.ports.historyMembership),
    MATCHING_GRPC_PORT: String(s.ports.matching),
    MATCHING_MEMBERSHIP_PORT: String(s.ports.matchingMembership),
    WORKER_GRPC_PORT: String(s.ports.worker),
    WORKER_MEMBERSHIP_PORT: String(s.ports.workerMembership),
    LOG_LEVEL: s.logLevel ?? 'warn',
  };
  if (s.metricsEndpoint) env.PROMETHEUS_ENDPOINT = s.metricsEndpoint;
  return env;
}

/** The environment as written beside the server's log: every variable, the password masked. */
export function shownEnvironment(env: Record<string, string>, version: string): string {
  const lines = Object.entries({ ...env, POSTGRES_PWD: '***' }).map(([k, v]) => `${k}=${v}`);
  return `# The environment temporal-server ${version} was started with (config template: config/docker.yaml)\n${lines.join('\n')}\n`;
}

export interface TemporalServer {
  address: string;
  process: ManagedProcess;
}

/**
 * Starts the server and resolves once its frontend answers health checks. The environment it ran with is
 * written beside its log (password masked), so an operator sees the generated configuration.
 */
export async function startTemporalServer(
  bins: TemporalBinaries,
  settings: TemporalServerSettings,
  files: { logFile: string; timeoutMs?: number },
): Promise<TemporalServer> {
  const env = temporalServerEnvironment(settings);
  fs.mkdirSync(path.dirname(files.logFile), { recursive: true });
  fs.writeFileSync(files.logFile.replace(/\.log$/, '.env'), shownEnvironment(env, bins.versions.server));
  const process_ = startManagedProcess({
    name: 'temporal-server',
    command: bins.server,
    args: ['start'],
    // Only what the template reads, and PATH/HOME: a stray variable of the caller's (ENABLE_ES, DB…) must
    // not reconfigure the server.
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    logFile: files.logFile,
  });
  const address = `127.0.0.1:${settings.ports.frontend}`;
  try {
    await waitUntilServing(address, process_, files.timeoutMs ?? 90_000);
  } catch (err) {
    await process_.stop(5_000);
    throw err;
  }
  return { address, process: process_ };
}

/** Waits for the frontend's gRPC health check to answer SERVING (the port opens before that). */
async function waitUntilServing(address: string, server: ManagedProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer yet';
  while (Date.now() < deadline) {
    if (!server.running()) throw new Error(`temporal-server exited (${await server.exited}):\n${server.tail()}`);
    try {
      const connection = await Connection.connect({ address, connectTimeout: 2_000 });
      try {
        const health = await connection.healthService.check({
          service: 'temporal.api.workflowservice.v1.WorkflowService',
        });
        if (health.status === 1) return;
        last = `health status ${health.status}`;
      } finally {
        await connection.close();
      }
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(
    `temporal-server did not serve on ${address} within ${timeoutMs / 1000} s (${last}); see ${server.logFile}:\n${server.tail()}`,
  );
}
