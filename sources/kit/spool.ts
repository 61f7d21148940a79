// Spool folders: where a connector keeps a download it must read twice (a zip's central directory sits at
// its end). Each folder is named after the worker process that made it, so a process killed mid-download
// (SIGKILL runs no `finally`) leaves a folder that the next worker start recognises as orphaned and removes.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

const PREFIX = 'tedi-spool-';
/** tedi-spool-<pid>-<label>-<random> */
const NAME = /^tedi-spool-(\d+)-/;

/** A new, empty spool folder for this process; remove it with `removeSpoolDir` when done. */
export function makeSpoolDir(label: string, root = os.tmpdir()): Promise<string> {
  return fsp.mkdtemp(path.join(root, `${PREFIX}${process.pid}-${label}-`));
}

export function removeSpoolDir(dir: string): Promise<void> {
  return fsp.rm(dir, { recursive: true, force: true });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: alive, but someone else's.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes the spool folders of processes that no longer run; returns what it removed. */
export function sweepOrphanSpoolDirs(root = os.tmpdir()): string[] {
  const removed: string[] = [];
  for (const entry of fs.readdirSync(root)) {
    const pid = NAME.exec(entry)?.[1];
    if (!pid || isAlive(Number(pid))) continue;
    const dir = path.join(root, entry);
    fs.rmSync(dir, { recursive: true, force: true });
    removed.push(dir);
  }
  return removed;
}

/**
 * This process's spool folder for one run (`key`, e.g. an ingest key): the same path on every attempt, so a
 * retried attempt in this process finds what the last one wrote (see the stage's resume). Created if absent.
 */
export async function runSpoolDir(label: string, key: string, root = os.tmpdir()): Promise<string> {
  const digest = createHash('sha256').update(key).digest('hex').slice(0, 16);
  const dir = path.join(root, `${PREFIX}${process.pid}-${label}-${digest}`);
  await fsp.mkdir(dir, { recursive: true });
  return dir;
}

/** Removes this process's `label` folders untouched for `olderThanMs` (runs that never came back). */
export function sweepStaleRunSpoolDirs(label: string, olderThanMs: number, root = os.tmpdir()): void {
  const own = `${PREFIX}${process.pid}-${label}-`;
  for (const entry of fs.readdirSync(root)) {
    if (!entry.startsWith(own)) continue;
    const dir = path.join(root, entry);
    const stat = fs.statSync(dir, { throwIfNoEntry: false });
    if (stat && Date.now() - stat.mtimeMs > olderThanMs) fs.rmSync(dir, { recursive: true, force: true });
  }
}
