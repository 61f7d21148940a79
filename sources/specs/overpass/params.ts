// Params of the Overpass connector: an area as a bounding box, cut into tiles so that no single query
// asks one server for a whole country, and the feature selectors queried in every tile.
import { z } from 'zod';
import { boundedInt, codeListOr, sourceParams } from '../../kit/params';

export interface BoundingBox {
  south: number;
  west: number;
  north: number;
  east: number;
}

/** Benin, rounded outwards to two decimals. */
export const BENIN_BBOX: BoundingBox = { south: 6.14, west: 0.77, north: 12.42, east: 3.86 };

export const DEFAULT_SELECTORS = [
  'way["building"]',
  'way["highway"~"^(trunk|primary|secondary)$"]',
  'node["amenity"~"^(school|hospital|clinic)$"]',
];

export const DEFAULT_OVERPASS_PARAMS = {
  bbox: BENIN_BBOX,
  tileSize: 0.5,
  selectors: DEFAULT_SELECTORS,
  // Below the default client timeout (DataSourceConfig.timeoutMs, 60 s) and the 2-minute heartbeat timeout:
  // the server then gives up first and says so in a `remark`, instead of the client hanging up blind.
  timeoutSeconds: 50,
};

/** Upper bound on tiles per run; more is almost surely a tileSize typo (0.005 for 0.5). */
export const MAX_TILES = 5000;

/**
 * `node[...]` or `way[...]` followed only by tag filters: the connector adds the bbox and `out geom`.
 * Relations are left out on purpose: their geometry comes per member and would need assembling into
 * multipolygons, which this connector does not do. The first filter's key (`["building"]`, `[building]`,
 * `["highway"~"..."]` → building / highway) is captured: quoted (2) or not (3).
 */
const SELECTOR = /^(node|way)\[\s*(?:"([^"[\];]+)"|([^\s"=!~[\];]+))[^[\];]*\](?:\[[^[\];]+\])*$/;

export interface Selector {
  /** As written in the params. */
  ql: string;
  type: 'node' | 'way';
  /** The tag key the selector filters on first; it names the feature kind ("building", "highway"). */
  key: string;
}

export function parseSelector(ql: string): Selector | undefined {
  const match = SELECTOR.exec(ql.trim());
  if (!match) return undefined;
  return { ql: ql.trim(), type: match[1] as Selector['type'], key: match[2] ?? match[3] ?? '' };
}

const SELECTOR_LIST = {
  of: 'Overpass selectors',
  example: 'way[building]',
  pattern: SELECTOR,
  hint: `an entry that is not node[...] or way[...] followed by tag filters cannot be queried, e.g. 'way["building"]' (relations are not supported)`,
  entry: 'one',
};

const latitude = (name: string) =>
  z
    .number({ error: `bbox.${name} must be a latitude in degrees, e.g. 6.14` })
    .min(-90, `bbox.${name} must be between -90 and 90`)
    .max(90, `bbox.${name} must be between -90 and 90`);
const longitude = (name: string) =>
  z
    .number({ error: `bbox.${name} must be a longitude in degrees, e.g. 0.77` })
    .min(-180, `bbox.${name} must be between -180 and 180`)
    .max(180, `bbox.${name} must be between -180 and 180`);

const BboxSchema = z
  .strictObject(
    { south: latitude('south'), west: longitude('west'), north: latitude('north'), east: longitude('east') },
    {
      error:
        'bbox must be an object {south, west, north, east} in degrees, e.g. Benin: {"south":6.14,"west":0.77,"north":12.42,"east":3.86}',
    },
  )
  .refine((b) => b.south < b.north, { error: 'bbox.south must be less than bbox.north', path: ['south'] })
  // A box across the antimeridian would need two queries; no African country needs one.
  .refine((b) => b.west < b.east, {
    error: 'bbox.west must be less than bbox.east (boxes across the antimeridian are not supported)',
    path: ['west'],
  });

export const OverpassParamsSchema = sourceParams('Overpass', '{"tileSize":0.5}', {
  bbox: BboxSchema.default(BENIN_BBOX),
  tileSize: z
    .number({ error: 'tileSize must be a number of degrees, e.g. 0.5' })
    .positive('tileSize must be more than 0 degrees (default 0.5)')
    .max(10, 'tileSize must be at most 10 degrees (default 0.5): Overpass answers big areas slowly or not at all')
    .default(DEFAULT_OVERPASS_PARAMS.tileSize),
  // The pattern admits exactly what parseSelector reads.
  selectors: codeListOr('selectors', SELECTOR_LIST, DEFAULT_SELECTORS).transform((list) =>
    list.map((ql) => parseSelector(ql) as Selector),
  ),
  timeoutSeconds: boundedInt('timeoutSeconds', 1, 3600, DEFAULT_OVERPASS_PARAMS.timeoutSeconds),
}).refine((p) => tileGrid(p.bbox, p.tileSize).count <= MAX_TILES, {
  error: `tileSize is too small for this bbox: more than ${MAX_TILES} tiles; use a larger tileSize`,
  path: ['tileSize'],
});
export type OverpassParams = z.output<typeof OverpassParamsSchema>;

/** Rows and columns of tiles over a bbox; a last, narrower row or column covers what is left. */
export function tileGrid(bbox: BoundingBox, size: number): { rows: number; cols: number; count: number } {
  // The epsilon keeps 6.0 / 0.5 from becoming 12.000000001 and so a sliver of a 13th row.
  const rows = Math.max(1, Math.ceil((bbox.north - bbox.south) / size - 1e-9));
  const cols = Math.max(1, Math.ceil((bbox.east - bbox.west) / size - 1e-9));
  return { rows, cols, count: rows * cols };
}

/** Degrees with 7 decimals (OSM's own precision), so tile edges print without float noise. */
const round7 = (x: number) => Math.round(x * 1e7) / 1e7;

/** The tiles covering `bbox`, south to north, then west to east; neighbours share their edge. */
export function tiles(bbox: BoundingBox, size: number): BoundingBox[] {
  const { rows, cols } = tileGrid(bbox, size);
  const out: BoundingBox[] = [];
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      out.push({
        south: round7(bbox.south + r * size),
        west: round7(bbox.west + c * size),
        north: r === rows - 1 ? bbox.north : round7(bbox.south + (r + 1) * size),
        east: c === cols - 1 ? bbox.east : round7(bbox.west + (c + 1) * size),
      });
    }
  }
  return out;
}
