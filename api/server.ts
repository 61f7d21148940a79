// The HTTP read API (issue #10): fastify over the read query layer (activities/store/read.ts), which reads
// only the tedi_read contract. Read-only JSON routes under /v1, CSV export of observations streamed from a
// server-side cursor, `ETag` = source/version/revision with If-None-Match → 304, and the OpenAPI 3.1
// document generated from the zod schemas that validate the requests (api/schemas.ts) at /openapi.json,
// with the interactive page at /docs.
//
// Errors: a bad parameter is a 400 whose body names it (`parameter`) and says what to give instead
// (`message`), whether zod refused it or the query layer did (ReadError); an unknown source is a 404.
import { Readable } from 'node:stream';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import {
  hasZodFastifySchemaValidationErrors,
  jsonSchemaTransform,
  jsonSchemaTransformObject,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import type { Pool } from 'pg';
import { z } from 'zod';
import { parquetChunks } from '../activities/store/export';
import {
  DEFAULT_LIMIT,
  diff,
  listRevisions,
  listSeries,
  listSources,
  OBSERVATION_CSV_HEADER,
  type ObservationRow,
  observationCsvLine,
  observations,
  ReadError,
  resolveVersion,
  streamObservations,
} from '../activities/store/read';
import { redactUrlsInText } from '../lib/redact';
import { type FeedOptions, feedRoutes } from './feed';
import {
  DiffQuery,
  DiffResponse,
  dimensionsOf,
  ErrorBody,
  HealthResponse,
  ObservationsQuery,
  ObservationsResponse,
  RevisionsResponse,
  SeriesQuery,
  SeriesResponse,
  SourceParams,
  SourcesResponse,
  VersionQuery,
} from './schemas';
import { type StatusPageOptions, statusPage } from './status/routes';

export interface ApiOptions extends StatusPageOptions, Omit<FeedOptions, 'pool'> {
  pool: Pool;
  /** Fastify's logger (pino); default none: a failed request (500) is reported through `onError`. */
  logger?: boolean;
  /** Called for every 500; default: one JSON line on stderr, URLs' passwords masked. */
  onError?: (err: unknown, request: FastifyRequest) => void;
}

function logToStderr(err: unknown, request: FastifyRequest): void {
  const error = redactUrlsInText(err instanceof Error ? (err.stack ?? err.message) : String(err));
  console.error(
    JSON.stringify({
      ts: new Date().toISOString(),
      level: 'error',
      msg: 'read API request failed',
      method: request.method,
      url: request.url,
      error,
    }),
  );
}

/** Read-layer parameter names → the API's query parameter names. */
function apiParameter(parameter: string, query: Record<string, unknown>): string {
  if (parameter === 'asOf') return query.revision !== undefined ? 'revision' : 'asOf';
  if (parameter === 'periodFrom') return 'from';
  if (parameter === 'periodTo') return 'to';
  if (parameter.startsWith('dimensions.')) return `dim.${parameter.slice('dimensions.'.length)}`;
  return parameter;
}

class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    readonly parameter: string | null,
    message: string,
  ) {
    super(message);
  }
}

/** A strong ETag naming what the body was read from. */
function etagOf(source: string, version: string, revision: number | string): string {
  return `"${encodeURIComponent(source)}/${encodeURIComponent(version)}/${revision}"`;
}

