// Paging by page number ("page=n", the answer says page, pages and total), with the checks that make a
// paged read one consistent snapshot:
//   - the page answered is the page asked (a proxy or a server that ignores `page` would repeat page 1);
//   - total and the source's version stamp stay what page 1 said (the dataset moved underneath);
//   - the records held add up to total.
// A failed check is a retryable PartialResult: a retry reads a consistent snapshot.
import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import { FailureType } from '../../lib/failures';
import type { PagingPoint } from './types';

/** What one page says about itself and holds. */
export interface NumberedPage {
  page: number;
  pages: number;
  total: number;
  /** The source's version stamp, if each page carries one (World Bank `lastupdated`). */
  version?: string | null;
  records: unknown[];
}

export interface PageNumberPaging {
  /** Names the query in messages, e.g. "World Bank indicator X (countries BJ)". */
  describe: string;
  /** Reads page n (1-based) and returns what it says. */
  page(n: number): Promise<NumberedPage>;
  /** Progress after each page (heartbeat details). */
  onPage?(progress: { page: number; pages: number }): void;
  /** Where an earlier attempt got to: pages 1..resume.pages are not read again. */
  resume?: PagingPoint;
  /** After each page, once all its records were handed out: the point to resume from. */
  checkpoint?(at: PagingPoint): Promise<void>;
}

function changedWhilePaging(describe: string, detail: string): ApplicationFailure {
  return ApplicationFailure.retryable(
    `${describe} changed while paging (${detail}); a retry reads a consistent snapshot`,
    FailureType.PartialResult,
  );
}

/**
 * Every record of every page, in order; returns how many there were. Resumed, it starts after the last page
 * read and keeps checking against what page 1 said then (a dataset that moved since fails the check).
 */
export async function* pageNumbered(paging: PageNumberPaging): AsyncGenerator<unknown, number> {
  let first: Pick<NumberedPage, 'pages' | 'total' | 'version'> | undefined = paging.resume?.first;
  let held = paging.resume?.held ?? 0;
  for (let n = (paging.resume?.pages ?? 0) + 1; n <= (first?.pages ?? 1); n++) {
    const page = await paging.page(n);
    first ??= page;
    // An empty result may number itself page 0 of 0.
    if (page.page !== n && !(page.total === 0 && page.page === 0)) {
      throw changedWhilePaging(paging.describe, `asked for page ${n}, the answer is page ${page.page}`);
    }
    if (page.total !== first.total || (page.version ?? null) !== (first.version ?? null)) {
      throw changedWhilePaging(
        paging.describe,
        `page ${n}: total ${first.total} → ${page.total}, version ${first.version} → ${page.version}`,
      );
    }
    paging.onPage?.({ page: n, pages: first.pages });
    held += page.records.length;
    yield* page.records;
    const baseline = { pages: first.pages, total: first.total, version: first.version ?? null };
    await paging.checkpoint?.({ pages: n, held, first: baseline });
  }
  if (held !== first?.total) {
    throw changedWhilePaging(paging.describe, `total ${first?.total}, the pages held ${held} records`);
  }
  return held;
}

/** A page count as APIs spell it: a whole number, or a numeric string in older documents ("per_page": "50"). */
export const wholeCount = z.union([z.number().int().nonnegative(), z.string().regex(/^\d+$/).transform(Number)], {
  error: 'expected a whole number or a numeric string',
});
