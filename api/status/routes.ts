// The status page (issue #10), served by the read API's fastify server: /status lists every source with
// its health and latest revisions; /status/sources/:source shows one source's revision history, its recent
// runs (each linked into the Temporal Web UI) and a chart of a chosen series across revisions.
//
// No build step: the templates are Eta files read at run time (api/status/views, HTML-escaped by Eta),
// Chart.js is its UMD file served from node_modules, and the page's own script is plain JS. Everything is
// read through the query layer (activities/store/read.ts, status.ts), so the page shows what the tedi_read
// contract says. The routes are a fastify plugin of their own (encapsulated): the view renderer and the
// HTML error pages stay here and the JSON API keeps its JSON errors.
import fastifyView from '@fastify/view';
import { Eta } from 'eta';
import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import type { Pool } from 'pg';
import { listRevisions, listSeries, listSources, ReadError, resolveVersion } from '../../activities/store/read';
import { listRuns, revisionRuns, seriesVintages } from '../../activities/store/status';
import { projectPath } from '../../lib/paths';
import { registerAssets } from './assets';
import {
  chartJson,
  iso,
  overviewRow,
  revisionLines,
  runLines,
  sourcePageUrl,
  sourceRunsUrl,
  type TemporalUi,
} from './view-model';

export interface StatusPageOptions {
  pool: Pool;
  /** Base URL of the Temporal Web UI the run links point into; default http://localhost:8233. */
  temporalUiUrl?: string;
  /** The namespace TEDI's workflows run in; default `default`. */
  temporalNamespace?: string;
}

/** The Eta templates (read from the sources' folder, also when running from dist/). */
const STATUS_VIEWS = projectPath('api', 'status', 'views');
/** Series listed in the picker at once; a prefix narrows a longer list. */
const PICKER_SERIES = 500;
/** Runs shown on a source page. */
const RECENT_RUNS = 20;
/** Revisions drawn in the chart: the latest ones. */
const CHART_VINTAGES = 12;

/** One query parameter as text (the first when repeated); empty means not given. */
function param(query: unknown, name: string): string | undefined {
  const value = (query as Record<string, unknown> | undefined)?.[name];
  const first = Array.isArray(value) ? value[0] : value;
  return typeof first === 'string' && first.trim() !== '' ? first : undefined;
}

function errorPage(reply: FastifyReply, status: number, heading: string, message: string) {
  return reply.code(status).type('text/html; charset=utf-8').view('error.eta', { title: heading, heading, message });
}

export async function statusPage(app: FastifyInstance, opts: StatusPageOptions): Promise<void> {
  const { pool } = opts;
  const ui: TemporalUi = {
    url: opts.temporalUiUrl ?? 'http://localhost:8233',
    namespace: opts.temporalNamespace ?? 'default',
  };

  await app.register(fastifyView, {
    engine: { eta: new Eta({ views: STATUS_VIEWS, cache: true }) },
    templates: STATUS_VIEWS,
  });
  registerAssets(app);

  // Bad input read by the query layer (unknown source or version) is a page saying so; anything else goes
  // to the server's own handler (logged, JSON 500).
  app.setErrorHandler((err: FastifyError, request, reply) => {
    if (err instanceof ReadError) {
      // A source in the path that is not a catalog name cannot exist either: a 404 naming it, like an
      // unknown one (whose message already names it and lists the sources).
      const source = (request.params as { source?: string } | undefined)?.source;
      if (err.parameter === 'source' && err.code === 'invalid') {
        return errorPage(reply, 404, 'Not found', `source: no source named "${source}": ${err.detail}`);
      }
      const notFound = err.code === 'unknown_source' || err.code === 'unknown_version';
      return errorPage(reply, notFound ? 404 : 400, notFound ? 'Not found' : 'Bad request', err.message);
    }
    throw err;
  });

  app.get('/status', { schema: { hide: true } }, async (_request, reply) => {
    const sources = await listSources(pool);
    const rows = await Promise.all(
      sources.map(async (s) =>
        overviewRow(s, s.version && s.currentRevision > 0 ? await listRevisions(pool, s.source, s.version) : []),
      ),
    );
    return reply.type('text/html; charset=utf-8').view('overview.eta', {
      title: 'TEDI status',
      rows,
      now: iso(new Date()),
      webUi: ui.url,
    });
  });

  app.get<{ Params: { source: string } }>(
    '/status/sources/:source',
    { schema: { hide: true } },
    async (request, reply) => {
      const version = param(request.query, 'version') ?? 'current';
      const v = await resolveVersion(pool, request.params.source, version);
      const [sources, revisions, runsByRevision, runs] = await Promise.all([
        listSources(pool),
        listRevisions(pool, v.source, v.version),
        revisionRuns(pool, v.source, v.version),
        listRuns(pool, v.source, v.version, RECENT_RUNS),
      ]);
      const info = sources.find((s) => s.source === v.source && s.version === v.version)!;
      const prefix = param(request.query, 'prefix');
      const seriesKey = param(request.query, 'series');
      const picker = await listSeries(pool, { source: v.source, version: v.version, prefix, limit: PICKER_SERIES });
      const vintages = seriesKey
        ? await seriesVintages(pool, v.source, v.version, seriesKey, CHART_VINTAGES)
        : undefined;
      return reply.type('text/html; charset=utf-8').view('source.eta', {
        title: `${v.source} · TEDI status`,
        info,
        version: v.version,
        lastSuccess: iso(info.lastSuccessAt),
        lastChecked: iso(info.lastCheckedAt),
        nextCheck: iso(info.nextCheckAt),
        dueBy: iso(info.dueBy),
        breakerOpenedAt: iso(info.breakerOpenedAt),
        revisions: revisionLines(ui, revisions, runsByRevision),
        runs: runLines(ui, runs),
        allRunsHref: sourceRunsUrl(ui, v.source),
        formAction: `/status/sources/${encodeURIComponent(v.source)}`,
        pickerVersion: v.version === 'current' ? null : v.version,
        prefix: prefix ?? '',
        series: picker.rows.map((s) => s.seriesKey),
        moreSeries: picker.next !== null,
        pickerLimit: PICKER_SERIES,
        seriesKey: seriesKey ?? null,
        vintages: vintages && vintages.periods.length > 0 ? vintages : null,
        vintageDates: vintages?.vintages.map((x) => iso(x.createdAt)) ?? [],
        chartJson: vintages && vintages.periods.length > 0 ? chartJson(vintages) : null,
        chartVintages: CHART_VINTAGES,
        overviewHref: '/status',
        selfHref: sourcePageUrl(v.source, v.version),
      });
    },
  );
}
