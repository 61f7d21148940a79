// The HTTP client's waits (for a rate-budget slot, before a retry) as one helper: a wait ends at once
// when the activity is cancelled, and a long one keeps reporting, so the activity can heartbeat through
// it instead of being presumed dead (the streaming stages' heartbeat timeout is 2 minutes; a Retry-After
// may be 120 s).

/** Waits shorter than this are not reported: they would only overwrite the connector's progress details. */
export const WAIT_REPORT_MIN_MS = 1_000;
/** How often a long wait reports again. The SDK throttles heartbeats itself; this only has to be often. */
export const WAIT_REPORT_EVERY_MS = 1_000;

export interface WaitDetails {
  /** Why the request waits. */
  waiting: 'rate-budget' | 'retry';
  /** The budget host, or the source name and method for a retry (never a URL: it may carry a key). */
  target: string;
  /** The whole wait, from its start. */
  delayMs: number;
  /** For a retry: the try about to be made (2 = the first retry), and what the last one got. */
  nextTry?: number;
  lastCause?: string;
}

/** Resolves after `ms`; rejects with the signal's reason (Temporal's CancelledFailure) as soon as it aborts. */
export function wait(
  ms: number,
  opts: { signal?: AbortSignal; onWait?: (details: WaitDetails) => void; details: WaitDetails },
): Promise<void> {
  const { signal, onWait, details } = opts;
  if (signal?.aborted) return Promise.reject(abortReason(signal));
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const report = onWait && ms >= WAIT_REPORT_MIN_MS ? () => onWait(details) : undefined;
    report?.();
    const ticker = report ? setInterval(report, WAIT_REPORT_EVERY_MS) : undefined;
    const done = () => {
      clearTimeout(timer);
      clearInterval(ticker);
      signal?.removeEventListener('abort', onAbort);
    };
    const onAbort = () => {
      done();
      reject(abortReason(signal!));
    };
    const timer = setTimeout(() => {
      done();
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('The wait was aborted', 'AbortError');
}
