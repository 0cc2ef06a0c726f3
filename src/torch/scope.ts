/**
 * Deterministic memory management. JavaScript has no destructors, so every tensor created
 * inside `tidy(fn)` is disposed when `fn` returns, except the tensors in its result (which move
 * to the enclosing scope) and those passed to `keep`. Outside any scope a tensor lives until
 * `dispose()` (or, as a last resort, until the garbage collector finalizes its handle).
 * Scopes are synchronous on purpose: an implicit scope across `await` would capture tensors
 * created by unrelated concurrent tasks.
 */
export const TRACKED: unique symbol = Symbol("torchforge.tracked");

export interface Tracked {
  readonly [TRACKED]: true;
  dispose(): void;
  /** Called when the object leaves every scope alive: from now on only GC may reclaim it. */
  escaped(): void;
}

// Each open scope lists the tensors created in it. Arrays, not Sets: a Set would hash every new
// tensor, which costs a noticeable share of a small op; `keep` (rare) searches instead and
// leaves a hole.
const scopes: (Tracked | null)[][] = [];

/** Registers a new tensor with the innermost scope; outside `tidy` it has escaped at birth. */
export function track(t: Tracked): void {
  const top = scopes[scopes.length - 1];
  if (top !== undefined) top.push(t);
  else t.escaped();
}

/** Exempts tensors from every enclosing `tidy`; they then live until `dispose()`. */
export function keep<T extends Tracked | Tracked[]>(t: T): T {
  const list = Array.isArray(t) ? t : [t];
  for (const x of list) {
    let held = false;
    for (const s of scopes) {
      for (let i = s.indexOf(x); i !== -1; i = s.indexOf(x, i + 1)) {
        s[i] = null;
        held = true;
      }
    }
    if (held) x.escaped();
  }
  return t;
}

function isTracked(x: unknown): x is Tracked {
  return typeof x === "object" && x !== null && TRACKED in x;
}

/** Tensors reachable from a result through arrays and plain objects. */
function collect(value: unknown, out: Set<Tracked>, seen: Set<unknown>): void {
  if (typeof value !== "object" || value === null || seen.has(value)) return;
  seen.add(value);
  if (isTracked(value)) {
    out.add(value);
    return;
  }
  if (Array.isArray(value)) {
    for (const v of value) collect(v, out, seen);
    return;
  }
  if (value instanceof Map) {
    for (const v of value.values()) collect(v, out, seen);
    return;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto === Object.prototype || proto === null) for (const v of Object.values(value)) collect(v, out, seen);
}

/**
 * Runs `fn` and disposes every tensor it created except those in its result.
 * @example const loss = torch.tidy(() => logits.logSoftmax(-1).gather(-1, idx).neg().mean());
 */
export function tidy<T>(fn: () => T): T {
  const scope: (Tracked | null)[] = [];
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
    if (result instanceof Promise) {
      result.catch(() => undefined);
      throw new TypeError("tidy(fn): fn must be synchronous; an async scope would capture other tasks' tensors");
    }
  } catch (err) {
    scopes.pop();
    for (const t of scope) t?.dispose();
    throw err;
  }
  scopes.pop();
  const survivors = new Set<Tracked>();
  if (typeof result === "object" && result !== null) collect(result, survivors, new Set());
  const parent = scopes[scopes.length - 1];
  for (const t of scope) {
    if (t === null) continue;
    if (survivors.size === 0 || !survivors.has(t)) t.dispose();
    else {
      survivors.delete(t); // listed once even if the scope held it twice
      if (parent) parent.push(t);
      else t.escaped();
    }
  }
  return result;
}

/** Disposes every tensor found in `value` (a tensor, array or plain object of tensors). */
export function dispose(value: unknown): void {
  const found = new Set<Tracked>();
  collect(value, found, new Set());
  for (const t of found) t.dispose();
}
