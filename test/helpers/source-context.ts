// A SourceContext for connector unit tests: real HTTP over loopback, params through the connector's own
// schema (defaults included), heartbeats and log lines captured for assertions.

import type { SourceAuth } from '../../sources/kit/http/auth';
import { HttpClient } from '../../sources/kit/http/http-client';
import type { Connector, Credentials, EventInput, SourceContext } from '../../sources/kit/types';

export type TestSourceContext<P> = SourceContext<P> & {
  heartbeats: Record<string, unknown>[];
  logs: string[];
};

export function testSourceContext<P>(
  connector: Connector<P, unknown>,
  opts: {
    baseUrl: string;
    params: unknown;
    credentials?: Credentials;
    /** The source's auth as prepareSource resolves it from data_source_configs (sources/kit/http/auth.ts). */
    auth?: SourceAuth;
    event?: EventInput;
    timeoutMs?: number;
  },
): TestSourceContext<P> {
  const heartbeats: Record<string, unknown>[] = [];
  const logs: string[] = [];
  return {
    sourceName: `${connector.name}-test`,
    baseUrl: opts.baseUrl,
    params: connector.paramsSchema.parse(opts.params),
    credentials: opts.credentials ?? {},
    event: opts.event ?? null,
    http: new HttpClient({
      sourceName: `${connector.name}-test`,
      rateLimitPerSecond: 1000,
      timeoutMs: opts.timeoutMs ?? 5000,
      ...(opts.auth ? { auth: { scheme: opts.auth, baseUrl: opts.baseUrl } } : {}),
    }),
    heartbeat: (details) => void heartbeats.push(details),
    log: (message) => void logs.push(message),
    heartbeats,
    logs,
  };
}
