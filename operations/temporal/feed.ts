// Makes sure the feed dispatcher runs (one per namespace, on the scheduler queue). The workers' start-up
// calls it, so a dispatcher that was terminated comes back with the next deployment or restart.
import type { Client } from '@temporalio/client';
import { feedDispatcher } from '../../workflows/feed/feed-dispatcher';
import { FEED_DISPATCHER_ID } from '../../workflows/ids';
import { ensureSingleton } from './singleton';

export const ensureFeedDispatcher = (client: Client): Promise<string> =>
  ensureSingleton(client, feedDispatcher, FEED_DISPATCHER_ID, []);
