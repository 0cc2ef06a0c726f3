/**
 * LoRA (Hu et al. 2021) on the Llama-family decoder, laid out like PEFT so adapters move between
 * the two: each targeted `nn.Linear` (matched by its Hugging Face module name) gets
 * `y = x Wᵀ + b + dropout(x) Aᵀ Bᵀ · alpha/r` with A (r, in) Kaiming-uniform and B (out, r) zero,
 * so a fresh adapter leaves the model unchanged. The base weights are frozen (no gradient), and
 * the adapters live in their own module tree whose state-dict keys are PEFT's file keys
 * (`base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight`): the base model's own state
 * dict (its checkpoint) is untouched, a trainer given `LoraAdapters` trains and saves only them,
 * and only their tensors travel through the weight store.
 *
 * Adapters are applied unmerged (an extra branch per layer, see `nn.LinearAdapter`), or merged
 * into the base weights with `merge()` (exactly undone by `unmerge()`, which restores a saved copy
 * rather than subtracting, so the frozen base stays bit-identical).
 */
import { torch, nn, type Tensor, type DType } from "../torch/index.ts";
import { LoraConfigError } from "./errors.ts";
import type { CausalLM } from "./llama.ts";

export interface LoraConfig {
  /** Rank r of A (r, in) and B (out, r). */
  r: number;
  /** Scale numerator: the branch is multiplied by alpha / r (alpha / √r with `useRslora`). */
  alpha: number;
  /** Dropout on the branch's input while training with autograd on. @default 0 */
  dropout?: number;
  /**
   * Which linear layers get adapters, by HF module name, as PEFT reads `target_modules`: a list
   * matches a name equal to an entry or ending in `.<entry>` (`["q_proj", "v_proj"]`); a single
   * string is a regular expression the whole name must match; `"all-linear"` is every linear
   * layer but the LM head.
   */
  targetModules: string[] | string;
  /** rsLoRA scaling alpha / √r. @default false */
  useRslora?: boolean;
}

/** A validated `LoraConfig` with its defaults filled in. */
export type ResolvedLoraConfig = Required<LoraConfig>;

/** Validates a LoRA config; errors name the field and what it must be. */
export function resolveLoraConfig(config: LoraConfig, options: { source?: string } = {}): ResolvedLoraConfig {
  const src = options;
  if (typeof config !== "object" || config === null) throw new LoraConfigError("config", config, "an object { r, alpha, targetModules, ... }", src);
  const { r, alpha } = config;
  const dropout = config.dropout ?? 0;
  const useRslora = config.useRslora ?? false;
  if (!Number.isInteger(r) || r < 1) throw new LoraConfigError("r", r, "an integer >= 1", src);
  if (typeof alpha !== "number" || !Number.isFinite(alpha) || alpha <= 0) throw new LoraConfigError("alpha", alpha, "a finite number > 0", src);
  if (typeof dropout !== "number" || !(dropout >= 0 && dropout < 1)) throw new LoraConfigError("dropout", dropout, "a number in [0, 1)", src);
  if (typeof useRslora !== "boolean") throw new LoraConfigError("useRslora", useRslora, "a boolean", src);
  const t = config.targetModules;
  const okList = Array.isArray(t) && t.length > 0 && t.every((x) => typeof x === "string" && x.length > 0);
  if (!okList && !(typeof t === "string" && t.length > 0)) {
    throw new LoraConfigError("targetModules", t, 'a non-empty list of module names (["q_proj", "v_proj"]), a regular expression string, or "all-linear"', src);
  }
  if (typeof t === "string" && t !== "all-linear") {
    try {
      new RegExp(t);
    } catch (err) {
      throw new LoraConfigError("targetModules", t, "a valid regular expression", { ...src, cause: err });
    }
  }
  return { r, alpha, dropout, targetModules: Array.isArray(t) ? [...t] : t, useRslora };
}

