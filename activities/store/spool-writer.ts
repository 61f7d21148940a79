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

  constructor(readonly file: string) {
    this.out = fs.createWriteStream(file);
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
    const ok = this.out.write(this.batch);
    this.batch = '';
    if (!ok) await once(this.out, 'drain');
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
