// OpenStreetMap features through the Overpass API: `POST {base}/interpreter` with form field `data`.
// Format facts this module relies on (drolbr/Overpass-API output_formats.html, output_json.cc):
//  - `[out:json]` must be asked for (XML is the default);
//  - the body is {version, generator, osm3s:{timestamp_osm_base,...}, elements:[...], remark?}, written in
//    that order: osm3s comes before the elements, a `remark` after them;
//  - a `remark` in a 200 means the server stopped early (timeout, out of memory): the elements are partial;
//  - `out geom` adds `geometry:[{lat,lon}]` (and `bounds`) to ways; nodes carry lat/lon; tags are strings;
//  - 429 (rate limited, with Retry-After) and 504 (server busy) come with HTML bodies, handled by HttpClient.
// There is no paging: results are bounded by [timeout:]/[maxsize:], so a country is queried tile by tile.
import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import { FailureType } from '../../../lib/failures';
import { defineSource, eachPartition } from '../../kit/define-source';
import { arrayRecords } from '../../kit/json-stream';
import { recordLabel } from '../../kit/records';
import { payloadOf } from '../../kit/refusals';
import { seriesIdentity } from '../../kit/series-key';
import type { Connector, ObservationRow, ProbeResult, SourceContext } from '../../kit/types';
import { type BoundingBox, type OverpassParams, OverpassParamsSchema, type Selector, tiles } from './params';

// ---------------------------------------------------------------------------------------------------
// Queries

const bboxText = (b: BoundingBox) => `${b.south},${b.west},${b.north},${b.east}`;

/** One tile: every selector within the tile (the global [bbox:] setting), with full geometry. */
export function tileQuery(params: OverpassParams, tile: BoundingBox): string {
  const union = params.selectors.map((s) => `${s.ql};`).join('\n');
  return `[out:json][timeout:${params.timeoutSeconds}][bbox:${bboxText(tile)}];\n(\n${union}\n);\nout geom;`;
}

/** The cheapest query there is (an empty box): the answer's header still carries the database timestamp. */
export const PROBE_QUERY = '[out:json][timeout:25];node(0,0,0,0);out;';

function interpreter(ctx: SourceContext<OverpassParams>, query: string): Promise<Response> {
  return ctx.http.request(`${ctx.baseUrl}/interpreter`, {
    method: 'POST',
    body: new URLSearchParams({ data: query }),
    // A read-only query sent as a form (Overpass QL is too long for a GET): safe to send again.
    idempotent: true,
  });
}

// ---------------------------------------------------------------------------------------------------
// Response envelope

const EnvelopeSchema = z.object({
  osm3s: z.object(
    {
      // "All edits uploaded before this date are included"; also the probe's change signal.
      timestamp_osm_base: z
        .string()
        .regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/, 'expected a timestamp like 2024-05-30T12:00:00Z'),
    },
    { error: (issue) => (issue.input === undefined ? 'no osm3s header before the elements' : undefined) },
  ),
});

/** Members kept around the streamed elements. */
const ENVELOPE_KEYS = new Set(['osm3s', 'remark']);
type Envelope = { osm3s?: unknown; remark?: unknown };

const readOsm3s = (envelope: Envelope, label: string) =>
  payloadOf(EnvelopeSchema, envelope, `${label}: not an Overpass JSON body`).osm3s;

/** A `remark` means the server stopped early: what came before it is only part of the answer. */
function failOnRemark(envelope: Envelope, label: string, elements: number): void {
  if (envelope.remark === undefined) return;
  throw ApplicationFailure.retryable(
    `${label}: Overpass returned a partial result (${elements} elements, then remark ${JSON.stringify(envelope.remark)}); ` +
      'retrying. If it keeps timing out, use a smaller tileSize or a larger timeoutSeconds.',
    FailureType.PartialResult,
  );
}

// ---------------------------------------------------------------------------------------------------
// Raw records: one element, slimmed to what the observation keeps

/** Tags kept besides the selectors' own keys: what identifies and sizes a feature. */
const KEPT_TAG = /^(?:name|addr:.+|building:levels|levels|area)$/;

