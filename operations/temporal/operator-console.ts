// Makes sure the operator console workflow runs (one per namespace); idempotent.
import type { Client } from '@temporalio/client';
import { OPERATOR_WORKFLOW_ID, operatorConsole } from '../../workflows/operator-console';
import { ensureSingleton } from './singleton';

export const ensureOperatorConsole = (client: Client): Promise<string> =>
  ensureSingleton(client, operatorConsole, OPERATOR_WORKFLOW_ID, []);
