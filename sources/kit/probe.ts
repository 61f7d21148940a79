// Probe tokens. A source's change signal is often one stamp per partition (World Bank `lastupdated` per
// indicator, ILOSTAT `last.update` per dataset): the token joins them in one sorted order, so
// reordering the catalog's lists never looks like a change, and any one stamp moving does.

/** "key=stamp;key=stamp", sorted by key; a missing stamp is spelled "none". */
export function joinedToken(stamps: ReadonlyArray<readonly [key: string, stamp: string | null | undefined]>): string {
  return [...stamps]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, stamp]) => `${key}=${stamp ?? 'none'}`)
    .join(';');
}

/** The latest of ISO-ordered stamps (dates, timestamps), or null when none is known. */
export function latestStamp(stamps: ReadonlyArray<string | null | undefined>): string | null {
  let latest: string | null = null;
  for (const stamp of stamps) if (stamp && (latest === null || stamp > latest)) latest = stamp;
  return latest;
}
