// The change feed over HTTP (issue #10):
// - GET /v1/events: with `Accept: text/event-stream`, a server-sent-events stream of committed revisions'
//   events (replayed from `after` or the Last-Event-ID header, then live as they commit); otherwise a JSON
//   page of events after `after` for clients that poll.
// - /v1/subscriptions: webhook subscriptions (create, list, remove, deliveries and their attempt log).
//   They change what TEDI sends where, so they need `Authorization: Bearer <TEDI_API_ADMIN_TOKEN>`; with
//   no token configured they answer 403 saying so (the CLI manages them on any installation).
import crypto from 'node:crypto';
import fastifySse from '@fastify/sse';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Pool } from 'pg';
import { type ChangeEvent, eventsAfter, latestEventId } from '../activities/feed/outbox';
import {
  createSubscription,
  type Delivery,
  getSubscription,
  listDeliveries,
  listSubscriptions,
  removeSubscription,
  type Subscription,
  SubscriptionError,
} from '../activities/feed/subscriptions';
import { ChangeHub } from './change-hub';
import {
  CreatedSubscription,
  DeliveriesQuery,
  DeliveriesResponse,
  EventsQuery,
  EventsResponse,
  SubscriptionBody,
  SubscriptionParams,
  Subscription as SubscriptionSchema,
  SubscriptionsResponse,
} from './feed-schemas';
import { ErrorBody } from './schemas';

export interface FeedOptions {
  pool: Pool;
  /** Decrypts/encrypts subscription secrets; without it subscriptions cannot be created over HTTP. */
  secretKey?: string;
  /** The bearer token of the subscription routes; unset = those routes answer 403. */
  adminToken?: string;
  /** How often an idle SSE stream sends a comment line, so proxies keep it open (default 15 s). */
  heartbeatMs?: number;
}

/** Events sent per read while an SSE stream catches up. */
const REPLAY_BATCH = 500;

const iso = (d: Date | null) => (d ? d.toISOString() : null);
const subscriptionJson = (s: Subscription) => ({
  ...s,
  createdAt: s.createdAt.toISOString(),
  lastDeliveredAt: iso(s.lastDeliveredAt),
});
const deliveryJson = (d: Delivery) => ({
  ...d,
  lastAttemptAt: iso(d.lastAttemptAt),
  deliveredAt: iso(d.deliveredAt),
  log: d.log.map((a) => ({ ...a, startedAt: a.startedAt.toISOString() })),
});

function sourcesOf(source: string | string[] | undefined): string[] | undefined {
  if (source === undefined) return undefined;
  return Array.isArray(source) ? source : [source];
}

class Forbidden extends Error {
  readonly statusCode = 403;
}

function requireAdmin(token: string | undefined, request: FastifyRequest): void {
  if (!token) {
    throw new Forbidden(
      'subscriptions over HTTP are off: set TEDI_API_ADMIN_TOKEN on the API server, or use `npm run tedi -- subscribe`',
    );
  }
  const given = Buffer.from((request.headers.authorization ?? '').replace(/^Bearer\s+/i, ''));
  const expected = Buffer.from(token);
  if (given.length !== expected.length || !crypto.timingSafeEqual(given, expected)) {
    throw new Forbidden('Authorization: give `Bearer <TEDI_API_ADMIN_TOKEN>` to manage subscriptions');
  }
}