export interface OverpassRecord {
  /** Month of the run's osm3s.timestamp_osm_base, "2024-05": the observation's period. */
  snapshot: string;
  kind: string;
  type: unknown;
  id: unknown;
  tags?: Record<string, unknown>;
  /** Ways: [lon, lat] pairs (GeoJSON order). */
  geometry?: unknown[];
  lat?: unknown;
  lon?: unknown;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Keeps type, id, the tags that matter and the geometry; nothing is validated here (transform does that,
 * so one odd element is one rejected row, not a failed run).
 */
export function slimElement(element: unknown, selectors: readonly Selector[], snapshot: string): OverpassRecord {
  const el = isObject(element) ? element : {};
  const tags = isObject(el.tags) ? el.tags : {};
  const keys = new Set(selectors.map((s) => s.key));
  const kept = Object.fromEntries(Object.entries(tags).filter(([k]) => keys.has(k) || KEPT_TAG.test(k)));
  // The first selector that matches names the kind, so a school that is also a building is a "building".
  const kind = selectors.find((s) => s.type === el.type && Object.hasOwn(tags, s.key))?.key ?? String(el.type);
  const record: OverpassRecord = { snapshot, kind, type: el.type, id: el.id, tags: kept };
  if (Array.isArray(el.geometry)) {
    record.geometry = el.geometry.map((p: unknown) => (isObject(p) ? [p.lon, p.lat] : p));
  }
  if (el.lat !== undefined || el.lon !== undefined) {
    record.lat = el.lat;
    record.lon = el.lon;
  }
  return record;
}

// ---------------------------------------------------------------------------------------------------
// Probe and fetch

async function probe(ctx: SourceContext<OverpassParams>): Promise<ProbeResult> {
  const label = `${ctx.sourceName} probe`;
  const body = await ctx.http.getJson(`${ctx.baseUrl}/interpreter`, {
    method: 'POST',
    body: new URLSearchParams({ data: PROBE_QUERY }),
    idempotent: true,
  });
  const envelope: Envelope = isObject(body) ? body : {};
  failOnRemark(envelope, label, 0);
  const { timestamp_osm_base } = readOsm3s(envelope, label);
  return { token: timestamp_osm_base, note: `timestamp_osm_base ${timestamp_osm_base}` };
}

/** One partition of a run: a tile of the params' bbox, numbered for messages and heartbeats. */
interface Tile {
  box: BoundingBox;
  number: number;
  of: number;
}

const tilesOf = (p: OverpassParams): Tile[] =>
  tiles(p.bbox, p.tileSize).map((box, i, grid) => ({ box, number: i + 1, of: grid.length }));

/** What one fetch carries from tile to tile. */
interface Run {
  /**
   * Ids already yielded, per element type (node 1 and way 1 are different elements). An element crossing a
   * tile edge comes back from both tiles; the load would keep one row anyway, but the counts would lie.
   */
  seen: { node: Set<number>; way: Set<number> };
  /** The whole run is one snapshot: tiles read over minutes may straddle a month's end. */
  snapshot: string | undefined;
  elements: number;
  duplicates: number;
}

async function* fetchTile(ctx: SourceContext<OverpassParams>, tile: Tile, run: Run): AsyncGenerator<OverpassRecord> {
  const label = `${ctx.sourceName} tile ${tile.number}/${tile.of} (${bboxText(tile.box)})`;
  const res = await interpreter(ctx, tileQuery(ctx.params, tile.box));
  const envelope: Envelope = {};
  const elements = arrayRecords(ctx.http.stream(res), {
    at: ['elements'],
    where: label,
    numbers: 'number',
    keep: (key) => ENVELOPE_KEYS.has(key),
    members: envelope,
    required: true,
  });
  let inTile = 0;
  for await (const element of elements) {
    run.snapshot ??= readOsm3s(envelope, label).timestamp_osm_base.slice(0, 7);
    inTile++;
    const el = isObject(element) ? element : {};
    const ids = el.type === 'node' || el.type === 'way' ? run.seen[el.type] : undefined;
    if (ids && typeof el.id === 'number') {
      if (ids.has(el.id)) {
        run.duplicates++;
        continue;
      }
      ids.add(el.id);
    }
    run.elements++;
    yield slimElement(element, ctx.params.selectors, run.snapshot);
  }
  // The remark comes after the elements: they are staged already, and this failure discards them
  // (a retried fetch replaces the staging from its last checkpoint, the end of the previous tile), so a
  // partial answer is never loaded.
  failOnRemark(envelope, label, inTile);
  readOsm3s(envelope, label);
  ctx.heartbeat({ tile: tile.number, tiles: tile.of, elements: run.elements });
}

async function* fetchTiles(ctx: SourceContext<OverpassParams>): AsyncGenerator<unknown> {
  const run: Run = { seen: { node: new Set(), way: new Set() }, snapshot: undefined, elements: 0, duplicates: 0 };
  yield* eachPartition(tilesOf, (c, tile: Tile) => fetchTile(c, tile, run))(ctx);
  ctx.log(run.elements === 0 ? 'Overpass returned no elements' : 'Overpass tiles fetched', {
    tiles: tilesOf(ctx.params).length,
    elements: run.elements,
    duplicates: run.duplicates,
  });
}

// ---------------------------------------------------------------------------------------------------
// Transform

const Lon = z.number().min(-180).max(180);
const Lat = z.number().min(-90).max(90);

const RecordSchema = z
  .object({
    snapshot: z.string().regex(/^\d{4}-\d{2}$/, 'expected the snapshot month, YYYY-MM'),
    kind: z.string().min(1),
    type: z.enum(['node', 'way']),
    id: z.number().int().positive(),
    tags: z.record(z.string(), z.string()).default({}),
    geometry: z.array(z.tuple([Lon, Lat], { error: 'expected a {lat, lon} point' })).optional(),
    lat: Lat.optional(),
    lon: Lon.optional(),
  })
  .superRefine((r, ctx) => {
    if (r.type === 'node' && (r.lat === undefined || r.lon === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['lat'], message: 'a node needs lat and lon' });
    }
    if (r.type === 'way' && (r.geometry?.length ?? 0) < 2) {
      ctx.addIssue({
        code: 'custom',
        path: ['geometry'],
        message: 'a way needs at least 2 points (query with out geom)',
      });
    }
  });
