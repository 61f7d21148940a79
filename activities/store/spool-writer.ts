// Writes rows to a local file in COPY's text format, with backpressure, so a snapshot can be checked
// (checksum, rejects) before any of it reaches PostgreSQL, and then loaded with one COPY.

import { once } from 'node:events';
import fs from 'node:fs';
import { type CopyValue, encodeCopyValue } from './copy-rows';

/** Bytes buffered before a write: few syscalls, bounded memory. */
const BATCH_BYTES = 1 << 16;

export class SpoolWriter {
  private readonly out: fs.WriteStream;
  private batch = '';
  private failure: Error | undefined;
  rows = 0;
  /** Bytes handed to the file so far (all of them on disk once `sync` resolves). */
  bytes = 0;

  /**
   * A new spool file, or, with `resumeAt`, the first `resumeAt.bytes` bytes (`resumeAt.rows` rows) of an
   * existing one, kept, and the rest cut off: what an earlier attempt wrote up to its last checkpoint.
   */
  constructor(
    readonly file: string,
    resumeAt?: { bytes: number; rows: number },
  ) {
    if (resumeAt) {
      fs.truncateSync(file, resumeAt.bytes);
      this.bytes = resumeAt.bytes;
      this.rows = resumeAt.rows;
    }
    this.out = fs.createWriteStream(file, { flags: resumeAt ? 'a' : 'w' });
    this.out.on('error', (err) => {
      this.failure = err;
    });
  }

  /** Adds a row; returns a promise only when the batch went to the file and must be awaited (backpressure). */
  write(row: readonly CopyValue[]): Promise<void> | undefined {
    this.batch += `${row.map(encodeCopyValue).join('\t')}\n`;
    this.rows++;
    return this.batch.length >= BATCH_BYTES ? this.flush() : undefined;
  }

  private async flush(): Promise<void> {
    if (this.failure) throw this.failure;
    this.bytes += Buffer.byteLength(this.batch);
    // Writes complete in order, so the last one's callback means the file holds every byte before it.
    this.written = new Promise((resolve) => {
      if (!this.out.write(this.batch, () => resolve())) this.drained = once(this.out, 'drain').then(() => undefined);
    });
    this.batch = '';
    if (this.drained) await this.drained;
    this.drained = undefined;
  }

  private written: Promise<void> = Promise.resolve();
  private drained: Promise<void> | undefined;

  /** Writes out everything buffered and waits until the file holds it (a checkpoint's `bytes` are real). */
  async sync(): Promise<void> {
    if (this.batch) await this.flush();
    await this.written;
    if (this.failure) throw this.failure;
  }

  async close(): Promise<void> {
    if (this.batch) await this.flush();
    this.out.end();
    await once(this.out, 'finish');
    if (this.failure) throw this.failure;
  }

  /** Closes without caring for the content (the attempt failed; the file is removed with its folder). */
  abandon(): void {
    this.out.destroy();
  }
}
