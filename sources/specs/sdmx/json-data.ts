// SDMX-JSON data messages (1.0, 2.0, and the pre-1.0 "root" layout the ECB's jsondata still uses), read
// token by token by the kit's streamed JSON walk (sources/kit/json-stream.ts), never JSON.parse:
//   - every member of `series` is read on its own, so a key the body repeats is read as often as it is
//     there. ILO's NSI service writes one member per observation, repeating each series key (39 members,
//     3 distinct keys in the recorded answer): JSON.parse keeps the last member of each, 3 of 39 values;
//   - observation keys are kept as a list for the same reason;
//   - numbers keep their text (no float rounding before the canonical decimal).
// The message's `structure` (the dimension and attribute values the indices point into) may come after
// `dataSets` (it does in ILO's answers), so the body is spooled to a local file while it downloads: the
// first pass reads the structure(s) and the small members of each data set (structure index, links,
// attributes), the second pass streams the observations. Neither pass holds more than one series.
import fs from 'node:fs';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { FailureType, invalidPayload } from '../../../lib/failures';
import { type JsonPath, type JsonVisitor, walkJson } from '../../kit/json-stream';
import { makeSpoolDir, removeSpoolDir } from '../../kit/spool';
import { spoolThrough } from '../../kit/spool-file';
import type { SdmxParams } from './params';
import { checkAgainstKey, type SdmxRecord } from './record';

/** The path below the message's envelope: `data.x` (1.0, 2.0) and root `x` (pre-1.0) read the same. */
const inner = (at: JsonPath): JsonPath => (at[0] === 'data' ? at.slice(1) : at);

// ---------------------------------------------------------------------------------------------------
// Pass 1: structures, errors, and the small members of each data set

interface Scan {
  /** 1.0 and pre-1.0: the one `structure`; 2.0: `structures[]`. */
  structures: unknown[];
  /** Per data set, its members other than series and observations (structure, links, attributes…). */
  dataSets: Record<string, unknown>[];
  errors: unknown[];
}

function scanVisitor(scan: Scan): JsonVisitor<never> {
  return {
    decide(at) {
      if (at.length === 1 && at[0] === 'data') return 'enter';
      if (at.length === 1 && at[0] === 'errors') return 'assemble';
      const p = inner(at);
      if (p[0] === 'errors' && p.length === 1) return 'assemble';
      if (p[0] === 'structure' && p.length === 1) return 'assemble';
      if (p[0] === 'structures') return p.length === 1 ? 'enter' : p.length === 2 ? 'assemble' : 'skip';
      if (p[0] === 'dataSets') {
        if (p.length <= 2) return 'enter';
        if (p.length === 3) return p[2] === 'series' || p[2] === 'observations' ? 'skip' : 'assemble';
      }
      return 'skip';
    },
    value(at, value) {
      const p = inner(at);
      if (p[0] === 'errors') {
        if (Array.isArray(value)) scan.errors.push(...value);
      } else if (p[0] === 'structure') {
        scan.structures[0] = value;
      } else if (p[0] === 'structures' && typeof p[1] === 'number') {
        scan.structures[p[1]] = value;
      } else if (p[0] === 'dataSets' && typeof p[1] === 'number' && typeof p[2] === 'string') {
        scan.dataSets[p[1]] ??= {};
        scan.dataSets[p[1]]![p[2]] = value;
      }
    },
    close(at) {
      const p = inner(at);
      // A data set with no small member at all still counts.
      if (p[0] === 'dataSets' && p.length === 2 && typeof p[1] === 'number') scan.dataSets[p[1]] ??= {};
    },
  };
}

// ---------------------------------------------------------------------------------------------------
// Reading the structure: components and their values

