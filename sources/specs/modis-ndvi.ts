// Satellite NDVI from the ORNL DAAC MODIS/VIIRS Land Product Subsets REST API (keyless):
//   GET {base}/{product}/dates?latitude=&longitude=   → {"dates":[{modis_date:"A2024353", calendar_date}]}
//   GET {base}/{product}/subset?latitude=&longitude=&band=&startDate=&endDate=&kmAboveBelow=&kmLeftRight=
//     → {nrows, ncols, scale:"0.0001", subset:[{modis_date, calendar_date, band, tile, proc_date, data:[ints]}]}
// The API serves pixel windows around points, one composite (16 days for MOD13Q1) at a time and at most 10
// composites per call. A monthly mean per area is not something it offers, so fetch computes it: for each
// area, every window of every point, every composite starting in the month, all valid pixels pooled. That
// is an aggregation of a bounded number of small responses (months × points × window), so it happens here
// and fetch yields one small record per (area, month); transform only validates and maps it.
import { z } from 'zod';
import { invalidPayload } from '../../lib/failures';
import { canonicalDecimal, decimalValue } from '../kit/decimal';
import { defineSource, eachPartition } from '../kit/define-source';
import { wholeCount } from '../kit/paging';
import { boundedInt, noDuplicates, sourceParams } from '../kit/params';
import { joinedToken, latestStamp } from '../kit/probe';
import { compactAttributes, recordLabel } from '../kit/records';
import { payloadOf } from '../kit/refusals';
import { seriesIdentity } from '../kit/series-key';
import type { ObservationRow, ProbeResult, SourceContext } from '../kit/types';

// ---------------------------------------------------------------------------------------------------
// Params

/** The API refuses more composites per subset call (ORNL tutorials and clients chunk by 10). */
export const MAX_DATES_PER_CALL = 10;
/** Decimals of a monthly mean: NDVI's scale is 0.0001, two more digits keep the mean from being rounded coarsely. */
const MEAN_DECIMALS = 6;

// Six sample points across Benin's three agro-ecological bands (coast and plateau, centre, north).
const BENIN_AREAS = [
  {
    name: 'benin_south',
    points: [
      { lat: 7.18, lon: 1.99 }, // Abomey
      { lat: 6.98, lon: 2.66 }, // Pobè
    ],
  },
  {
    name: 'benin_centre',
    points: [
      { lat: 8.03, lon: 2.49 }, // Savè
      { lat: 9.34, lon: 2.63 }, // Parakou
    ],
  },
  {
    name: 'benin_north',
    points: [
      { lat: 10.3, lon: 1.38 }, // Natitingou
      { lat: 11.13, lon: 2.94 }, // Kandi
    ],
  },
];

/** The pixel window around a point, in kilometres each way: 0 is the point's pixel only; 100 is the API's limit. */
const Km = (name: string) => boundedInt(name, 0, 100, 1, { unit: 'km' });

const PointSchema = z.strictObject(
  {
    lat: z.number({ error: 'lat must be a number' }).min(-90).max(90),
    lon: z.number({ error: 'lon must be a number' }).min(-180).max(180),
  },
  { error: 'a point is {"lat": 9.3, "lon": 2.6}' },
);

const AreaSchema = z.strictObject(
  {
    name: z
      .string({ error: 'an area needs a name' })
      .regex(
        /^[A-Za-z0-9][A-Za-z0-9_.-]*$/,
        'an area name is letters, digits, "_", "-" or "." (it is in the series key)',
      ),
    points: z.array(PointSchema, { error: 'points must be a list of {lat, lon}' }).min(1, 'an area needs a point'),
  },
  { error: 'an area is {"name": "benin_north", "points": [{"lat": 10.3, "lon": 1.38}]}' },
);

