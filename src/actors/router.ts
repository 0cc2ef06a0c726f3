/**
 * Routing strategies: which healthy replica takes a `route` call. A service routes calls outside
 * a session round-robin, and pins each session to one replica (`SessionRouter`), chosen
 * least-loaded when the session starts or its replica fails.
 */

/** What a router may look at (and, for sessions, count) on a replica. */
export interface Routable {
  readonly state: string;
  /** Requests running or queued. */
  readonly load: number;
  /** Sessions pinned to the replica. */
  sessions: number;
}

/** Picks one of `healthy` (never empty). */
export interface Router {
  choose<R extends Routable>(healthy: readonly R[]): R;
}

/** Each call to the next replica in turn. */
export class RoundRobinRouter implements Router {
  private next = 0;
  choose<R extends Routable>(healthy: readonly R[]): R {
    return healthy[this.next++ % healthy.length]!;
  }
}

/** The replica with the fewest requests running or queued; fewest sessions on ties, then the first. */
export class LeastLoadedRouter implements Router {
  choose<R extends Routable>(healthy: readonly R[]): R {
    return healthy.reduce((a, b) => (b.load < a.load || (b.load === a.load && b.sessions < a.sessions) ? b : a));
  }
}

/**
 * Sticky sessions: a session keeps its replica while that replica is healthy; a new session, or
 * one whose replica failed, is placed by `fallback`. Keeps each replica's `sessions` count.
 */
export class SessionRouter<R extends Routable> {
  private readonly pinned = new Map<string, R>();

  constructor(private readonly fallback: Router = new LeastLoadedRouter()) {}

  choose(healthy: readonly R[], sessionId: string): R {
    const current = this.pinned.get(sessionId);
    if (current?.state === "healthy") return current;
    if (current) current.sessions--;
    const chosen = this.fallback.choose(healthy);
    chosen.sessions++;
    this.pinned.set(sessionId, chosen);
    return chosen;
  }

  /** Forget a session; its replica's count drops. */
  release(sessionId: string): void {
    const replica = this.pinned.get(sessionId);
    if (replica) replica.sessions--;
    this.pinned.delete(sessionId);
  }
}
