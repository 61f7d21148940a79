// The probe: one GET of the dataflow's structure message (no references: a few KB).
//  - With a LAST_UPDATE annotation (ILO), the token is that date in ISO form plus the data query, so an
//    unchanged date with unchanged params ends the run as no_change without fetching data, while a new
//    key, period or format fetches.
//  - Without one (the ECB's structures have none), there is no data change signal in the structure: a
//    dataflow's definition stays the same while new observations arrive every day, so a structure hash as
//    the token would make every later check a no_change and never load a new month. The token is null
//    (every check fetches; the content checksum decides whether anything changed, so an unchanged answer
//    still makes no revision), and the note gives the structure's SHA-256 for the log.
import { configurationError, invalidPayload } from '../../../lib/failures';
import type { ProbeResult, SourceContext } from '../../kit/types';
import type { SdmxParams } from './params';
import { isoLastUpdate, readDataflowStructure } from './structure';
import { dataPath, structureHeaders, structureUrl } from './urls';

/** What the token carries besides the date: the data query as sent, and the format asked for. */
export function queryIdentity(p: SdmxParams): string {
  return `${dataPath(p)}|${p.format}-${p.formatVersion}`;
}

export async function probeSdmx(ctx: SourceContext<SdmxParams>): Promise<ProbeResult> {
  const p = ctx.params;
  const where = `${ctx.sourceName} dataflow ${p.agency}/${p.dataflow}/${p.version}`;
  const res = await ctx.http.request(structureUrl(ctx.baseUrl, p), {
    headers: structureHeaders(p),
    acceptStatuses: [404],
  });
  const body = await ctx.http.readText(res);
  if (res.status === 404) {
    throw configurationError(
      `${where}: the provider has no such dataflow (HTTP 404: ${body.slice(0, 200).replace(/\s+/g, ' ').trim()}). ` +
        'Fix params.agency, params.dataflow or params.version (what the provider lists under /dataflow).',
    );
  }
  const structure = readDataflowStructure(body, p, where);
  if (structure.lastUpdate !== undefined) {
    const iso = isoLastUpdate(structure.lastUpdate);
    if (!iso) {
      throw invalidPayload(
        `${where}: LAST_UPDATE ${JSON.stringify(structure.lastUpdate)} is no date this connector reads ` +
          '(expected dd/MM/yyyy HH:mm:ss, M/d/yyyy h:mm:ss AM/PM or ISO 8601)',
      );
    }
    return {
      token: `${iso}|${queryIdentity(p)}`,
      note: `LAST_UPDATE ${iso} (${structure.format} dataflow annotation)`,
    };
  }
  return {
    token: null,
    note:
      `no LAST_UPDATE annotation; ${structure.format} structure sha256 ${structure.fingerprint.slice(0, 16)} ` +
      '(header left out). A structure is no data change signal: every check fetches, the content checksum decides',
  };
}
