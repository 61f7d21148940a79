// A body written to a spool file (spool.ts says where such files live) while it streams, for a reader that
// needs the bytes whole or twice: a zip's directory sits at its end (FAOSTAT bulk), an SDMX-JSON message's
// structure may come after its data. The bytes pass through on their way to the file, so a first reading can
// run while they download; at no point is the body held in memory beyond the file's write buffer.
import { once } from 'node:events';
import fs from 'node:fs';
import { finished } from 'node:stream/promises';

export interface SpoolProgress {
  bytes: number;
  chunks: number;
}

/**
 * The chunks of `body`, each written to `file` before it is handed on (waiting when the disk is behind).
 * Once the body has ended, the file is complete and closed. A write failure (disk full) ends the iteration
 * with that error; the caller removes the file (removeSpoolDir), however the iteration ends.
 */
export async function* spoolThrough(
  body: AsyncIterable<Buffer>,
  file: string,
  progress?: (at: Readonly<SpoolProgress>) => void,
): AsyncGenerator<Buffer> {
  const out = fs.createWriteStream(file);
  let failed: Error | undefined;
  out.on('error', (err) => {
    failed = err;
  });
  const at: SpoolProgress = { bytes: 0, chunks: 0 };
  try {
    for await (const chunk of body) {
      if (failed) throw failed;
      if (!out.write(chunk)) await once(out, 'drain');
      at.bytes += chunk.length;
      at.chunks++;
      progress?.(at);
      yield chunk;
    }
    out.end();
    await finished(out);
  } finally {
    out.destroy();
  }
  if (failed) throw failed;
}