export const ModisNdviParamsSchema = sourceParams(
  'MODIS NDVI',
  '{"areas":[{"name":"benin_north","points":[{"lat":10.3,"lon":1.38}]}]}',
  {
    product: z
      .string({ error: 'product must be a string such as "MOD13Q1"' })
      .regex(/^[A-Z0-9]+$/, 'product is a MODIS/VIIRS product code such as "MOD13Q1"')
      .default('MOD13Q1'),
    band: z
      .string({ error: 'band must be a string such as "250m_16_days_NDVI"' })
      .regex(/^\w+$/, 'band is a band name such as "250m_16_days_NDVI"')
      .default('250m_16_days_NDVI'),
    areas: z
      .array(AreaSchema, { error: 'areas must be a list of {name, points}' })
      .min(1, 'areas is empty: list at least one {name, points}')
      .refine(
        (areas) => noDuplicates(areas.map((a) => a.name)),
        'two areas share a name; names are in the series key and must differ',
      )
      .default(() => structuredClone(BENIN_AREAS)),
    kmAboveBelow: Km('kmAboveBelow'),
    kmLeftRight: Km('kmLeftRight'),
    months: boundedInt('months', 1, 120, 12),
    /** MOD13 NDVI marks missing pixels with -3000; they are left out of the mean. */
    fillValue: z.number({ error: 'fillValue must be a number, e.g. -3000' }).int().default(-3000),
    /** MOD13 NDVI's valid range (before scaling); pixels outside it are left out too. */
    validRange: z
      .tuple([z.number().int(), z.number().int()], { error: 'validRange is [min, max], e.g. [-2000, 10000]' })
      .refine(([min, max]) => min <= max, 'validRange is [min, max] with min <= max')
      .default([-2000, 10000]),
  },
);
export type ModisNdviParams = z.output<typeof ModisNdviParamsSchema>;
type Area = ModisNdviParams['areas'][number];
type Point = Area['points'][number];

// ---------------------------------------------------------------------------------------------------
// Response format

const ModisDate = z.string().regex(/^A\d{7}$/, 'expected a MODIS date such as "A2024353"');
const CalendarDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'expected a YYYY-MM-DD date');

export const DatesSchema = z.object({
  dates: z.array(z.object({ modis_date: ModisDate, calendar_date: CalendarDate })),
});
export type ModisDateEntry = z.output<typeof DatesSchema>['dates'][number];

const Count = wholeCount.refine((n) => n > 0, 'expected a positive whole number');

export const SubsetSchema = z.object({
  nrows: Count,
  ncols: Count,
  // A string in real bodies ("0.0001"); a number tolerated.
  scale: z
    .union([z.string().regex(/^\d+(?:\.\d+)?(?:[eE][-+]?\d+)?$/), z.number()], { error: 'expected a number' })
    .transform(Number)
    .refine((n) => n > 0, 'expected a positive scale factor'),
  subset: z.array(
    z.object({
      modis_date: ModisDate,
      calendar_date: CalendarDate,
      band: z.string(),
      tile: z.string().optional(),
      proc_date: z.string().optional(),
      data: z.array(z.number().int('expected whole-number pixel values')),
    }),
  ),
});
type Subset = z.output<typeof SubsetSchema>;

// ---------------------------------------------------------------------------------------------------
// Requests

type Ctx = SourceContext<ModisNdviParams>;

const JSON_HEADERS = { accept: 'application/json' };
const at = (p: Point) => `latitude=${p.lat}&longitude=${p.lon}`;

async function datesAt(ctx: Ctx, point: Point): Promise<ModisDateEntry[]> {
  const url = `${ctx.baseUrl}/${ctx.params.product}/dates?${at(point)}`;
  return payloadOf(DatesSchema, await ctx.http.getJson(url, { headers: JSON_HEADERS }), `MODIS dates ${url}`).dates;
}

