// Builds what a connector works with for one dataset version: its catalog row, validated params, and an
// HTTP client bound to the source's rate limit, timeout and retries, spending the host's rate budget that
// every worker process shares, and sending the source's credential as its auth_type says
// (sources/kit/http/auth.ts): a configuration that cannot work fails here, before any request.
import { activityInfo, cancellationSignal, heartbeat, log } from '@temporalio/activity';
import { z } from 'zod';
import { configurationError } from '../../lib/failures';
import { decryptStoredKey } from '../../lib/secrets';
import { getConnector } from '../../sources';
import { credentialOptional, describeAuth, resolveAuth } from '../../sources/kit/http/auth';
import { HttpClient } from '../../sources/kit/http/http-client';
import { PostgresRateBudget } from '../../sources/kit/http/pg-rate-budget';
import { maskingConnector } from '../../sources/kit/secrets';
import type { Connector, Credentials, EventInput, SourceContext } from '../../sources/kit/types';
import type { ActivityDeps } from '../deps';
import type { SnapshotPolicy } from '../store/snapshot-guard';

export interface PreparedSource {
  connector: Connector<unknown, unknown>;
  ctx: SourceContext<unknown>;
  /** The snapshot guards' settings for this source: catalog config plus the connector's own rules. */
  policy: SnapshotPolicy;
  bytesFetched(): number;
}

/** Extra tries per request beyond this would keep one request retrying for most of an hour (30 s steps). */
export const MAX_RETRIES_LIMIT = 20;
const MaxRetries = z.number().int().min(0).max(MAX_RETRIES_LIMIT);

/**
 * When this activity attempt times out (epoch ms), so the HTTP client does not start a retry wait it
 * cannot finish: that failure is better handed to Temporal, typed, than turned into a timeout.
 */
function attemptDeadline(): number | undefined {
  const info = activityInfo();
  const ends = [
    info.startToCloseTimeoutMs > 0 ? Date.now() + info.startToCloseTimeoutMs : undefined,
    info.scheduleToCloseTimeoutMs > 0 ? info.scheduledTimestampMs + info.scheduleToCloseTimeoutMs : undefined,
  ].filter((t): t is number => t !== undefined);
  return ends.length > 0 ? Math.min(...ends) : undefined;
}

/** What the catalog says about a version's source, with its params validated: no secret, no HTTP client. */
async function resolveSource(deps: ActivityDeps, datasetVersionId: number) {
  const version = await deps.db.prisma.datasetVersion.findUnique({
    where: { id: datasetVersionId },
    include: { dataSource: { include: { config: true } } },
  });
  if (!version) throw configurationError(`Dataset version ${datasetVersionId} does not exist.`);
  const source = version.dataSource;
  const config = source.config;
  if (!config) {
    throw configurationError(
      `Source "${source.name}" has no DataSourceConfig row: load the catalog (npm run migrate).`,
    );
  }
  const connector = getConnector(source.connector);
  const parsed = connector.paramsSchema.safeParse(source.params);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `params.${i.path.join('.')}: ${i.message}`).join('; ');
    throw configurationError(`Source "${source.name}" has invalid params (${issues}). Fix data_sources.params.`);
  }
  const policy: SnapshotPolicy = {
    allowEmpty: config.allowEmptySnapshot,
    maxRemovedRatio: config.maxRemovedRatio,
    duplicateKeys: connector.snapshot?.duplicateKeys ?? 'fail',
    emptyHint: connector.snapshot?.emptyHint?.(parsed.data),
  };
  return { source, config, connector, params: parsed.data, policy };
}

/** The source's name and snapshot-guard settings, for the load (which talks to no source). */
export async function snapshotPolicyOf(
  deps: ActivityDeps,
  datasetVersionId: number,
): Promise<{ sourceName: string; policy: SnapshotPolicy }> {
  const { source, policy } = await resolveSource(deps, datasetVersionId);
  return { sourceName: source.name, policy };
}

export async function prepareSource(
  deps: ActivityDeps,
  datasetVersionId: number,
  event: EventInput | null = null,
): Promise<PreparedSource> {
  const { source, config, connector, params, policy } = await resolveSource(deps, datasetVersionId);
  const baseUrl = config.baseUrl.replace(/\/+$/, '');
  const sealed = config.apiKeyEncrypted;
  // A key that cannot be decrypted (another TEDI_SECRET_KEY) is a ConfigurationError naming the source: never retried.
  const decrypt = sealed ? () => decryptStoredKey(sealed, deps.secretKey, source.name) : null;
  // Checked before any request; decrypts only a credential that will be sent.
  const auth = resolveAuth({
    sourceName: source.name,
    baseUrl,
    config,
    storedKey: decrypt,
    credentialOptional: credentialOptional(connector, params),
  });
  // auth_type none: a stored credential is the connector's own to send (UNIDO's legacy API headers); with
  // any other auth type the client sends it, and the connector never sees it.
  const credentials: Credentials =
    config.authType === 'none' ? { apiKey: decrypt?.(), username: config.username ?? undefined } : {};
  const maxRetries = MaxRetries.safeParse(config.maxRetries);
  if (!maxRetries.success) {
    throw configurationError(
      `Source "${source.name}" has max_retries ${config.maxRetries}: use a whole number from 0 to ` +
        `${MAX_RETRIES_LIMIT}. Fix data_source_configs.max_retries.`,
    );
  }
  let bytes = 0;
  const http = new HttpClient({
    sourceName: source.name,
    // Masked, in every encoding, in every failure the client or the connector builds (maskingConnector below),
    // as is everything `auth` sends (the key, the password, the Basic pair, the login's token).
    secrets: [credentials.apiKey],
    auth: { scheme: auth, baseUrl },
    rateLimitPerSecond: config.rateLimitPerSecond,
    // Shared by every source on the same host and every worker process (sources/kit/http/pg-rate-budget.ts).
    rateBudget: new PostgresRateBudget(deps.db.pool, {
      sourceName: source.name,
      requestsPerSecond: config.rateLimitPerSecond,
    }),
    timeoutMs: config.timeoutMs,
    maxRetries: maxRetries.data,
    deadlineAt: attemptDeadline(),
    maxBodyBytes: Number(config.maxBodyBytes),
    signal: cancellationSignal(),
    // A retry or a rate-budget wait may outlast the heartbeat timeout; heartbeating through it says "alive".
    onWait: (details) => heartbeat({ ...details, bytes }),
    onBytes: (n) => {
      bytes += n;
    },
  });
  const ctx: SourceContext<unknown> = {
    sourceName: source.name,
    baseUrl,
    params,
    credentials,
    http,
    event,
    heartbeat: (details) => heartbeat({ ...details, bytes }),
    log: (message, attrs) => log.info(http.redact(message), { source: source.name, ...attrs }),
  };
  if (config.authType !== 'none')
    log.info(`${source.name}: requests send ${describeAuth(auth)}`, { source: source.name });
  return { connector: maskingConnector(connector, http), ctx, policy, bytesFetched: () => bytes };
}