interface Component {
  id: string;
  keyPosition: number | undefined;
  isTime: boolean;
  /** Value ids (dimensions) or values (attributes: id, else value, else name), by index. */
  values: (string | null)[];
  /** An attribute's default, applied when the data part gives it no value (SDMX-JSON `default`). */
  fallback: string | undefined;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
/** Numbers arrive as their text (numberAsString keeps observation values exact): 0 and "0" are both index 0. */
const int = (v: unknown): number | undefined => {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : Number.NaN;
  return Number.isInteger(n) && n >= 0 ? n : undefined;
};
const text = (v: unknown): string | null =>
  typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : null;

function components(level: unknown, where: string, what: string): Component[] {
  if (level === undefined || level === null) return [];
  if (!Array.isArray(level)) throw invalidPayload(`${where}: structure ${what} is not an array`);
  return level.map((c, i) => {
    if (!isObj(c) || typeof c.id !== 'string') throw invalidPayload(`${where}: structure ${what}[${i}] has no id`);
    const roles = [c.roles, c.role].flat().filter((r) => typeof r === 'string');
    const values = Array.isArray(c.values)
      ? c.values.map((v) => (isObj(v) ? (text(v.id) ?? text(v.value) ?? text(v.name)) : null))
      : [];
    return {
      id: c.id,
      keyPosition: int(c.keyPosition),
      isTime: c.id === 'TIME_PERIOD' || roles.includes('TIME_PERIOD') || roles.includes('time'),
      values,
      fallback: text(c.default) ?? undefined,
    };
  });
}

/** Everything needed to turn one data set's indices into ids. */
interface DataSetView {
  index: number;
  datasetDims: Component[];
  seriesDims: Component[];
  obsDims: Component[];
  datasetAttrs: Component[];
  seriesAttrs: Component[];
  obsAttrs: Component[];
  /** Dataset-level attribute value indices. */
  datasetAttrIndices: unknown[];
  /** Non-time dimension ids in DSD order (keyPosition when every one has it, else as declared). */
  order: string[];
  timeId: string | undefined;
}

/** `dataSet` in 2.0 and the samples, `dataset` in ILO's 1.0 answers. */
const datasetLevel = (o: Obj) => o.dataSet ?? o.dataset;

function viewOf(scan: Scan, d: number, p: SdmxParams, where: string): DataSetView {
  const meta = scan.dataSets[d] ?? {};
  // 2.0: the data set names its structure; otherwise the structure listing it, else the first.
  const named = int(meta.structure);
  const byIndex = named === undefined ? undefined : scan.structures[named];
  const listing = scan.structures.find(
    (s) => isObj(s) && Array.isArray(s.dataSets) && s.dataSets.some((i) => int(i) === d),
  );
  const structure = byIndex ?? listing ?? scan.structures[0];
  if (!isObj(structure)) throw invalidPayload(`${where}: data set ${d} has no structure in the message`);
  const dims = isObj(structure.dimensions) ? structure.dimensions : {};
  const attrs = isObj(structure.attributes) ? structure.attributes : {};
  const at = `dataSets[${d}]`;
  const view: DataSetView = {
    index: d,
    datasetDims: components(datasetLevel(dims), where, 'dimensions.dataSet'),
    seriesDims: components(dims.series, where, 'dimensions.series'),
    obsDims: components(dims.observation, where, 'dimensions.observation'),
    datasetAttrs: components(datasetLevel(attrs), where, 'attributes.dataSet'),
    seriesAttrs: components(attrs.series, where, 'attributes.series'),
    obsAttrs: components(attrs.observation, where, 'attributes.observation'),
    datasetAttrIndices: Array.isArray(meta.attributes) ? meta.attributes : [],
    order: [],
    timeId: undefined,
  };
  const all = [...view.datasetDims, ...view.seriesDims, ...view.obsDims];
  const keyDims = all.filter((c) => !c.isTime);
  if (keyDims.every((c) => c.keyPosition !== undefined)) keyDims.sort((a, b) => a.keyPosition! - b.keyPosition!);
  view.order = keyDims.map((c) => c.id);
  view.timeId = all.find((c) => c.isTime)?.id;
  // A data set that links its dataflow must be the one asked for.
  for (const link of Array.isArray(meta.links) ? meta.links : []) {
    const urn = isObj(link) ? text(link.urn) : null;
    const m = urn ? /\.Dataflow=([^:]+):([^(]+)\(/.exec(urn) : null;
    if (m && (m[1] !== p.agency || m[2] !== p.dataflow)) {
      throw invalidPayload(`${where}: ${at} is dataflow ${m[1]}:${m[2]}, not ${p.agency}:${p.dataflow} as asked`);
    }
  }
  return view;
}

/** "0:0:1" against a dimension level → [id, value] pairs; a bad index means a broken message. */
function resolveKey(key: string, dims: Component[], where: string): [string, string][] {
  if (dims.length === 0) return [];
  const parts = key.split(':');
  if (parts.length !== dims.length) {
    throw invalidPayload(`${where}: key "${key}" has ${parts.length} indices for ${dims.length} dimensions`);
  }
  return parts.map((part, i) => {
    const dim = dims[i]!;
    const value = /^\d+$/.test(part) ? dim.values[Number(part)] : undefined;
    if (typeof value !== 'string') {
      throw invalidPayload(
        `${where}: key "${key}": index ${part} of ${dim.id} is not one of its ${dim.values.length} values`,
      );
    }
    return [dim.id, value];
  });
}

/** Attribute indices of one level → values (nulls and unknown positions give no value, or the default). */
function resolveAttributes(indices: unknown[], attrs: Component[], into: Record<string, string>, where: string): void {
  attrs.forEach((attr, j) => {
    const index = indices[j];
    let value: string | null | undefined;
    if (index === null || index === undefined) value = attr.fallback;
    else {
      const i = int(index);
      if (i === undefined || i >= attr.values.length) {
        throw invalidPayload(
          `${where}: attribute ${attr.id} index ${String(index)} is not one of its ${attr.values.length} values`,
        );
      }
      value = attr.values[i];
    }
    if (value !== null && value !== undefined && value.trim() !== '') into[attr.id] = value;
  });
}

function record(
  view: DataSetView,
  seriesKey: string | null,
  seriesAttrIndices: unknown,
  obsKey: string,
  obs: unknown,
  where: string,
): SdmxRecord {
  const at = seriesKey === null ? `${where}: dataSets[${view.index}].observations` : `${where}: series "${seriesKey}"`;
  const pairs = new Map<string, string>();
  for (const c of view.datasetDims) {
    const value = c.values[0];
    if (typeof value !== 'string') throw invalidPayload(`${at}: data set dimension ${c.id} has no value`);
    pairs.set(c.id, value);
  }
  for (const [id, value] of resolveKey(seriesKey ?? '', view.seriesDims, at)) pairs.set(id, value);
  for (const [id, value] of resolveKey(obsKey, view.obsDims, `${at} observation`)) pairs.set(id, value);
  const cells = Array.isArray(obs) ? obs : [obs];
  const attributes: Record<string, string> = {};
  resolveAttributes(view.datasetAttrIndices, view.datasetAttrs, attributes, at);
  resolveAttributes(Array.isArray(seriesAttrIndices) ? seriesAttrIndices : [], view.seriesAttrs, attributes, at);
  // Indices past the declared attributes (the samples' observation annotations) are not attributes.
  resolveAttributes(cells.slice(1), view.obsAttrs, attributes, `${at} observation ${obsKey}`);
  const value = cells[0];
  return {
    dimensions: view.order.map((id) => [id, pairs.get(id) ?? '']),
    period: view.timeId ? (pairs.get(view.timeId) ?? '') : '',
    value: value === null || value === undefined ? null : (text(value) ?? JSON.stringify(value)),
    attributes,
  };
}

// ---------------------------------------------------------------------------------------------------
// Pass 2: the observations

interface SeriesMember {
  key: string;
  attributes: unknown;
  observations: [string, unknown][];
}

function observationVisitor(views: DataSetView[], where: string): JsonVisitor<SdmxRecord> {
  let series: SeriesMember | null = null;
  const viewAt = (d: string | number | undefined) => (typeof d === 'number' ? views[d] : undefined);
  return {
    decide(at) {
      if (at.length === 1 && at[0] === 'data') return 'enter';
      const p = inner(at);
      if (p[0] !== 'dataSets') return 'skip';
      if (p.length <= 2) return 'enter';
      if (p[2] === 'series') {
        if (p.length === 3) return 'enter';
        if (p.length === 4) {
          series = { key: String(p[3]), attributes: undefined, observations: [] };
          return 'enter';
        }
        if (p.length === 5) return p[4] === 'attributes' ? 'assemble' : p[4] === 'observations' ? 'enter' : 'skip';
        if (p.length === 6 && p[4] === 'observations') return 'assemble';
      } else if (p[2] === 'observations') {
        return p.length === 3 ? 'enter' : p.length === 4 ? 'assemble' : 'skip';
      }
      return 'skip';
    },
    value(at, value, emit) {
      const p = inner(at);
      const view = viewAt(p[1]);
      if (!view) return;
      if (p[2] === 'series' && series) {
        if (p.length === 5) series.attributes = value;
        else if (p.length === 6) series.observations.push([String(p[5]), value]);
      } else if (p[2] === 'observations' && p.length === 4) {
        emit(record(view, null, undefined, String(p[3]), value, where));
      }
    },
    close(at, emit) {
      const p = inner(at);
      const view = viewAt(p[1]);
      if (p[2] !== 'series' || p.length !== 4 || !series || !view) return;
      // Attributes and observations may come in either order: the member is complete only here.
      for (const [obsKey, obs] of series.observations) {
        emit(record(view, series.key, series.attributes, obsKey, obs, where));
      }
      series = null;
    },
  };
}

function describeErrors(errors: unknown[]): string {
  return errors
    .slice(0, 3)
    .map((e) => {
      if (!isObj(e)) return String(e);
      const message = text(e.title) ?? text(e.message) ?? text(e.detail) ?? JSON.stringify(e).slice(0, 200);
      return e.code === undefined ? message : `${String(e.code)} ${message}`;
    })
    .join('; ');
}

export interface JsonReadOptions {
  heartbeat?: (details: Record<string, unknown>) => void;
}

/**
 * The observations of an SDMX-JSON data message, one record per observation, as the second pass reads them.
 * The body is spooled to a temporary file (removed when the iteration ends, however it ends).
 */
export async function* sdmxJsonRecords(
  bytes: AsyncIterable<Buffer>,
  p: SdmxParams,
  where: string,
  opts: JsonReadOptions = {},
): AsyncGenerator<SdmxRecord> {
  const dir = await makeSpoolDir('sdmx-json');
  try {
    const file = path.join(dir, 'body.json');
    const scan: Scan = { structures: [], dataSets: [], errors: [] };
    const heartbeat = ({ chunks }: { chunks: number }) => {
      if (chunks % 256 === 0) opts.heartbeat?.({ phase: 'structure', chunks });
    };
    // Pass 1 yields nothing: it fills `scan` while the body goes to the spool file (numbers as text).
    for await (const _ of walkJson(spoolThrough(bytes, file, heartbeat), scanVisitor(scan), { where })) void _;
    if (scan.errors.length > 0 && scan.dataSets.length === 0) {
      throw ApplicationFailure.nonRetryable(
        `${where}: the SDMX-JSON message holds errors and no data: ${describeErrors(scan.errors)}`,
        FailureType.SourceRejected,
      );
    }
    if (scan.structures.length === 0) {
      throw invalidPayload(`${where}: not an SDMX-JSON data message: no structure (or structures) member`);
    }
    const views = scan.dataSets.map((_, d) => viewOf(scan, d, p, where));
    let n = 0;
    const body = fs.createReadStream(file) as AsyncIterable<Buffer>;
    for await (const r of walkJson(body, observationVisitor(views, where), { where })) {
      checkAgainstKey(r, p, where, ++n);
      yield r;
    }
  } finally {
    await removeSpoolDir(dir);
  }
}