async function subsetAt(ctx: Ctx, point: Point, dates: ModisDateEntry[]): Promise<Subset> {
  const { product, band, kmAboveBelow, kmLeftRight } = ctx.params;
  const query = [
    at(point),
    `band=${encodeURIComponent(band)}`,
    `startDate=${dates[0]!.modis_date}`,
    `endDate=${dates.at(-1)!.modis_date}`,
    `kmAboveBelow=${kmAboveBelow}`,
    `kmLeftRight=${kmLeftRight}`,
  ];
  const url = `${ctx.baseUrl}/${product}/subset?${query.join('&')}`;
  const body = payloadOf(SubsetSchema, await ctx.http.getJson(url, { headers: JSON_HEADERS }), `MODIS subset ${url}`);
  const pixels = body.nrows * body.ncols;
  body.subset.forEach((composite, i) => {
    if (composite.band !== band) {
      throw invalidPayload(`MODIS subset ${url}: subset[${i}].band is "${composite.band}", asked for "${band}"`);
    }
    if (composite.data.length !== pixels) {
      throw invalidPayload(
        `MODIS subset ${url}: subset[${i}].data has ${composite.data.length} values, nrows × ncols is ${pixels}`,
      );
    }
  });
  return body;
}

// ---------------------------------------------------------------------------------------------------
// Aggregation

/** "YYYY-MM" months from `latest`'s month back, `months` of them, oldest first. */
export function monthWindow(latest: string, months: number): string[] {
  const year = Number(latest.slice(0, 4));
  const month = Number(latest.slice(5, 7));
  const out: string[] = [];
  for (let i = months - 1; i >= 0; i--) {
    const index = year * 12 + (month - 1) - i;
    out.push(`${Math.floor(index / 12)}-${String((index % 12) + 1).padStart(2, '0')}`);
  }
  return out;
}

/** The raw record fetch yields: one per area and month. */
export interface NdviMonthRecord {
  area: string;
  month: string;
  /** Mean of the valid pixels, scaled, as a decimal string; null when every pixel was fill or out of range. */
  meanNdvi: string | null;
  pixelCount: number;
  composites: number;
  latestProcDate: string | null;
}

class MonthAccumulator {
  private scaledSum = 0;
  pixelCount = 0;
  readonly composites = new Set<string>();
  latestProcDate: string | null = null;

  add(composite: Subset['subset'][number], scale: number, valid: (v: number) => boolean): void {
    let sum = 0;
    let count = 0;
    for (const v of composite.data) {
      if (!valid(v)) continue;
      sum += v;
      count++;
    }
    // Integer sums are exact; scaling once per composite keeps float error to one rounding each.
    this.scaledSum += sum * scale;
    this.pixelCount += count;
    this.composites.add(composite.modis_date);
    const proc = composite.proc_date ?? null;
    if (proc !== null && (this.latestProcDate === null || proc > this.latestProcDate)) this.latestProcDate = proc;
  }

  mean(): string | null {
    if (this.pixelCount === 0) return null;
    // Rounded to MEAN_DECIMALS on purpose (a mean of scaled integers), then the one canonical spelling.
    return canonicalDecimal((this.scaledSum / this.pixelCount).toFixed(MEAN_DECIMALS));
  }
}

