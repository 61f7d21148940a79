// The registry of connectors, by the name stored in DataSource.connector.
import { configurationError } from '../lib/failures';
import type { Connector } from './kit/types';
import { comtradeConnector } from './specs/comtrade';
import { faostatConnector } from './specs/faostat';
import { ilostatConnector } from './specs/ilostat';
import { modisNdviConnector } from './specs/modis-ndvi';
import { overpassConnector } from './specs/overpass/connector';
import { sdmxConnector } from './specs/sdmx';
import { tabularConnector } from './specs/tabular';
import { unidoConnector } from './specs/unido';
import { worldBankConnector } from './specs/world-bank';

// Each connector validates its own params with its own schema before use, so the registry can hold
// connectors of different parameter types.
// biome-ignore lint/suspicious/noExplicitAny: heterogeneous registry, see above
const CONNECTORS: Record<string, Connector<any, any>> = {
  [worldBankConnector.name]: worldBankConnector,
  [comtradeConnector.name]: comtradeConnector,
  [unidoConnector.name]: unidoConnector,
  [tabularConnector.name]: tabularConnector,
  [faostatConnector.name]: faostatConnector,
  [modisNdviConnector.name]: modisNdviConnector,
  [overpassConnector.name]: overpassConnector,
  [ilostatConnector.name]: ilostatConnector,
  [sdmxConnector.name]: sdmxConnector,
};

export function connectorNames(): string[] {
  return Object.keys(CONNECTORS);
}

/**
 * Why a scheduled source of this connector has nothing to read on its own (a file source with no feed
 * URL), or null. Such a source must not be active: every master check would fail. The catalog refuses it
 * (catalog/load.ts), and so do `tedi sources set` and `tedi sources activate`.
 */
export function scheduledWithoutFile(
  connector: Connector<unknown, unknown>,
  frequency: string,
  params: unknown,
): string | null {
  return frequency === 'on_event' ? null : (connector.files?.missingFile(params) ?? null);
}

export function getConnector(name: string): Connector<unknown, unknown> {
  const connector = CONNECTORS[name];
  if (!connector) {
    throw configurationError(
      `No connector named "${name}" (DataSource.connector). Known connectors: ${connectorNames().join(', ')}.`,
    );
  }
  return connector;
}
