// The kit's spool-through (sources/kit/spool-file.ts), tested once here: FAOSTAT's bulk zip download and the
// SDMX-JSON reader's first pass write the body to their spool file through it.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { makeSpoolDir, removeSpoolDir } from '../../sources/kit/spool';
import { spoolThrough } from '../../sources/kit/spool-file';

const dirs: string[] = [];
async function spoolFile(): Promise<string> {
  const dir = await makeSpoolDir('kit-test');
  dirs.push(dir);
  return path.join(dir, 'body');
}
after(async () => {
  for (const dir of dirs) await removeSpoolDir(dir);
});

async function* chunks(n: number, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < n; i++) yield Buffer.alloc(size, i % 256);
}

describe('spoolThrough', () => {
  test('every chunk passes through in order and lands in the file, complete once the body has ended', async () => {
    const file = await spoolFile();
    const seen: Array<{ bytes: number; chunks: number }> = [];
    const passed: Buffer[] = [];
    // 64 KiB chunks of 1 MiB each: well past the write buffer, so the disk's pace (drain) is waited for.
    for await (const chunk of spoolThrough(chunks(64, 1 << 20), file, (at) => seen.push({ ...at }))) {
      passed.push(chunk);
    }
    const written = fs.readFileSync(file);
    assert.equal(written.length, 64 << 20);
    assert.ok(written.equals(Buffer.concat(passed)), 'the file holds exactly the bytes handed on');
    assert.deepEqual(seen.at(-1), { bytes: 64 << 20, chunks: 64 });
    assert.equal(seen.length, 64);
  });

  test('a failing body, a consumer that stops, or a file that cannot be written all end the iteration', async () => {
    const dropped = new Error('socket hang up');
    async function* cut() {
      yield Buffer.from('{"a":');
      throw dropped;
    }
    await assert.rejects(
      (async () => {
        for await (const _ of spoolThrough(cut(), await spoolFile())) void _;
      })(),
      (err) => err === dropped,
    );
    const file = await spoolFile();
    let taken = 0;
    for await (const _ of spoolThrough(chunks(10, 10), file)) if (++taken === 2) break;
    assert.equal(taken, 2, 'stopping early ends the iteration at once (the file is the caller’s to remove)');
    await assert.rejects(
      (async () => {
        for await (const _ of spoolThrough(chunks(3, 10), path.join(path.dirname(file), 'no', 'such', 'dir'))) void _;
      })(),
      (err: NodeJS.ErrnoException) => err.code === 'ENOENT',
    );
  });
});
