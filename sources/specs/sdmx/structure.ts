// Dataflow structure messages (GET {base}/dataflow/{agency}/{id}/{version}), as the probe reads them:
// SDMX-JSON 1.0/2.0 (ILO's NSI service) or SDMX-ML 2.1 (the ECB). What matters is the dataflow's
// LAST_UPDATE annotation, the date the provider last loaded data into it. It is spelled two ways in
// ILO's answers: "20/09/2026 07:33:33" (dd/MM/yyyy HH:mm:ss, the 2026 structure messages) and
// "7/13/2023 10:46:21 PM" (M/d/yyyy h:mm:ss AM/PM, the 2023 data messages); both become
// "2026-09-20T07:33:33". A message without the annotation (the ECB's) still has a fingerprint: the SHA-256
// of the message without its header (which carries a fresh id and `prepared` time on every answer).
import crypto from 'node:crypto';
import { invalidPayload } from '../../../lib/failures';
import type { SdmxParams } from './params';

const SPELLING = /^(\d{1,2})\/(\d{1,2})\/(\d{4}) (\d{1,2}):(\d{2}):(\d{2})(?: ?([AaPp][Mm]))?$/;
const ISO = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?$/;

const two = (n: number) => String(n).padStart(2, '0');

/**
 * A LAST_UPDATE annotation → "YYYY-MM-DDTHH:MM:SS", or undefined when it is no date this knows.
 * With AM/PM the US order (month first), without it the day first: those are the two spellings seen.
 */
export function isoLastUpdate(raw: string): string | undefined {
  const value = raw.trim();
  const iso = ISO.exec(value);
  if (iso) return `${iso[1]}-${iso[2]}-${iso[3]}T${iso[4]}:${iso[5]}:${iso[6]}`;
  const m = SPELLING.exec(value);
  if (!m) return undefined;
  const [first, second, year, hour, minute, second_] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(Number) as number[];
  const meridiem = m[7]?.toUpperCase();
  const [month, day] = meridiem ? [first!, second!] : [second!, first!];
  let h = hour!;
  if (meridiem) {
    if (h < 1 || h > 12) return undefined;
    h = (h % 12) + (meridiem === 'PM' ? 12 : 0);
  }
  const date = new Date(Date.UTC(year!, month - 1, day, h, minute, second_));
  // Rejects 31/02 and 13th months: the date must read back as written.
  if (date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day || h > 23 || minute! > 59 || second_! > 59) {
    return undefined;
  }
  return `${year}-${two(month)}-${two(day)}T${two(h)}:${two(minute!)}:${two(second_!)}`;
}

export interface DataflowStructure {
  format: 'SDMX-JSON' | 'SDMX-ML';
  /** The LAST_UPDATE annotation as written, when the dataflow has one. */
  lastUpdate: string | undefined;
  /** SHA-256 (hex) of the message without its header. */
  fingerprint: string;
}

const sha256 = (text: string) => crypto.createHash('sha256').update(text).digest('hex');

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function annotationText(a: Obj): string | undefined {
  if (typeof a.title === 'string' && a.title.trim()) return a.title;
  if (typeof a.text === 'string' && a.text.trim()) return a.text;
  const texts = isObj(a.texts) ? a.texts : isObj(a.text) ? a.text : undefined;
  const first = texts ? Object.values(texts).find((t) => typeof t === 'string') : undefined;
  return typeof first === 'string' ? first : undefined;
}

