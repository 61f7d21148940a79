// Makes sure the alert monitor runs (one per namespace, on the scheduler queue), like the feed
// dispatcher. `intervalMs` is for tests; production evaluates every minute.
import type { Client } from '@temporalio/client';
import { alertMonitor } from '../../workflows/alerts/alert-monitor';
import { ALERT_MONITOR_ID } from '../../workflows/ids';
import { ensureSingleton } from './singleton';

export const ensureAlertMonitor = (client: Client, options: { intervalMs?: number } = {}): Promise<string> =>
  ensureSingleton(client, alertMonitor, ALERT_MONITOR_ID, [options]);
