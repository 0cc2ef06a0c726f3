/**
 * `Module`: a tree of named parameters, buffers and child modules. Names are the registered
 * paths (Hugging Face checkpoint keys such as `q_proj`), which may differ from the camelCase
 * fields that hold them. Parameters are exempt from `tidy` and live until `dispose()`.
 */
import { Tensor } from "../tensor.ts";
import { keep } from "../scope.ts";
import { noGrad } from "../autograd.ts";
import type { DType } from "../dtype.ts";
import { isFloatingPoint } from "../dtype.ts";

export type StateDict = Map<string, Tensor>;

export interface LoadStateDictOptions {
  /** Every key must match both ways. @default true */
  strict?: boolean;
}
export interface LoadStateDictResult {
  missingKeys: string[];
  unexpectedKeys: string[];
}

export class StateDictError extends Error {
  override name = "StateDictError";
}

export class Module {
  training = true;
  readonly #params = new Map<string, Tensor | null>();
  readonly #buffers = new Map<string, { tensor: Tensor; persistent: boolean }>();
  readonly #modules = new Map<string, Module>();

  /** Registers `tensor` as a trainable parameter named `name` (it gets `requiresGrad`). */
  registerParameter(name: string, tensor: Tensor | null): Tensor {
    checkName(name, this.#params, this.#buffers, this.#modules);
    if (tensor) keep(tensor.requiresGrad_(true));
    this.#params.set(name, tensor);
    return tensor as Tensor;
  }
  registerBuffer(name: string, tensor: Tensor, options: { persistent?: boolean } = {}): Tensor {
    checkName(name, this.#params, this.#buffers, this.#modules);
    keep(tensor);
    this.#buffers.set(name, { tensor, persistent: options.persistent ?? true });
    return tensor;
  }
  registerModule<M extends Module>(name: string, module: M): M {
    checkName(name, this.#params, this.#buffers, this.#modules);
    this.#modules.set(name, module);
    return module;
  }

  *namedChildren(): Generator<[string, Module]> {
    yield* this.#modules;
  }
  *namedModules(prefix = ""): Generator<[string, Module]> {
    yield [prefix, this];
    for (const [name, m] of this.#modules) yield* m.namedModules(prefix ? `${prefix}.${name}` : name);
  }
  *namedParameters(prefix = ""): Generator<[string, Tensor]> {
    for (const [path, m] of this.namedModules(prefix)) {
      for (const [name, p] of m.#params) if (p) yield [path ? `${path}.${name}` : name, p];
    }
  }
  parameters(): Tensor[] {
    // One tensor may be registered twice (tied embeddings); optimizers must see it once.
    return [...new Set([...this.namedParameters()].map(([, p]) => p))];
  }
  *namedBuffers(prefix = "", options: { persistentOnly?: boolean } = {}): Generator<[string, Tensor]> {
    for (const [path, m] of this.namedModules(prefix)) {
      for (const [name, b] of m.#buffers) {
        if (options.persistentOnly && !b.persistent) continue;
        yield [path ? `${path}.${name}` : name, b.tensor];
      }
    }
  }

  /** The live parameter and persistent-buffer tensors by checkpoint key (do not dispose them). */
  stateDict(): StateDict {
    return new Map([...this.namedParameters(), ...this.namedBuffers("", { persistentOnly: true })]);
  }

  /** Copies values into the existing tensors (casting dtype/device); shapes must match. */
  loadStateDict(state: StateDict | Record<string, Tensor>, options: LoadStateDictOptions = {}): LoadStateDictResult {
    const src = state instanceof Map ? state : new Map(Object.entries(state));
    const own = this.stateDict();
    const missingKeys = [...own.keys()].filter((k) => !src.has(k));
    const unexpectedKeys = [...src.keys()].filter((k) => !own.has(k));
    const mismatched: string[] = [];
    for (const [k, t] of own) {
      const s = src.get(k);
      if (s && s.shape.join(",") !== t.shape.join(",")) mismatched.push(`${k}: checkpoint [${s.shape}] vs model [${t.shape}]`);
    }
    const strict = options.strict ?? true;
    if (mismatched.length || (strict && (missingKeys.length || unexpectedKeys.length))) {
      const parts = [];
      if (mismatched.length) parts.push(`shape mismatch: ${mismatched.join("; ")}`);
      if (strict && missingKeys.length) parts.push(`missing keys: ${missingKeys.join(", ")}`);
      if (strict && unexpectedKeys.length) parts.push(`unexpected keys: ${unexpectedKeys.join(", ")}`);
      throw new StateDictError(`loadStateDict failed (${parts.join(" | ")})`);
    }
    noGrad(() => {
      for (const [k, t] of own) {
        const s = src.get(k);
        if (s) t.copy_(s);
      }
    });
    return { missingKeys, unexpectedKeys };
  }

  train(mode = true): this {
    for (const [, m] of this.namedModules()) m.training = mode;
    return this;
  }
  eval(): this {
    return this.train(false);
  }

  /**
   * Moves floating-point parameters and buffers to a dtype and/or device in place: tensor
   * identities are kept, so optimizers and other holders see the change.
   */
  to(target: DType | string | { dtype?: DType; device?: string }): this {
    noGrad(() => {
      const seen = new Set<Tensor>();
      for (const [, t] of [...this.namedParameters(), ...this.namedBuffers()]) {
        if (seen.has(t)) continue;
        seen.add(t);
        if (!isFloatingPoint(t.dtype) && typeof target !== "string") {
          if (!target.device) continue;
          target = { device: target.device };
        }
        const moved = t.to(target);
        t.setData_(moved);
        moved.dispose();
      }
    });
    return this;
  }

  zeroGrad(): void {
    for (const p of this.parameters()) p.grad = null;
  }

  numParameters(): number {
    return this.parameters().reduce((n, p) => n + p.numel, 0);
  }

  /** Frees every parameter and buffer of this module tree. */
  dispose(): void {
    for (const p of this.parameters()) p.dispose();
    for (const [, b] of this.namedBuffers()) b.dispose();
  }
  [Symbol.dispose](): void {
    this.dispose();
  }
}

function checkName(name: string, ...maps: Map<string, unknown>[]): void {
  if (typeof name !== "string" || name === "" || name.includes(".")) {
    throw new TypeError(`module member name must be a non-empty string without '.'; got ${JSON.stringify(name)}`);
  }
  if (maps.some((m) => m.has(name))) throw new TypeError(`module member '${name}' is already registered`);
}

/** An indexable list of modules registered as `0`, `1`, ... (PyTorch's `nn.ModuleList`). */
export class ModuleList<M extends Module = Module> extends Module implements Iterable<M> {
  readonly items: M[] = [];
  constructor(modules: M[] = []) {
    super();
    for (const m of modules) this.append(m);
  }
  append(m: M): this {
    this.registerModule(String(this.items.length), m);
    this.items.push(m);
    return this;
  }
  get length(): number {
    return this.items.length;
  }
  at(i: number): M {
    const m = this.items.at(i);
    if (!m) throw new RangeError(`ModuleList index ${i} out of range (length ${this.items.length})`);
    return m;
  }
  [Symbol.iterator](): Iterator<M> {
    return this.items[Symbol.iterator]();
  }
}
