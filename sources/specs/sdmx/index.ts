// A generic SDMX REST connector: one dataflow of one agency (ILO, ECB, and any SDMX 2.1 web service),
// sliced by an SDMX key, read as SDMX-CSV (1.0, 2.0, or the ECB's csvdata) or SDMX-JSON (1.0, 2.0), streamed.
//   params     params.ts     agency, dataflow, version, key, startPeriod/endPeriod, format, formatVersion, flavour
//   requests   urls.ts       GET {base}/data/{agency},{dataflow}[,{version}]/{key}, GET {base}/dataflow/…
//   probe      probe.ts      the dataflow's LAST_UPDATE annotation (structure.ts reads the structure message)
//   readers    csv-data.ts, json-data.ts   → one SdmxRecord per observation
//   records    record.ts     series key "<dataflow>|<key in DSD order>", TIME_PERIOD, OBS_VALUE, unit, attributes
// Answers the SDMX REST way: HTTP 404 to a data query means "no data for this query" (ILO: "No data is
// found. Please adjust your query parameters and try again."), an empty snapshot the snapshot guards judge
// (the hint names the params); other refusals (422 wrong key arity, 400, 406) are SourceRejected and a 500
// (ILO's "ORA-00936: missing expression" for an unknown code) SourceUnavailable, typed by the HttpClient
// with the server's own words in the message.
import { ApplicationFailure } from '@temporalio/common';
import { FailureType } from '../../../lib/failures';
import { defineSource } from '../../kit/define-source';
import type { SourceContext } from '../../kit/types';
import { sdmxCsvRecords } from './csv-data';
import { sdmxJsonRecords } from './json-data';
import { type SdmxParams, SdmxParamsSchema } from './params';
import { probeSdmx } from './probe';
import { type SdmxObservation, type SdmxRecord, sdmxRecord } from './record';
import { dataHeaders, dataUrl, describeQuery } from './urls';

export { type SdmxParams, SdmxParamsSchema } from './params';
export type { SdmxRecord } from './record';

const KEY_HINT =
  'Check params.key (one position per dimension, in the order of the DSD, empty for all codes), params.dataflow, ' +
  'params.version and the period bounds.';

/** A refusal of the data query keeps its type and retry behaviour, and says which params to look at. */
function withHint(err: unknown): unknown {
  if (!(err instanceof ApplicationFailure) || err.type !== FailureType.SourceRejected) return err;
  return ApplicationFailure.create({
    message: `${err.message}. ${KEY_HINT}`,
    type: err.type,
    nonRetryable: err.nonRetryable ?? undefined,
    cause: err,
  });
}

async function* fetchSdmx(ctx: SourceContext<SdmxParams>): AsyncGenerator<SdmxRecord> {
  const p = ctx.params;
  const query = describeQuery(p);
  const where = `${ctx.sourceName} ${query}`;
  let res: Response;
  try {
    res = await ctx.http.request(dataUrl(ctx.baseUrl, p), { headers: dataHeaders(p), acceptStatuses: [404] });
  } catch (err) {
    throw withHint(err);
  }
  if (res.status === 404) {
    // SDMX REST: 404 to a data query is "no results"; the store's guards decide what an empty snapshot means.
    const body = (await ctx.http.readText(res)).slice(0, 200).replace(/\s+/g, ' ').trim();
    ctx.log('SDMX: no data for the query (HTTP 404)', { query, answer: body });
    return;
  }
  const bytes = ctx.http.stream(res);
  const records =
    p.format === 'csv'
      ? sdmxCsvRecords(bytes, p, where)
      : sdmxJsonRecords(bytes, p, where, { heartbeat: (details) => ctx.heartbeat({ query, ...details }) });
  let n = 0;
  for await (const record of records) {
    n++;
    yield record;
  }
  ctx.heartbeat({ query, records: n });
  ctx.log(n === 0 ? 'SDMX: the answer holds no observation' : 'SDMX: data fetched', { query, records: n });
}

export const sdmxConnector = defineSource<SdmxParams, SdmxObservation>({
  name: 'sdmx',
  params: SdmxParamsSchema,
  probe: probeSdmx,
  fetch: fetchSdmx,
  record: sdmxRecord,
  snapshot: {
    emptyHint: (p) =>
      `${describeQuery(p)} has no data (the provider answered no observation): check params.key, ` +
      'one position per dimension in DSD order (empty = all codes), params.dataflow and params.version, ' +
      'and startPeriod/endPeriod',
  },
});

/** One observation's row (the rule reads only params.dataflow). */
export const transformSdmxRecord = (raw: unknown, p: Pick<SdmxParams, 'dataflow'>) =>
  sdmxConnector.transform(raw, p as SdmxParams);
