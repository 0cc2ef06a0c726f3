/**
 * Which sticky session the current async context belongs to (AsyncLocalStorage), so that
 * `svc.x.route(...)` inside `svc.session(fn)` finds its session without passing an id around.
 * Which replica a session is pinned to is the `SessionRouter`'s business.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { randomUUID } from "node:crypto";

export class SessionScope {
  private readonly store = new AsyncLocalStorage<string>();

  /** The session of the current async context, if any. */
  current(): string | undefined {
    return this.store.getStore();
  }

  /** Start a session for the rest of the current async context; returns its id. */
  enter(): string {
    const id = randomUUID();
    this.store.enterWith(id);
    return id;
  }

  /** Leave session `id` if the current async context is in it. */
  leave(id: string): void {
    if (this.store.getStore() === id) this.store.enterWith(undefined as unknown as string);
  }

  /** Run `fn` in a new session; `end(id)` is called when `fn` settles. */
  runNew<R>(fn: () => Promise<R>, end: (id: string) => void): Promise<R> {
    const id = randomUUID();
    return this.store.run(id, async () => {
      try {
        return await fn();
      } finally {
        end(id);
      }
    });
  }

  /** Run `fn` inside the existing session `id`. */
  runIn<R>(id: string, fn: () => Promise<R>): Promise<R> {
    return this.store.run(id, fn);
  }
}