function notModified(request: FastifyRequest, etag: string): boolean {
  const header = request.headers['if-none-match'];
  if (!header) return false;
  return header
    .split(',')
    .map((t) => t.trim().replace(/^W\//, ''))
    .some((t) => t === etag || t === '*');
}

/** Sets the ETag; true when the client's copy is current (the reply is then a 304 with no body). */
function conditional(request: FastifyRequest, reply: FastifyReply, etag: string): boolean {
  reply.header('etag', etag);
  if (!notModified(request, etag)) return false;
  reply.code(304).send();
  return true;
}

/** Rows joined into chunks of about 64 KiB, so the socket is not written one line at a time. */
async function* csvChunks(first: ObservationRow | undefined, rest: AsyncIterator<ObservationRow>) {
  try {
    let chunk = `${OBSERVATION_CSV_HEADER.join(',')}\n`;
    if (first) chunk += observationCsvLine(first);
    for (let next = await rest.next(); !next.done; next = await rest.next()) {
      chunk += observationCsvLine(next.value);
      if (chunk.length >= 65_536) {
        yield chunk;
        chunk = '';
      }
    }
    if (chunk) yield chunk;
  } finally {
    // Reached too when the client goes away (the stream is destroyed): closes the cursor, frees the connection.
    await rest.return?.();
  }
}

const errorResponses = { 400: ErrorBody, 404: ErrorBody };

/** The media type of Parquet (registered with IANA in 2024). */
const PARQUET_TYPE = 'application/vnd.apache.parquet';

export async function buildApi(opts: ApiOptions): Promise<FastifyInstance> {
  const { pool } = opts;
  const app = Fastify({ logger: opts.logger ?? false });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);

  app.setErrorHandler((err, request, reply) => {
    const query = (request.query ?? {}) as Record<string, unknown>;
    if (hasZodFastifySchemaValidationErrors(err)) {
      const first = err.validation[0]!;
      let parameter = first.instancePath.replace(/^\//, '').split('/')[0] ?? '';
      const keys = (first.params as { keys?: string[] }).keys;
      if (first.keyword === 'unrecognized_keys' && keys?.[0]) {
        parameter = keys[0];
        return reply.code(400).send({
          statusCode: 400,
          error: 'bad_parameter',
          parameter,
          message: `${parameter}: is not a parameter of this route`,
        });
      }
      parameter ||= err.validationContext ?? 'input';
      const detail = first.message ?? 'is not valid';
      return reply
        .code(400)
        .send({ statusCode: 400, error: 'bad_parameter', parameter, message: `${parameter}: ${detail}` });
    }
    if (err instanceof ReadError) {
      const status = err.code === 'unknown_source' ? 404 : 400;
      const parameter = apiParameter(err.parameter, query);
      return reply
        .code(status)
        .send({ statusCode: status, error: err.code, parameter, message: `${parameter}: ${err.detail}` });
    }
    if (err instanceof ApiError) {
      return reply
        .code(err.statusCode)
        .send({ statusCode: err.statusCode, error: err.code, parameter: err.parameter, message: err.message });
    }
    const status = (err as { statusCode?: number }).statusCode;
    if (status && status >= 400 && status < 500) {
      return reply
        .code(status)
        .send({ statusCode: status, error: 'bad_request', parameter: null, message: (err as Error).message });
    }
    (opts.onError ?? logToStderr)(err, request);
    return reply
      .code(500)
      .send({ statusCode: 500, error: 'internal', parameter: null, message: 'internal error: see the server log' });
  });
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({
      statusCode: 404,
      error: 'not_found',
      parameter: null,
      message: `no route ${request.method} ${request.url.split('?')[0]}: see /openapi.json`,
    }),
  );

  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'TEDI read API',
        description:
          'Read-only access to TEDI’s versioned store (the tedi_read contract): sources, revisions, series, ' +
          'observations as of a revision or a date, diffs between revisions. Keyset paging: pass a page’s ' +
          '`next` as `after`. Responses carry an ETag (source/version/revision) and honour If-None-Match.',
        version: '1.0.0',
      },
    },
    transform: jsonSchemaTransform,
    transformObject: jsonSchemaTransformObject,
  });
  await app.register(fastifySwaggerUi, { routePrefix: '/docs' });
  await app.register(statusPage, opts);
  await app.register(feedRoutes, opts);

  const r = app.withTypeProvider<ZodTypeProvider>();

  r.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  r.get(
    '/healthz',
    { schema: { summary: 'liveness and database reachability', response: { 200: HealthResponse, 503: ErrorBody } } },
    async (_request, reply) => {
      try {
        await pool.query('SELECT 1');
      } catch {
        return reply.code(503).send({
          statusCode: 503,
          error: 'database_unreachable',
          parameter: null,
          message: 'the database does not answer',
        });
      }
      return { status: 'ok' as const, database: 'ok' as const };
    },
  );

  r.get(
    '/v1/sources',
    {
      schema: {
        summary: 'every source and dataset version, with freshness and breaker state',
        response: { 200: SourcesResponse },
      },
    },
    async () => ({ sources: await listSources(pool) }),
  );

  r.get(
    '/v1/sources/:source/revisions',
    {
      schema: {
        summary: 'the revisions of a dataset version, oldest first',
        params: SourceParams,
        querystring: VersionQuery,
        response: { 200: RevisionsResponse, ...errorResponses },
      },
    },
    async (request, reply) => {
      const v = await resolveVersion(pool, request.params.source, request.query.version);
      const revisions = await listRevisions(pool, v.source, v.version);
      // The list may hold a revision committed after resolveVersion: the tag names the list's own latest.
      const currentRevision = Math.max(v.currentRevision, ...revisions.map((x) => x.revision));
      if (conditional(request, reply, etagOf(v.source, v.version, currentRevision))) return reply;
      return { source: v.source, version: v.version, currentRevision, revisions };
    },
  );

  r.get(
    '/v1/sources/:source/series',
    {
      schema: {
        summary: 'the series of a dataset version, by key, filtered by prefix and dimensions',
        params: SourceParams,
        querystring: SeriesQuery,
        response: { 200: SeriesResponse, ...errorResponses },
      },
    },
    async (request, reply) => {
      const q = request.query;
      const page = await listSeries(pool, {
        source: request.params.source,
        version: q.version,
        prefix: q.prefix,
        dimensions: dimensionsOf(q),
        limit: q.limit ?? DEFAULT_LIMIT,
        after: q.after,
      });
      if (conditional(request, reply, etagOf(page.source, page.version, page.currentRevision))) return reply;
      return {
        source: page.source,
        version: page.version,
        currentRevision: page.currentRevision,
        series: page.rows,
        next: page.next,
      };
    },
  );

  r.get(
    '/v1/sources/:source/observations',
    {
      schema: {
        summary: 'observations as of a revision or a date (default: the latest), by (series, period)',
        description:
          'Filters: series (repeatable), dim.NAME=value (repeat for several dimensions), from/to (periods). ' +
          'revision=N or asOf=DATE, not both. format=csv streams every matching row (or `limit` rows) as ' +
          'text/csv with the columns series_key, period, value, unit, attributes, dimensions. ' +
          'format=parquet streams them as a Parquet file (the file `tedi export --format parquet` writes: ' +
          'columns source, version, revision, series_key, dimensions, period, value, unit, attributes, ' +
          'valid_from; value as exact decimal text; one row group per 10,000 rows), as an attachment ' +
          'named SOURCE-rREVISION.parquet.',
        params: SourceParams,
        querystring: ObservationsQuery,
        response: {
          200: {
            description: 'a page of observations (JSON), or every matching row (format=csv, format=parquet)',
            content: {
              'application/json': { schema: ObservationsResponse },
              'text/csv': { schema: z.string() },
              [PARQUET_TYPE]: { schema: z.string().meta({ format: 'binary' }) },
            },
          },
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const q = request.query;
      if (q.revision !== undefined && q.asOf !== undefined) {
        throw new ApiError(400, 'bad_parameter', 'asOf', 'asOf: give either revision or asOf, not both');
      }
      const query = {
        source: request.params.source,
        version: q.version,
        asOf: q.revision ?? q.asOf,
        series: q.series,
        dimensions: dimensionsOf(q),
        periodFrom: q.from,
        periodTo: q.to,
        after: q.after,
      };
      if (q.format === 'csv' || q.format === 'parquet') {
        const stream = streamObservations(pool, { ...query, limit: q.limit });
        const rows = stream[Symbol.asyncIterator]();
        // The first row is asked for before anything is sent: bad input is a 400, not a broken file.
        const first = await rows.next();
        const read = await stream.ready;
        if (conditional(request, reply, etagOf(read.source, read.version, read.revision))) {
          await rows.return?.();
          return reply;
        }
        reply.header('x-tedi-revision', String(read.revision));
        const head = first.done ? undefined : first.value;
        // Readable.from: the socket's backpressure paces the cursor; a client that goes away destroys the
        // stream, which ends the generator and so closes the cursor and frees the connection.
        // (The typed reply knows only the JSON body; a stream bypasses the serializer.)
        if (q.format === 'csv') {
          reply.header('content-type', 'text/csv; charset=utf-8');
          return (reply as FastifyReply).send(Readable.from(csvChunks(head, rows)));
        }
        reply.header('content-type', PARQUET_TYPE);
        reply.header('content-disposition', `attachment; filename="${read.source}-r${read.revision}.parquet"`);
        return (reply as FastifyReply).send(Readable.from(parquetChunks(read, head, rows)));
      }
      const page = await observations(pool, { ...query, limit: q.limit ?? DEFAULT_LIMIT });
      if (conditional(request, reply, etagOf(page.source, page.version, page.revision))) return reply;
      return reply.type('application/json').send({
        source: page.source,
        version: page.version,
        currentRevision: page.currentRevision,
        revision: page.revision,
        observations: page.rows,
        next: page.next,
      });
    },
  );

  r.get(
    '/v1/sources/:source/diff',
    {
      schema: {
        summary: 'what changed between two revisions, per (series, period): added, updated (old → new), removed',
        params: SourceParams,
        querystring: DiffQuery,
        response: { 200: DiffResponse, ...errorResponses },
      },
    },
    async (request, reply) => {
      const q = request.query;
      const page = await diff(pool, {
        source: request.params.source,
        version: q.version,
        from: q.from,
        to: q.to,
        limit: q.limit ?? DEFAULT_LIMIT,
        after: q.after,
      });
      if (conditional(request, reply, etagOf(page.source, page.version, `${q.from}..${q.to}`))) return reply;
      return {
        source: page.source,
        version: page.version,
        currentRevision: page.currentRevision,
        from: q.from,
        to: q.to,
        changes: page.rows,
        next: page.next,
      };
    },
  );

  await app.ready();
  return app;
}

export interface RunningApi {
  url: string;
  app: FastifyInstance;
  close(graceMs?: number): Promise<void>;
}

/** Builds the API and listens on host:port (port 0: a free one); `url` is where it answers. */
export async function startApi(opts: ApiOptions & { host: string; port: number }): Promise<RunningApi> {
  const app = await buildApi(opts);
  await app.listen({ host: opts.host, port: opts.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : opts.port;
  const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  return {
    url: `http://${host}:${port}`,
    app,
    // Stops taking connections (idle keep-alive ones are closed) and waits for the requests in flight; a
    // download still running after `graceMs` (a slow CSV reader) is cut so shutdown is never held up.
    async close(graceMs = 10_000) {
      const timer = setTimeout(() => app.server.closeAllConnections(), graceMs);
      try {
        await app.close();
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