/** The scale of the branch: alpha / r, or alpha / √r with rsLoRA. */
export function loraScaling(config: Pick<LoraConfig, "r" | "alpha" | "useRslora">): number {
  return config.useRslora ? config.alpha / Math.sqrt(config.r) : config.alpha / config.r;
}

/** Whether the module named `name` is targeted (PEFT's `target_modules` semantics; see `LoraConfig`). */
export function isLoraTarget(name: string, targetModules: string[] | string): boolean {
  if (targetModules === "all-linear") return name !== "lm_head";
  if (typeof targetModules === "string") return new RegExp(`^(?:${targetModules})$`).test(name);
  return targetModules.some((t) => name === t || name.endsWith(`.${t}`));
}

/** One adapted layer: `lora_A` (in → r) and `lora_B` (r → out), PEFT's module names. */
export class LoraLayer extends nn.Module implements nn.LinearAdapter {
  readonly loraA: nn.Linear;
  readonly loraB: nn.Linear;
  readonly scaling: number;
  readonly dropout: number;
  constructor(
    readonly base: nn.Linear,
    config: ResolvedLoraConfig,
    options: { dtype?: DType; device?: string } = {},
  ) {
    super();
    const o = { dtype: options.dtype ?? "float32", device: options.device ?? base.weight.device, bias: false };
    // nn.Linear's init is PEFT's for A: Kaiming-uniform with a = √5. B starts at zero.
    this.loraA = this.registerModule("lora_A", new nn.Linear(base.inFeatures, config.r, o));
    this.loraB = this.registerModule("lora_B", new nn.Linear(config.r, base.outFeatures, o));
    torch.noGrad(() => this.loraB.weight.zero_());
    this.scaling = loraScaling(config);
    this.dropout = config.dropout;
  }

  /** The branch `dropout(x) Aᵀ Bᵀ · scaling`, computed in the adapter's dtype, returned in x's. */
  forward(x: Tensor): Tensor {
    const w = this.loraA.weight;
    let h = x.dtype === w.dtype ? x : x.to(w.dtype);
    // Dropout only in a training forward (autograd on): never in generation or no-grad scoring.
    if (this.dropout > 0 && this.training && torch.isGradEnabled()) {
      const keep = torch.rand(h.shape, { device: h.device }).ge(this.dropout).to(w.dtype);
      h = h.mul(keep).mul(1 / (1 - this.dropout));
    }
    const y = this.loraB.forward(this.loraA.forward(h)).mul(this.scaling);
    return y.dtype === x.dtype ? y : y.to(x.dtype);
  }

  /** The branch as a weight update (out, in): `B A · scaling`, in the adapter's dtype. */
  deltaWeight(): Tensor {
    return this.loraB.weight.matmul(this.loraA.weight).mul(this.scaling);
  }
}

/** A plain node of the adapters' module tree (mirrors the base model's module paths). */
class LoraNode extends nn.Module {}

export interface ApplyLoraOptions {
  /** dtype of A and B (fp32 adapters train on a bf16/fp16 frozen base). @default "float32" */
  dtype?: DType;
}

/**
 * The LoRA adapters of one model (PEFT's `PeftModel` role, minus the forwarding): parameters are
 * the adapters' only, named as in PEFT's `adapter_model.safetensors`. The model keeps running its
 * own `forward`; its targeted layers call the adapters. Create with `applyLora`.
 */
export class LoraAdapters extends nn.Module {
  readonly config: ResolvedLoraConfig;
  readonly model: CausalLM;
  /** Targeted layers by HF module name (`model.layers.0.self_attn.q_proj`). */
  readonly layers: ReadonlyMap<string, LoraLayer>;
  #saved: Map<nn.Linear, Tensor> | null = null;

