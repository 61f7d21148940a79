// What activities need from the process that hosts them. Built once per worker process.
import type { Database } from '../lib/db';

export interface ActivityDeps {
  db: Database;
  /** Hex key that decrypts DataSourceConfig.apiKeyEncrypted. */
  secretKey: string;
  /** The From of alert e-mails (TEDI_ALERT_FROM); default activities/alerts/send.ts DEFAULT_ALERT_FROM. */
  alertFrom?: string;
}
