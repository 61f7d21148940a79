// The registry of connectors, by the name stored in DataSource.connector.
import { configurationError } from '../../lib/failures';
import { comtradeConnector } from './comtrade';
import { faostatConnector } from './faostat';
import { ilostatConnector } from './ilostat';
import { modisNdviConnector } from './modis-ndvi';
import { overpassConnector } from './overpass/connector';
import { sdmxConnector } from './sdmx';
import { tabularConnector } from './tabular';
import type { Connector } from './types';
import { unidoConnector } from './unido';
import { worldBankConnector } from './world-bank';

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