export async function feedRoutes(app: FastifyInstance, opts: FeedOptions): Promise<void> {
  const { pool } = opts;
  const hub = new ChangeHub(pool);
  // Streams end (and the LISTEN connection closes) when the server stops, so shutdown never waits on them.
  app.addHook('preClose', async () => hub.close());
  await app.register(fastifySse, { heartbeatInterval: opts.heartbeatMs ?? 15_000 });

  app.setErrorHandler((err, _request, reply) => {
    if (err instanceof SubscriptionError) {
      return reply
        .code(err.status)
        .send({ statusCode: err.status, error: 'bad_subscription', parameter: err.field, message: err.message });
    }
    if (err instanceof Forbidden) {
      return reply.code(403).send({ statusCode: 403, error: 'forbidden', parameter: null, message: err.message });
    }
    throw err;
  });

  const r = app.withTypeProvider<ZodTypeProvider>();

  r.get(
    '/v1/events',
    {
      sse: 'dual',
      schema: {
        summary: 'the change feed: one event per committed revision',
        description:
          'With `Accept: text/event-stream`: a server-sent-events stream (event `revision.created`, id = event ' +
          'id), replayed from `after` or the Last-Event-ID header (default: from now), then live. Otherwise: ' +
          'a JSON page of the events after `after` (default 0), oldest first.',
        querystring: EventsQuery,
        response: { 200: EventsResponse, 400: ErrorBody },
      },
    },
    async (request, reply) => {
      const q = request.query;
      const sources = sourcesOf(q.source);
      if (!reply.sse) {
        const events = await eventsAfter(pool, q.after ?? '0', { sources, limit: q.limit ?? 100 });
        return { events, next: events.at(-1)?.id ?? q.after ?? '0' };
      }
      const sse = reply.sse;
      // A Last-Event-ID that is not one of ours (a client confusing streams) is refused before the stream opens.
      const lastEventId = sse.lastEventId ?? undefined;
      if (lastEventId !== undefined && !/^\d{1,18}$/.test(lastEventId)) {
        return reply.code(400).send({
          statusCode: 400,
          error: 'bad_parameter',
          parameter: 'Last-Event-ID',
          message: 'Last-Event-ID: must be an event id (a whole number) this stream sent, e.g. 42',
        });
      }
      const resumeFrom = lastEventId ?? q.after ?? (await latestEventId(pool));
      const stop = new AbortController();
      sse.onClose(() => stop.abort());
      const unsubscribe = hub.onClose(() => stop.abort());
      const stopped = new Promise<void>((resolve) => stop.signal.addEventListener('abort', () => resolve()));
      sse.keepAlive();
      // Headers now, not at the first event: a client following only new events sees the stream open at
      // once, and the keep-alive comments start (the plugin starts them when the response is committed).
      sse.sendHeaders();
      reply.raw.flushHeaders(); // Node holds written headers back until the first body byte otherwise.
      let last = resumeFrom;
      try {
        while (!stop.signal.aborted) {
          // Subscribe before reading, so an event that commits during the read still wakes the wait.
          const woken = hub.nextChange(stop.signal);
          const batch: ChangeEvent[] = await eventsAfter(pool, last, { sources, limit: REPLAY_BATCH });
          for (const event of batch) {
            if (stop.signal.aborted) break;
            // A client that stopped reading holds the send at its backpressure; its going away ends the wait.
            await Promise.race([sse.send({ id: event.id, event: event.type, data: event }), stopped]);
            last = event.id;
          }
          if (batch.length < REPLAY_BATCH) await woken;
        }
      } finally {
        unsubscribe();
        sse.close();
      }
    },
  );

  r.post(
    '/v1/subscriptions',
    {
      schema: {
        summary: 'subscribe a webhook to the change feed (admin token)',
        body: SubscriptionBody,
        response: { 201: CreatedSubscription, 400: ErrorBody, 403: ErrorBody },
      },
    },
    async (request, reply) => {
      requireAdmin(opts.adminToken, request);
      if (!opts.secretKey) throw new Forbidden('the API server has no secret key to store a signing secret with');
      const created = await createSubscription(pool, opts.secretKey, request.body);
      return reply.code(201).send({ subscription: subscriptionJson(created.subscription), secret: created.secret });
    },
  );

  r.get(
    '/v1/subscriptions',
    {
      schema: {
        summary: 'webhook subscriptions (admin token)',
        response: { 200: SubscriptionsResponse, 403: ErrorBody },
      },
    },
    async (request) => {
      requireAdmin(opts.adminToken, request);
      return { subscriptions: (await listSubscriptions(pool)).map(subscriptionJson) };
    },
  );

  r.delete(
    '/v1/subscriptions/:id',
    {
      schema: {
        summary: 'stop a subscription (its delivery log is kept) (admin token)',
        params: SubscriptionParams,
        response: { 200: SubscriptionSchema, 403: ErrorBody, 404: ErrorBody },
      },
    },
    async (request) => {
      requireAdmin(opts.adminToken, request);
      const stopped = await removeSubscription(
        pool,
        Number(request.params.id),
        `removed over the API at ${new Date().toISOString()}`,
      );
      return subscriptionJson(stopped);
    },
  );

  r.get(
    '/v1/subscriptions/:id/deliveries',
    {
      schema: {
        summary: 'deliveries of a subscription, newest first, with every attempt (admin token)',
        params: SubscriptionParams,
        querystring: DeliveriesQuery,
        response: { 200: DeliveriesResponse, 403: ErrorBody, 404: ErrorBody },
      },
    },
    async (request) => {
      requireAdmin(opts.adminToken, request);
      const id = Number(request.params.id);
      await getSubscription(pool, id);
      const deliveries = await listDeliveries(pool, { subscription: id, ...request.query });
      return { deliveries: deliveries.map(deliveryJson) };
    },
  );
}