function readJson(body: string, p: SdmxParams, where: string): DataflowStructure {
  let message: unknown;
  try {
    message = JSON.parse(body);
  } catch (err) {
    throw invalidPayload(`${where}: the structure message is not valid JSON (${(err as Error).message})`);
  }
  if (!isObj(message)) throw invalidPayload(`${where}: the structure message is not a JSON object`);
  const data = isObj(message.data) ? message.data : message;
  const flows = Array.isArray(data.dataflows) ? data.dataflows.filter(isObj) : [];
  const flow = flows.find((f) => f.id === p.dataflow && (f.agencyID === undefined || f.agencyID === p.agency));
  if (!flow) {
    const ids = flows.map((f) => `${String(f.agencyID)}:${String(f.id)}`).join(', ') || 'none';
    throw invalidPayload(
      `${where}: the structure message has no dataflow ${p.agency}:${p.dataflow} (dataflows: ${ids})`,
    );
  }
  const annotations = Array.isArray(flow.annotations) ? flow.annotations.filter(isObj) : [];
  const annotation = annotations.find((a) => a.type === 'LAST_UPDATE');
  // The fingerprint leaves out `meta` (1.0, 2.0) or `header` (older layouts): a fresh id and time each answer.
  const { meta: _meta, header: _header, ...rest } = message;
  return {
    format: 'SDMX-JSON',
    lastUpdate: annotation ? annotationText(annotation) : undefined,
    fingerprint: sha256(JSON.stringify(isObj(message.data) ? message.data : rest)),
  };
}

const unescapeXml = (s: string) =>
  s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&');

function xmlAttribute(attributes: string, name: string): string | undefined {
  const m = new RegExp(`\\s${name}="([^"]*)"`).exec(attributes);
  return m ? unescapeXml(m[1]!) : undefined;
}

function readXml(body: string, p: SdmxParams, where: string): DataflowStructure {
  // <str:Dataflow … agencyID="ECB" id="EXR" …>…</str:Dataflow>, whatever the namespace prefix.
  const flowPattern = /<([A-Za-z][\w.-]*:)?Dataflow\b([^>]*?)(?:\/>|>([\s\S]*?)<\/\1?Dataflow>)/g;
  let content: string | undefined;
  let found = false;
  const seen: string[] = [];
  for (const m of body.matchAll(flowPattern)) {
    const id = xmlAttribute(m[2] ?? '', 'id');
    const agency = xmlAttribute(m[2] ?? '', 'agencyID');
    seen.push(`${agency}:${id}`);
    if (id === p.dataflow && (agency === undefined || agency === p.agency)) {
      found = true;
      content = m[3] ?? '';
      break;
    }
  }
  if (!found) {
    throw invalidPayload(
      `${where}: the structure message has no dataflow ${p.agency}:${p.dataflow} (dataflows: ${seen.join(', ') || 'none'})`,
    );
  }
  let lastUpdate: string | undefined;
  for (const a of (content ?? '').matchAll(/<([A-Za-z][\w.-]*:)?Annotation\b[^>]*>([\s\S]*?)<\/\1?Annotation>/g)) {
    const inside = a[2] ?? '';
    const type = /<(?:[\w.-]+:)?AnnotationType>([^<]*)</.exec(inside)?.[1]?.trim();
    if (type !== 'LAST_UPDATE') continue;
    const title = /<(?:[\w.-]+:)?AnnotationTitle>([^<]*)</.exec(inside)?.[1];
    const text = /<(?:[\w.-]+:)?AnnotationText\b[^>]*>([^<]*)</.exec(inside)?.[1];
    lastUpdate = unescapeXml((title?.trim() ? title : text) ?? '');
    break;
  }
  const withoutHeader = body.replace(/<([A-Za-z][\w.-]*:)?Header>[\s\S]*?<\/\1?Header>/, '');
  return { format: 'SDMX-ML', lastUpdate, fingerprint: sha256(withoutHeader) };
}

/** Reads a dataflow structure message, JSON or XML (told apart by its first character). */
export function readDataflowStructure(body: string, p: SdmxParams, where: string): DataflowStructure {
  const start = body.replace(/^\uFEFF/, '').trimStart()[0];
  if (start === '{') return readJson(body, p, where);
  if (start === '<') return readXml(body, p, where);
  throw invalidPayload(
    `${where}: the structure answer is neither SDMX-JSON nor SDMX-ML (starts with ${JSON.stringify(body.slice(0, 60))})`,
  );
}
