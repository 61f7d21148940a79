// One LISTEN connection per API server, shared by every SSE stream: each stream waits for "something was
// committed" here and then reads the events itself from its own last id. A stream also wakes every
// POLL_MS without a notification, so a dropped LISTEN connection (reconnected on the next wait) delays a
// stream by at most that long and never loses an event (the events are read from the table, not from
// the notification).
import type { Pool, PoolClient } from 'pg';
import { CHANGE_CHANNEL } from '../activities/feed/outbox';

export const POLL_MS = 30_000;

export class ChangeHub {
  private listener: Promise<PoolClient> | null = null;
  private waiters = new Set<() => void>();
  private closers = new Set<() => void>();
  private closed = false;

  constructor(private readonly pool: Pool) {}

  /** Resolves at the next committed change, after POLL_MS, or when `signal` aborts. */
  nextChange(signal: AbortSignal): Promise<void> {
    if (this.closed || signal.aborted) return Promise.resolve();
    this.listen();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, POLL_MS);
      signal.addEventListener('abort', done);
      this.waiters.add(done);
    });
  }

  /** Called when the hub closes (the server stops): streams end. Returns the unsubscribe for a stream that ends first. */
  onClose(callback: () => void): () => void {
    if (this.closed) callback();
    else this.closers.add(callback);
    return () => this.closers.delete(callback);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const close of this.closers) close();
    this.wakeAll();
    const listener = this.listener;
    this.listener = null;
    if (listener) (await listener.catch(() => null))?.release(true);
  }

  private wakeAll(): void {
    for (const wake of [...this.waiters]) wake();
  }

  private listen(): void {
    if (this.listener) return;
    const connecting = this.pool.connect().then(async (client) => {
      client.on('notification', () => this.wakeAll());
      // A broken connection is dropped; the next wait connects anew (close() then finds nothing to release).
      client.on('error', () => {
        if (this.listener !== connecting) return;
        this.listener = null;
        client.release(true);
      });
      await client.query(`LISTEN ${CHANGE_CHANNEL}`);
      return client;
    });
    this.listener = connecting;
    // A failed connect is retried by the next wait; the streams meanwhile wake on their poll.
    connecting.catch(() => {
      if (this.listener === connecting) this.listener = null;
    });
  }
}