type ValidRecord = z.output<typeof RecordSchema>;

type Geometry =
  | { type: 'Point'; coordinates: [number, number] }
  | { type: 'LineString'; coordinates: [number, number][] }
  | { type: 'Polygon'; coordinates: [number, number][][] };

/** GeoJSON: nodes are Points; closed ways are Polygons, except loop roads (roundabouts) unless area=yes. */
export function toGeometry(r: ValidRecord): Geometry {
  if (r.type === 'node') return { type: 'Point', coordinates: [r.lon!, r.lat!] };
  const line = r.geometry!;
  const first = line[0]!;
  const last = line[line.length - 1]!;
  const closed = line.length >= 4 && first[0] === last[0] && first[1] === last[1];
  const area = closed && (r.kind !== 'highway' || r.tags.area === 'yes');
  return area ? { type: 'Polygon', coordinates: [line] } : { type: 'LineString', coordinates: line };
}

/** The single period of OpenStreetMap features (see featureRows). */
export const OSM_PERIOD = 'current';

/** A feature's one observation: its kind, kept tags and geometry. */
function featureRows(r: ValidRecord): ObservationRow[] {
  // Destructured, not spread into the row, and attributes as a literal (not compactAttributes, whose only
  // work here would be to leave out empty tags): each would cost a large share of this per-feature step.
  const { seriesKey, dimensions } = seriesIdentity({ element: `${r.type}/${r.id}` }, ['osm']);
  const hasTags = Object.keys(r.tags).length > 0;
  return [
    {
      seriesKey,
      dimensions,
      // A feature is not a time series: one period, so a feature that did not change between two monthly
      // snapshots keeps its row (only edits, new and deleted features make the next revision). When the
      // data was current is the revision's business: its probe token is the snapshot's timestamp_osm_base.
      period: OSM_PERIOD,
      value: null,
      unit: null,
      attributes: { kind: r.kind, ...(hasTags ? { tags: r.tags } : {}), geometry: toGeometry(r) },
    },
  ];
}

const overpassSource = defineSource({
  name: 'osm_overpass',
  params: OverpassParamsSchema,
  probe,
  fetch: fetchTiles,
  record: {
    schema: RecordSchema,
    label: (raw) => `Overpass element ${recordLabel(raw, ['type', 'id'], { join: '/' })}`,
    rows: featureRows,
  },
  snapshot: {
    // A fetch resumed after tile k has not seen the ids of tiles 1..k: an element on their common edge may be
    // staged twice. Its two rows are identical when the server's answers are; a difference still fails.
    duplicateKeys: 'collapse-identical',
  },
});

/** The connector; its fetch yields OverpassRecords (the tests read them). */
export const overpassConnector = overpassSource as Connector<OverpassParams, OverpassRecord>;

const ANY_PARAMS = OverpassParamsSchema.parse({});
/** One raw record's observations (transform reads no params). */
export const transformOverpassRecord = (raw: unknown) => overpassConnector.transform(raw, ANY_PARAMS);
