// The SDMX 2.1 REST requests this connector sends (the URL layout ILO, ECB and most NSI services serve;
// the SDMX 3.0 formats are asked for through the same URLs with Accept …;version=2.0.0):
//   data:      GET {base}/data/{agency},{dataflow}[,{version}]/{key}?startPeriod=…&endPeriod=…
//   structure: GET {base}/dataflow/{agency}/{dataflow}/{version}
// A version of "latest" is left out of the data flowRef (the SDMX default is the latest version).
import type { SdmxParams } from './params';

/** "ILO,DF_UNE_DEAP_SEX_AGE_RT,1.0", or "ECB,EXR" for the latest version. */
export function flowRef(p: Pick<SdmxParams, 'agency' | 'dataflow' | 'version'>): string {
  return p.version === 'latest' ? `${p.agency},${p.dataflow}` : `${p.agency},${p.dataflow},${p.version}`;
}

/** The query string of a data request (startPeriod/endPeriod; ECB's own format parameter). */
function dataQuery(p: SdmxParams): string {
  const query = new URLSearchParams();
  if (p.startPeriod) query.set('startPeriod', p.startPeriod);
  if (p.endPeriod) query.set('endPeriod', p.endPeriod);
  if (p.flavour === 'ecb') query.set('format', p.format === 'csv' ? 'csvdata' : 'jsondata');
  const text = query.toString();
  return text ? `?${text}` : '';
}

/** Path and query of the data request, relative to the base: also what the probe token names. */
export function dataPath(p: SdmxParams): string {
  return `data/${flowRef(p)}/${p.key}${dataQuery(p)}`;
}

export function dataUrl(baseUrl: string, p: SdmxParams): string {
  return `${baseUrl.replace(/\/+$/, '')}/${dataPath(p)}`;
}

export function structureUrl(baseUrl: string, p: SdmxParams): string {
  const parts = [p.agency, p.dataflow, p.version].map(encodeURIComponent);
  return `${baseUrl.replace(/\/+$/, '')}/dataflow/${parts.join('/')}`;
}

/** The Accept header of a data request; none for the ECB flavour (its format parameter decides). */
export function dataHeaders(p: SdmxParams): Record<string, string> {
  if (p.flavour === 'ecb') return {};
  const type = p.format === 'csv' ? 'application/vnd.sdmx.data+csv' : 'application/vnd.sdmx.data+json';
  return { accept: `${type};version=${p.formatVersion}` };
}

/** The Accept header of the structure request: SDMX-JSON for NSI services such as ILO's, SDMX-ML at the ECB. */
export function structureHeaders(p: SdmxParams): Record<string, string> {
  return {
    accept:
      p.flavour === 'ecb'
        ? 'application/vnd.sdmx.structure+xml;version=2.1'
        : 'application/vnd.sdmx.structure+json;version=1.0',
  };
}

/** "ILO DF_UNE_DEAP_SEX_AGE_RT key BEN...." for messages. */
export function describeQuery(p: SdmxParams): string {
  const periods = [p.startPeriod && `from ${p.startPeriod}`, p.endPeriod && `to ${p.endPeriod}`].filter(Boolean);
  return `${p.agency} ${p.dataflow} key ${p.key}${periods.length > 0 ? ` ${periods.join(' ')}` : ''}`;
}
