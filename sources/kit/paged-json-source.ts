// A REST source whose snapshot is a set of queries, each read page by page as JSON (World Bank style):
// the spec says how to build a page's URL and how to read one page; the kit walks the queries and pages
// with the paging checks (paging.ts), heartbeats each page, and probes every query's version stamp from a
// one-record first page, joined into one sorted token (probe.ts).

import type { z } from 'zod';
import { defineSource, eachPartition, type RecordRule } from './define-source';
import { type NumberedPage, pageNumbered } from './paging';
import { joinedToken, latestStamp } from './probe';
import type { Connector, SnapshotRules, SourceContext } from './types';

/** What a numbered page says about itself. */
export interface PageMeta {
  page: number;
  pages: number;
  total: number;
}

export interface PagedJsonSpec<P, Q, R, M extends PageMeta> {
  name: string;
  params: z.ZodType<P>;
  /** The queries one snapshot is made of, e.g. one per indicator (see partitions.ts). */
  queries(params: P): Q[];
  /** Names a query in messages, e.g. "World Bank indicator X (countries BJ)". */
  describe(query: Q): string;
  /** What identifies a query in heartbeats and in the probe token, e.g. { indicator: "X" }. */
  key(query: Q): Record<string, string>;
  url(ctx: SourceContext<P>, query: Q, page: number, pageSize: number): string;
  pageSize(params: P): number;
  /** Reads one parsed body: what the page says about itself (page, pages, total) and its records. Throws typed failures. */
  readPage(body: unknown, query: Q): { meta: M; records: unknown[] };
  /** The source's version stamp on each page (e.g. World Bank `lastupdated`): its name and where it is. */
  stamp: { name: string; of(meta: M): string | null };
  /** See Connector.cheapProbe: the probe reads one one-record page per query. */
  cheapProbe?: boolean;
  record: RecordRule<P, R>;
  snapshot?: SnapshotRules<P>;
}

export function pagedJsonSource<P, Q, R, M extends PageMeta>(spec: PagedJsonSpec<P, Q, R, M>): Connector<P, unknown> {
  const read = async (ctx: SourceContext<P>, query: Q, n: number, size: number): Promise<NumberedPage> => {
    const { meta, records } = spec.readPage(await ctx.http.getJson(spec.url(ctx, query, n, size)), query);
    return { page: meta.page, pages: meta.pages, total: meta.total, version: spec.stamp.of(meta), records };
  };
  const tokenKey = (query: Q) => Object.values(spec.key(query)).join('/');
  return defineSource({
    name: spec.name,
    params: spec.params,
    cheapProbe: spec.cheapProbe,
    async probe(ctx) {
      // One query at a time: a failure stops the probe there, with no requests left running behind it.
      const stamps: Array<readonly [string, string | null]> = [];
      for (const q of spec.queries(ctx.params)) stamps.push([tokenKey(q), (await read(ctx, q, 1, 1)).version ?? null]);
      const latest = latestStamp(stamps.map(([, stamp]) => stamp));
      const note = latest ? `${spec.stamp.name} ${latest}` : `no ${spec.stamp.name} (empty result)`;
      return { token: joinedToken(stamps), note };
    },
    fetch: eachPartition(spec.queries, (ctx, query) =>
      pageNumbered({
        describe: spec.describe(query),
        page: (n) => read(ctx, query, n, spec.pageSize(ctx.params)),
        onPage: (at) => ctx.heartbeat({ ...spec.key(query), ...at }),
        resume: ctx.resume?.paging,
        // The partition walker (eachPartition) puts its own partition number on the point.
        checkpoint: ctx.checkpoint && ((paging) => ctx.checkpoint!({ partitions: 0, paging })),
      }),
    ),
    record: spec.record,
    snapshot: spec.snapshot,
  });
}
