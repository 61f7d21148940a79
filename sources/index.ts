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

export function getConnector(name: string): Connector<unknown, unknown> {
  const connector = CONNECTORS[name];
  if (!connector) {
    throw configurationError(
      `No connector named "${name}" (DataSource.connector). Known connectors: ${connectorNames().join(', ')}.`,
    );
  }
  return connector;
}