async function* fetchArea(ctx: Ctx, area: Area): AsyncGenerator<NdviMonthRecord> {
  const { fillValue, validRange, months } = ctx.params;
  const [min, max] = validRange;
  const valid = (v: number) => v !== fillValue && v >= min && v <= max;
  // The product's dates are global; the area's first point (the one the probe reads) stands for all of them.
  const dates = await datesAt(ctx, area.points[0]!);
  const latest = dates.reduce<ModisDateEntry | undefined>(
    (a, d) => (a === undefined || d.calendar_date > a.calendar_date ? d : a),
    undefined,
  );
  if (!latest) {
    ctx.log('MODIS NDVI: no composites at all for this area', { area: area.name });
    return;
  }
  const window = new Set(monthWindow(latest.calendar_date, months));
  // A composite counts for the month its period starts in.
  const inWindow = dates
    .filter((d) => window.has(d.calendar_date.slice(0, 7)))
    .sort((a, b) => a.calendar_date.localeCompare(b.calendar_date));
  if (inWindow.length === 0) {
    ctx.log('MODIS NDVI: no composites in the window', { area: area.name, months });
    return;
  }
  const byMonth = new Map<string, MonthAccumulator>();
  for (const [p, point] of area.points.entries()) {
    for (let i = 0; i < inWindow.length; i += MAX_DATES_PER_CALL) {
      const chunk = inWindow.slice(i, i + MAX_DATES_PER_CALL);
      const body = await subsetAt(ctx, point, chunk);
      const asked = new Set(chunk.map((d) => d.modis_date));
      for (const composite of body.subset) {
        // Bounds are inclusive dates, so a composite outside the asked list would be a surprise; skip it.
        if (!asked.has(composite.modis_date)) continue;
        const month = composite.calendar_date.slice(0, 7);
        const acc = byMonth.get(month) ?? new MonthAccumulator();
        byMonth.set(month, acc);
        acc.add(composite, body.scale, valid);
      }
      if (body.subset.length < chunk.length) {
        ctx.log('MODIS NDVI: fewer composites than asked', {
          area: area.name,
          point: p,
          asked: chunk.length,
          got: body.subset.length,
        });
      }
      ctx.heartbeat({ stage: 'fetch', area: area.name, point: p, composites: i + chunk.length });
    }
  }
  for (const month of [...byMonth.keys()].sort()) {
    const acc = byMonth.get(month)!;
    yield {
      area: area.name,
      month,
      meanNdvi: acc.mean(),
      pixelCount: acc.pixelCount,
      composites: acc.composites.size,
      latestProcDate: acc.latestProcDate,
    };
  }
}

// ---------------------------------------------------------------------------------------------------
// Connector

/** Per area, its latest composite and how many there are (a reprocessing adds none, a new one moves both). */
async function probe(ctx: Ctx): Promise<ProbeResult> {
  const stamps: Array<[string, string]> = [];
  const latests: Array<string | null> = [];
  for (const area of ctx.params.areas) {
    const dates = await datesAt(ctx, area.points[0]!);
    // MODIS dates ("A2024353": year and day of year, zero-padded) sort as they run.
    const latest = latestStamp(dates.map((d) => d.modis_date));
    stamps.push([area.name, `${latest ?? 'none'}#${dates.length}`]);
    latests.push(latest);
  }
  const newest = latestStamp(latests);
  return { token: joinedToken(stamps), note: newest ? `latest composite ${newest}` : 'no composites' };
}

export const NdviMonthRecordSchema = z.object({
  area: z.string().min(1),
  month: z.string().regex(/^\d{4}-(?:0[1-9]|1[0-2])$/, 'expected a YYYY-MM month'),
  meanNdvi: decimalValue('expected a decimal string or null'),
  pixelCount: z.number().int().nonnegative(),
  composites: z.number().int().positive(),
  latestProcDate: z.string().nullable(),
});

export const modisNdviConnector = defineSource({
  name: 'modis_ndvi',
  params: ModisNdviParamsSchema,
  probe,
  fetch: eachPartition((p: ModisNdviParams) => p.areas, fetchArea),
  record: {
    schema: NdviMonthRecordSchema,
    label: (raw) => `MODIS NDVI record ${recordLabel(raw, ['area', 'month'])}`,
    rows: (r, p): ObservationRow[] => {
      const { seriesKey, dimensions } = seriesIdentity({ product: p.product, area: r.area }, ['NDVI']);
      const attributes = compactAttributes({ pixels: r.pixelCount, composites: r.composites });
      return [{ seriesKey, dimensions, period: r.month, value: r.meanNdvi, unit: 'NDVI', attributes }];
    },
  },
});

/** One record's observations (the rule reads only params.product). */
export const transformNdviRecord = (raw: unknown, params: Pick<ModisNdviParams, 'product'>) =>
  modisNdviConnector.transform(raw, params as ModisNdviParams);
