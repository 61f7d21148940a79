// A host's request budget, shared by everything that talks to the host. The HTTP client asks for a slot
// before every try and waits the delay it is given; it never decides the spacing itself, so two sources
// on one host, or five workers on one queue, cannot each spend the host's whole budget.
// Production: PostgresRateBudget (pg-rate-budget.ts), shared by every worker process. Here: the key and
// an in-process budget for unit tests of the client.

export interface RateBudget {
  /** Reserves the next request slot to `host` (see budgetHost); resolves with how long to wait for it, in ms. */
  reserve(host: string): Promise<number>;
}

/**
 * The budget key of a URL: its host as a Host header names it, lower-cased, with the port when it is not
 * the scheme's default (`api.worldbank.org`, `127.0.0.1:8080`). host_rate_limits.host uses the same form.
 */
export function budgetHost(url: string | URL): string {
  return new URL(url).host.toLowerCase();
}

/**
 * One process's budget at a fixed rate per host: requests spaced 1/rate apart, no bursts. Only for unit
 * tests of the client (and clients built without a budget): it knows nothing of other processes.
 */
export class LocalRateBudget implements RateBudget {
  private readonly nextSlotAt = new Map<string, number>();

  constructor(
    private readonly requestsPerSecond: number,
    private readonly now: () => number = Date.now,
  ) {}

  async reserve(host: string): Promise<number> {
    const spacing = 1000 / this.requestsPerSecond;
    const now = this.now();
    const at = Math.max(now, this.nextSlotAt.get(host) ?? 0);
    this.nextSlotAt.set(host, at + spacing);
    return at - now;
  }
}
