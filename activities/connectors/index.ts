// The registry of connectors, by the name stored in DataSource.connector.
import { configurationError } from '../../lib/failures';
import type { Connector } from './types';
import { worldBankConnector } from './world-bank';

const CONNECTORS: Record<string, Connector<any, any>> = {
  [worldBankConnector.name]: worldBankConnector,
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
