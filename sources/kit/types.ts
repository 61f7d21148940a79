// The one shape every connector has: probe for change → fetch (streamed) → transform (zod) → load.
// A connector only knows its source: where to ask, how to page, how to read its format. Loading,
// versioning, logging and retries are shared and live elsewhere (activities/ingestion).
import type { z } from 'zod';
import type { HttpClient } from './http/http-client';

/** One canonical observation, the unit of the versioned store. */
export interface ObservationRow {
  /** Identifies the series, e.g. "SL.UEM.TOTL.ZS|BJ". */
  seriesKey: string;
  /** Period label as the source gives it: "2023", "2023-Q1", "2023-07". */
  period: string;
  /** Numeric value as a decimal string (no float rounding), or null when the source has no value. */
  value: string | null;
  unit: string | null;
  /** Source-specific extras (flags, labels, geometry...). Kept small: it is part of the row hash. */
  attributes: Record<string, unknown> | null;
  /**
   * The series' named dimensions, e.g. {indicator: "SL.UEM.TOTL.ZS", country: "BEN"}: what its key is made
   * of (sources/kit/series-key.ts), stored once per series so consumers filter by country without parsing
   * keys. Not part of the row hash: it is derived from the key, not data of the observation.
   */
  dimensions?: Record<string, string> | null;
}

/** What an operator hands to an on-event ingestion: a local file path or an http(s) URL. */
export interface EventInput {
  location: string;
}

export interface Credentials {
  apiKey?: string;
  username?: string;
}

/** What a connector gets to work with; built by the ingestion activities from the catalog. */
export interface SourceContext<P> {
  sourceName: string;
  baseUrl: string;
  params: P;
  /** Decrypted only inside the activity; never returned to a workflow, never logged. */
  credentials: Credentials;
  http: HttpClient;
  /** For on-event and file sources: the file path or URL an operator handed in for this run. */
  event: EventInput | null;
  /** Report progress; also lets Temporal deliver cancellation. */
  heartbeat(details: Record<string, unknown>): void;
  log(message: string, attrs?: Record<string, unknown>): void;
  /**
   * Where the previous attempt of this fetch got to (its last checkpoint), when the stage can resume it:
   * the kit's partition and page walkers skip what was already read. Absent: start from the beginning.
   */
  resume?: ResumePoint;
  /**
   * Called by the kit's walkers after each completed partition or page, once every record before it was
   * handed out: the stage makes everything read so far durable and remembers the point (heartbeat details).
   */
  checkpoint?(at: ResumePoint): Promise<void>;
}

/**
 * Raised by a walker handed a resume point that does not fit its requests (the partitions differ from the
 * ones the checkpoint counted): the stage then reads the source from the beginning in the same attempt.
 */
export class ResumeMismatch extends Error {
  override name = 'ResumeMismatch';
}

/** A point a fetch can resume from: partitions fully read, and pages read of the next one. */
export interface ResumePoint {
  partitions: number;
  /** Fingerprint of the partition list the count refers to (eachPartition); another list cannot resume. */
  partitionsKey?: string;
  /** Within partition `partitions` (0-based), the page-numbered read so far (paging.ts). */
  paging?: PagingPoint;
}

/** How far a page-numbered read got: pages read, records held, and what page 1 said (the checks' baseline). */
export interface PagingPoint {
  pages: number;
  held: number;
  first: { pages: number; total: number; version: string | null };
}

export interface ProbeResult {
  /** The source's cheap change signal (e.g. World Bank `lastupdated`); null when it has none. */
  token: string | null;
  /** Short human-readable note for the log (e.g. "lastupdated 2024-05-30"). */
  note?: string;
}

/** A raw record failed its row schema: it is rejected into the log, never silently dropped. */
export class RowRejected extends Error {
  override name = 'RowRejected';
}

/**
 * How the store reads repeated (series, period) keys in one of this source's snapshots: `fail` (the
 * default) refuses the snapshot; `collapse-identical` lets byte-identical repeats stand for one row
 * (e.g. the same element seen in two overlapping tiles) and still refuses repeats that differ.
 */
export type DuplicateKeyRule = 'fail' | 'collapse-identical';

/** What a connector tells the store's snapshot guards (activities/store/snapshot-guard.ts). */
export interface SnapshotRules<P> {
  duplicateKeys?: DuplicateKeyRule;
  /** Where to look when the source answers with no rows at all, e.g. "check params.areas". */
  emptyHint?(params: P): string;
}

/** What a connector that reads files handed in per run says about them (see Connector.files). */
export interface FileInput<P> {
  /** Why a run given no file has nothing to read (e.g. "it has no params.feedUrl"), or null when it has. */
  missingFile(params: P): string | null;
}

export interface Connector<P = unknown, R = unknown> {
  /** Key used in DataSource.connector. */
  readonly name: string;
  /** Validates DataSource.params; errors name the field. */
  readonly paramsSchema: z.ZodType<P>;
  /** Cheap change signal, fetched before any data. */
  probe(ctx: SourceContext<P>): Promise<ProbeResult>;
  /**
   * The probe is one small request (or a few), whatever the data's size: the master probes the source at
   * every tick instead of once a cadence, and the cadence becomes only the freshness expectation. Written
   * to data_sources.probe_every_tick by the catalog.
   */
  readonly cheapProbe?: boolean;
  /** Streams raw records (small JSON-able objects) as the source delivers them; never buffers the whole body. */
  fetch(ctx: SourceContext<P>): AsyncIterable<R>;
  /** Validates one raw record and maps it to zero or more observations; throws RowRejected for a bad row. */
  transform(raw: unknown, params: P): ObservationRow[];
  /** Optional rules for the snapshot guards; by default repeated keys fail and no hint is given. */
  readonly snapshot?: SnapshotRules<P>;
  /**
   * Set by a connector that reads a file or URL handed in per run (`tedi import`, the event's location).
   * Without it the connector reads only its own API, and `tedi import` refuses it before anything starts.
   */
  readonly files?: FileInput<P>;
}
