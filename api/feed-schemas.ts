// The zod schemas of the change feed's routes (/v1/events, /v1/subscriptions): they validate the requests
// and are the OpenAPI document, like api/schemas.ts for the read routes.
import { z } from 'zod';

const eventId = z
  .string()
  .regex(/^\d{1,18}$/, 'must be an event id (a whole number), e.g. 42; 0 = from the first event')
  .describe('the id of the last event already seen');

export const EventsQuery = z
  .object({
    after: eventId.optional(),
    source: z
      .union([z.string(), z.array(z.string())])
      .optional()
      .describe('only events of this source (repeat for several)'),
    limit: z.coerce
      .number({ error: 'must be a whole number from 1 to 1000, e.g. 100' })
      .int('must be a whole number from 1 to 1000, e.g. 100')
      .min(1, 'must be a whole number from 1 to 1000, e.g. 100')
      .max(1000, 'is above the cap of 1000: page with `after` = the last id you received')
      .optional()
      .describe('events per page (JSON only; default 100)'),
  })
  .strict();

export const RevisionCreated = z
  .object({
    source: z.string(),
    dataset: z.string(),
    version: z.string(),
    revision: z.number().int(),
    previousRevision: z.number().int().nullable(),
    committedAt: z.string(),
    counts: z.object({
      records: z.number().int(),
      added: z.number().int(),
      updated: z.number().int(),
      removed: z.number().int(),
      kept: z.number().int(),
    }),
    checksum: z.string(),
    releaseToken: z.string().nullable(),
    acceptedOverride: z.string().nullable(),
    links: z.object({ revision: z.string(), observations: z.string(), diff: z.string() }),
  })
  .meta({ id: 'RevisionCreated' });

export const ChangeEvent = z
  .object({
    id: z.string().describe('event id: increasing in commit order'),
    type: z.literal('revision.created'),
    createdAt: z.string(),
    data: RevisionCreated,
  })
  .meta({ id: 'ChangeEvent' });

export const EventsResponse = z.object({
  events: z.array(ChangeEvent),
  next: z.string().describe('pass as `after` to read on (the last id of this page, or `after` itself)'),
});

export const SubscriptionBody = z
  .object({
    url: z.string().describe('where events are POSTed (http or https)'),
    name: z.string().optional().describe('a name for it (default: the URL’s host)'),
    sources: z.array(z.string()).optional().describe('catalog names of the sources to follow (default: all)'),
  })
  .strict();

export const Subscription = z
  .object({
    id: z.number().int(),
    name: z.string(),
    url: z.string(),
    sources: z.array(z.string()),
    active: z.boolean(),
    disabledReason: z.string().nullable(),
    createdAt: z.string(),
    deliveries: z.object({ delivered: z.number().int(), pending: z.number().int(), failed: z.number().int() }),
    lastDeliveredAt: z.string().nullable(),
  })
  .meta({ id: 'Subscription' });

export const CreatedSubscription = z.object({
  subscription: Subscription,
  secret: z.string().describe('the signing secret: shown this once, keep it to verify Tedi-Signature'),
});

export const SubscriptionsResponse = z.object({ subscriptions: z.array(Subscription) });

export const SubscriptionParams = z.object({
  id: z.string().regex(/^\d+$/, 'must be a subscription id, e.g. 1').describe('subscription id'),
});

export const DeliveriesQuery = z
  .object({
    status: z.enum(['pending', 'delivered', 'failed']).optional(),
    limit: z.coerce.number().int().min(1).max(500).optional().describe('newest first, default 50'),
  })
  .strict();

export const Delivery = z
  .object({
    id: z.string(),
    subscription: z.string(),
    eventId: z.string(),
    source: z.string(),
    revision: z.number().int(),
    status: z.enum(['pending', 'delivered', 'failed']),
    attempts: z.number().int(),
    lastAttemptAt: z.string().nullable(),
    deliveredAt: z.string().nullable(),
    lastHttpStatus: z.number().int().nullable(),
    lastError: z.string().nullable(),
    log: z.array(
      z.object({
        attempt: z.number().int(),
        startedAt: z.string(),
        durationMs: z.number().int(),
        httpStatus: z.number().int().nullable(),
        outcome: z.string(),
        error: z.string().nullable(),
      }),
    ),
  })
  .meta({ id: 'Delivery' });

export const DeliveriesResponse = z.object({ deliveries: z.array(Delivery) });