  constructor(model: CausalLM, config: LoraConfig, options: ApplyLoraOptions = {}) {
    super();
    this.config = resolveLoraConfig(config);
    this.model = model;
    const targets = [...model.namedModules()].filter(([name, m]) => m instanceof nn.Linear && isLoraTarget(name, this.config.targetModules)) as [string, nn.Linear][];
    if (targets.length === 0) {
      const linears = [...model.namedModules()].filter(([, m]) => m instanceof nn.Linear).map(([n]) => n.split(".").pop()!);
      throw new LoraConfigError("targetModules", this.config.targetModules, `names of linear layers in the model (it has: ${[...new Set(linears)].join(", ")})`);
    }
    const attached = targets.filter(([, l]) => l.adapter !== null).map(([n]) => n);
    if (attached.length) throw new LoraConfigError("model", attached[0], "a model without adapters (detach() the previous LoraAdapters first)");
    const root = this.registerModule("base_model", new LoraNode());
    const layers = new Map<string, LoraLayer>();
    for (const [name, linear] of targets) {
      let node: nn.Module = root;
      const path = ["model", ...name.split(".")];
      for (const part of path.slice(0, -1)) {
        const child = [...node.namedChildren()].find(([n]) => n === part)?.[1];
        node = child ?? node.registerModule(part, new LoraNode());
      }
      const layer = node.registerModule(path[path.length - 1]!, new LoraLayer(linear, this.config, { dtype: options.dtype }));
      layers.set(name, layer);
    }
    this.layers = layers;
    // The base is frozen: no gradients, so a trainer's optimizer never sees it.
    for (const p of model.parameters()) p.requiresGrad_(false);
    for (const layer of layers.values()) layer.base.adapter = layer;
  }

  /** True while the adapters are merged into the base weights. */
  get merged(): boolean {
    return this.#saved !== null;
  }

  /**
   * Adds each adapter's `B A · scaling` into its base weight (in the base's dtype) and unhooks the
   * branch: the forward then costs what the base model's does. The original weights are kept, so
   * `unmerge()` restores them exactly.
   */
  merge(): void {
    if (this.#saved) return;
    const saved = new Map<nn.Linear, Tensor>();
    torch.noGrad(() => {
      for (const layer of this.layers.values()) {
        const w = layer.base.weight;
        torch.tidy(() => {
          saved.set(layer.base, torch.keep(w.clone()));
          w.add_(layer.deltaWeight().to(w.dtype));
        });
        layer.base.adapter = null;
      }
    });
    this.#saved = saved;
  }

  /** Restores the base weights saved by `merge()` and re-hooks the branches. */
  unmerge(): void {
    const saved = this.#saved;
    if (!saved) return;
    torch.noGrad(() => {
      for (const layer of this.layers.values()) {
        const w0 = saved.get(layer.base)!;
        layer.base.weight.copy_(w0);
        w0.dispose();
        layer.base.adapter = layer;
      }
    });
    this.#saved = null;
  }

  /** Runs `fn` with the adapters merged, unmerging afterwards (also when it throws). */
  withMerged<T>(fn: () => T): T {
    const wasMerged = this.merged;
    this.merge();
    try {
      return fn();
    } finally {
      if (!wasMerged) this.unmerge();
    }
  }

  /** Trainable parameters (the adapters) and all parameters (adapters + base). */
  parameterCounts(): { trainable: number; total: number } {
    const trainable = this.numParameters();
    return { trainable, total: trainable + this.model.numParameters() };
  }

  /** Unmerges, unhooks the adapters from the model and frees them (the model stays frozen). */
  override dispose(): void {
    this.unmerge();
    for (const layer of this.layers.values()) if (layer.base.adapter === layer) layer.base.adapter = null;
    super.dispose();
  }
}

/**
 * Attaches fresh LoRA adapters to `model`'s targeted linear layers and freezes the model.
 * @example const lora = applyLora(model, { r: 16, alpha: 32, targetModules: ["q_proj", "v_proj"] });
 *          new Trainer({ model, trainable: lora, loss });
 */
export function applyLora(model: CausalLM, config: LoraConfig, options: ApplyLoraOptions = {}): LoraAdapters {
  return new LoraAdapters(model, config, options);
}
