/**
 * One Llama-family decoder covering Llama 3.x, Qwen2/2.5, Qwen3 and Mistral, read top to bottom:
 * rotary embedding → attention → MLP → block → model. The differences between the families are
 * config switches (`qkvBias`, `qkNorm`, `ropeScaling`, `tieWordEmbeddings`), not subclasses.
 * Parameters are registered under Hugging Face names (`model.layers.0.self_attn.q_proj.weight`),
 * so a state dict is a checkpoint.
 *
 * What this file deliberately does not do: own a KV cache or batching policy. Attention calls a
 * `KvCacheHook` when one is passed; the generation engine decides where keys and values live.
 * Shapes: B batch, T query length, S key length, C hidden, H/Hkv heads, D head dim, V vocab.
 */
import { torch, F, nn, type Tensor, type DType } from "../torch/index.ts";
import type { ModelConfig } from "./config.ts";

// ---- rotary embedding ------------------------------------------------------------------------

/** Inverse frequencies θ_i = theta^(-2i/D), with Llama 3's frequency-dependent scaling if set. */
export function ropeInverseFrequencies(config: Pick<ModelConfig, "headDim" | "ropeTheta" | "ropeScaling">): number[] {
  const { headDim, ropeTheta, ropeScaling } = config;
  const inv: number[] = [];
  for (let i = 0; i < headDim; i += 2) inv.push(1 / Math.pow(ropeTheta, i / headDim));
  if (!ropeScaling) return inv;
  // Llama 3.1: keep high frequencies, divide low ones by `factor`, interpolate in between.
  const { factor, lowFreqFactor, highFreqFactor, originalMaxPositionEmbeddings: oldLen } = ropeScaling;
  const lowWavelen = oldLen / lowFreqFactor;
  const highWavelen = oldLen / highFreqFactor;
  return inv.map((f) => {
    const wavelen = (2 * Math.PI) / f;
    if (wavelen < highWavelen) return f;
    if (wavelen > lowWavelen) return f / factor;
    const smooth = (oldLen / wavelen - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
    return (1 - smooth) * (f / factor) + smooth * f;
  });
}

/** cos/sin tables (maxPositions, D) in the rotate-half layout `[freqs, freqs]`. */
export function ropeTables(config: Pick<ModelConfig, "headDim" | "ropeTheta" | "ropeScaling">, maxPositions: number): { cos: Tensor; sin: Tensor } {
  const inv = ropeInverseFrequencies(config);
  const D = config.headDim;
  const cos = new Float32Array(maxPositions * D);
  const sin = new Float32Array(maxPositions * D);
  for (let p = 0; p < maxPositions; p++) {
    for (let i = 0; i < inv.length; i++) {
      // Math.fround matches HF, which forms position * inv_freq in float32 before cos/sin.
      const angle = Math.fround(p * Math.fround(inv[i]!));
      const c = Math.cos(angle);
      const s = Math.sin(angle);
      cos[p * D + i] = c;
      cos[p * D + i + inv.length] = c;
      sin[p * D + i] = s;
      sin[p * D + i + inv.length] = s;
    }
  }
  return { cos: torch.tensor(cos, { shape: [maxPositions, D] }), sin: torch.tensor(sin, { shape: [maxPositions, D] }) };
}

// ---- attention -------------------------------------------------------------------------------

/** What attention attends to after a cache has seen this step's keys and values. */
export interface CachedKv {
  keys: Tensor; // (B, Hkv, S, D)
  values: Tensor; // (B, Hkv, S, D)
  /** Boolean (true = attend), broadcastable to (B, H, T, S). */
  attnMask?: Tensor | null;
  /** Causal mask aligned to the last key. */
  isCausal: boolean;
  /** Rows whose leading keys/values equal another row's (shared prompt); see `F.AttentionOptions.sharedPrefix`. */
  sharedPrefix?: { rows: Tensor; keys: Tensor } | null;
}

/** The engine's side of a KV cache: store this layer's new k/v, return what to attend to. */
export interface KvCacheHook {
  update(layer: number, keys: Tensor, values: Tensor): CachedKv;
}

export interface AttentionInputs {
  cos: Tensor; // (T, D) or (B, 1, T, D)
  sin: Tensor;
  cache?: KvCacheHook;
  /** Boolean key mask (B, 1, T, T) for padded batches without a cache. */
  attnMask?: Tensor | null;
}

export class Attention extends nn.Module {
  readonly qProj: nn.Linear;
  readonly kProj: nn.Linear;
  readonly vProj: nn.Linear;
  readonly oProj: nn.Linear;
  readonly qNorm: nn.RMSNorm | null = null;
  readonly kNorm: nn.RMSNorm | null = null;
  /** q/k/v as one GEMM when packed for inference. */
  readonly qkv: nn.LinearGroup;

  constructor(
    readonly config: ModelConfig,
    readonly layerIndex: number,
    options: nn.LayerOptions = {},
  ) {
    super();
    const { hiddenSize: C, numHeads: H, numKvHeads: Hkv, headDim: D, qkvBias, oBias } = config;
    this.qProj = this.registerModule("q_proj", new nn.Linear(C, H * D, { ...options, bias: qkvBias }));
    this.kProj = this.registerModule("k_proj", new nn.Linear(C, Hkv * D, { ...options, bias: qkvBias }));
    this.vProj = this.registerModule("v_proj", new nn.Linear(C, Hkv * D, { ...options, bias: qkvBias }));
    this.oProj = this.registerModule("o_proj", new nn.Linear(H * D, C, { ...options, bias: oBias }));
    this.qkv = new nn.LinearGroup([this.qProj, this.kProj, this.vProj]);
    if (config.qkNorm) {
      // Qwen3: RMSNorm over each head's D features, before RoPE.
      this.qNorm = this.registerModule("q_norm", new nn.RMSNorm(D, { ...options, eps: config.rmsNormEps }));
      this.kNorm = this.registerModule("k_norm", new nn.RMSNorm(D, { ...options, eps: config.rmsNormEps }));
    }
  }

  forward(x: Tensor, inputs: AttentionInputs): Tensor {
    const [B, T] = x.shape as [number, number, number];
    const { numHeads: H, numKvHeads: Hkv, headDim: D } = this.config;
    const [qOut, kOut, vOut] = this.qkv.forward(x);
    let q = qOut!.view(B, T, H, D); // (B, T, H, D)
    let k = kOut!.view(B, T, Hkv, D); // (B, T, Hkv, D)
    const v = vOut!.view(B, T, Hkv, D).transpose(1, 2); // (B, Hkv, T, D)
    if (this.qNorm && this.kNorm) {
      q = this.qNorm.forward(q);
      k = this.kNorm.forward(k);
    }
    q = F.applyRotaryEmb(q.transpose(1, 2), inputs.cos, inputs.sin); // (B, H, T, D)
    k = F.applyRotaryEmb(k.transpose(1, 2), inputs.cos, inputs.sin); // (B, Hkv, T, D)
    const kv: CachedKv = inputs.cache
      ? inputs.cache.update(this.layerIndex, k, v)
      : { keys: k, values: v, attnMask: inputs.attnMask, isCausal: !inputs.attnMask };
    let y: Tensor;
    const rep = H / Hkv;
    if (T === 1 && rep > 1 && (!kv.attnMask || kv.attnMask.shape[1] === 1)) {
      // Decode with GQA: fold the rep query heads sharing a kv head into the query axis, so
      // attention reads the cache without repeating k/v (3x faster on CPU). One query attends to
      // every cached key, so causality adds nothing here.
      y = F.scaledDotProductAttention(q.view(B, Hkv, rep, D), kv.keys, kv.values, { attnMask: kv.attnMask, sharedPrefix: kv.sharedPrefix }).view(B, H, 1, D); // (B, H, 1, D)
    } else {
      y = F.scaledDotProductAttention(q, kv.keys, kv.values, { attnMask: kv.attnMask, isCausal: kv.isCausal, sharedPrefix: kv.sharedPrefix }); // (B, H, T, D)
    }
    return this.oProj.forward(y.transpose(1, 2).reshape(B, T, H * D)); // (B, T, C)
  }

  linearGroups(): nn.LinearGroup[] {
    return [this.qkv];
  }
}

// ---- MLP -------------------------------------------------------------------------------------

/** SwiGLU: down(silu(gate(x)) * up(x)). */
export class Mlp extends nn.Module {
  readonly gateProj: nn.Linear;
  readonly upProj: nn.Linear;
  readonly downProj: nn.Linear;
  /** gate/up as one GEMM when packed for inference. */
  readonly gateUp: nn.LinearGroup;
  constructor(config: ModelConfig, options: nn.LayerOptions = {}) {
    super();
    const { hiddenSize: C, intermediateSize: I, mlpBias: bias } = config;
    this.gateProj = this.registerModule("gate_proj", new nn.Linear(C, I, { ...options, bias }));
    this.upProj = this.registerModule("up_proj", new nn.Linear(C, I, { ...options, bias }));
    this.downProj = this.registerModule("down_proj", new nn.Linear(I, C, { ...options, bias }));
    this.gateUp = new nn.LinearGroup([this.gateProj, this.upProj]);
  }
  forward(x: Tensor): Tensor {
    const [gate, up] = this.gateUp.forward(x);
    return this.downProj.forward(F.siluMul(gate!, up!)); // (B, T, C)
  }
  linearGroups(): nn.LinearGroup[] {
    return [this.gateUp];
  }
}

// ---- block -----------------------------------------------------------------------------------

/** Pre-norm residual block: x + attn(norm(x)), then x + mlp(norm(x)). */
export class DecoderLayer extends nn.Module {
  readonly inputLayernorm: nn.RMSNorm;
  readonly selfAttn: Attention;
  readonly postAttentionLayernorm: nn.RMSNorm;
  readonly mlp: Mlp;
  constructor(config: ModelConfig, layerIndex: number, options: nn.LayerOptions = {}) {
    super();
    this.inputLayernorm = this.registerModule("input_layernorm", new nn.RMSNorm(config.hiddenSize, { ...options, eps: config.rmsNormEps }));
    this.selfAttn = this.registerModule("self_attn", new Attention(config, layerIndex, options));
    this.postAttentionLayernorm = this.registerModule("post_attention_layernorm", new nn.RMSNorm(config.hiddenSize, { ...options, eps: config.rmsNormEps }));
    this.mlp = this.registerModule("mlp", new Mlp(config, options));
  }
  forward(x: Tensor, inputs: AttentionInputs): Tensor {
    return this.forwardNormed(x, this.inputLayernorm.forward(x), inputs, null).out; // (B, T, C)
  }

  /**
   * The block given its input `x` and `inputLayernorm(x)`; with `nextNorm` it also returns
   * `nextNorm(out)`. Chaining blocks this way folds every residual add into the following norm
   * (one fused pass instead of two ops at decode sizes).
   */
  forwardNormed(x: Tensor, normed: Tensor, inputs: AttentionInputs, nextNorm: nn.RMSNorm | null): { out: Tensor; nextNormed: Tensor | null } {
    const mid = this.postAttentionLayernorm.addForward(x, this.selfAttn.forward(normed, inputs));
    const mlp = this.mlp.forward(mid.normed);
    if (!nextNorm) return { out: mid.sum.add(mlp), nextNormed: null };
    const next = nextNorm.addForward(mid.sum, mlp);
    return { out: next.sum, nextNormed: next.normed };
  }
}

// ---- model -----------------------------------------------------------------------------------

/** HF's `LlamaModel`: embeddings, blocks, final norm (registered as `model.*`). */
export class DecoderStack extends nn.Module {
  readonly embedTokens: nn.Embedding;
  readonly layers: nn.ModuleList<DecoderLayer>;
  readonly norm: nn.RMSNorm;
  constructor(config: ModelConfig, options: nn.LayerOptions = {}) {
    super();
    this.embedTokens = this.registerModule("embed_tokens", new nn.Embedding(config.vocabSize, config.hiddenSize, options));
    this.layers = this.registerModule("layers", new nn.ModuleList(Array.from({ length: config.numLayers }, (_, i) => new DecoderLayer(config, i, options))));
    this.norm = this.registerModule("norm", new nn.RMSNorm(config.hiddenSize, { ...options, eps: config.rmsNormEps }));
  }
}

export interface ForwardOptions {
  /** Positions (T) or (B, T) for RoPE. @default 0..T-1 */
  positionIds?: Tensor;
  /** Where keys/values of this call go and what to attend to (generation). */
  cache?: KvCacheHook;
  /** (B, T) 1/true for real tokens, 0/false for padding (no cache). Padded keys are never attended. */
  attentionMask?: Tensor;
  /** Compute logits for the last position only: (B, 1, V). @default false */
  lastTokenOnly?: boolean;
}

export interface TokenLogprobsOptions {
  /** Divide logits by this before log-softmax (the sampling temperature). @default 1 */
  temperature?: number;
  /** See `ForwardOptions.attentionMask`. */
  attentionMask?: Tensor;
  /** Logit elements (rows × V) computed at once; logits never exist whole. @default 2^23 (32 MB in float32) */
  chunkElements?: number;
}

const LOGPROB_CHUNK_ELEMENTS = 2 ** 23;

export interface CausalLmOptions extends nn.LayerOptions {
  /** RoPE table length. @default config.maxPositionEmbeddings */
  maxPositions?: number;
}

/**
 * A causal language model: `forward(ids) → logits` and `tokenLogprobs(ids, targets)`.
 * Tied models have no `lm_head.weight` parameter (as in HF checkpoints): logits use the
 * embedding matrix.
 */
export class CausalLM extends nn.Module {
  readonly model: DecoderStack;
  readonly lmHead: nn.Linear | null;
  readonly maxPositions: number;
  readonly #cos: Tensor;
  readonly #sin: Tensor;
  /**
   * Recompute each block in backward instead of keeping its activations (training with grad on
   * only; generation and no-grad scoring are unaffected). Needs `finishBackward()` after
   * `loss.backward()`. @default false
   */
  activationCheckpointing = false;
  #pending: { saved: Tensor[]; leaf: Tensor; inputs: AttentionInputs; held: Tensor[] } | null = null;

  constructor(
    readonly config: ModelConfig,
    options: CausalLmOptions = {},
  ) {
    super();
    this.model = this.registerModule("model", new DecoderStack(config, options));
    this.lmHead = config.tieWordEmbeddings ? null : this.registerModule("lm_head", new nn.Linear(config.hiddenSize, config.vocabSize, { ...options, bias: false }));
    this.maxPositions = options.maxPositions ?? config.maxPositionEmbeddings;
    const { cos, sin } = ropeTables(config, this.maxPositions);
    // Non-persistent: not part of the checkpoint, but cast and moved with the model like HF's cos/sin.
    const place = { dtype: options.dtype ?? "float32", device: options.device ?? "cpu" };
    this.#cos = this.registerBuffer("rope_cos", moveOwned(cos, place), { persistent: false });
    this.#sin = this.registerBuffer("rope_sin", moveOwned(sin, place), { persistent: false });
  }

  /** dtype of the parameters. */
  get dtype(): DType {
    return this.model.embedTokens.weight.dtype;
  }

  /** Device of the parameters. */
  get device(): string {
    return this.model.embedTokens.weight.device;
  }

  /** Final hidden states (B, T, C) after the last norm. */
  hiddenStates(inputIds: Tensor, options: ForwardOptions = {}): Tensor {
    // Inputs built on the CPU follow a model on a GPU (no copy when they are already there).
    const device = this.device;
    if (inputIds.device !== device) {
      inputIds = inputIds.to({ device });
      const { positionIds, attentionMask } = torch.toDevice({ positionIds: options.positionIds, attentionMask: options.attentionMask }, device);
      options = { ...options, positionIds, attentionMask };
    }
    const T = inputIds.shape[1]!;
    let positionIds = options.positionIds;
    let attnMask: Tensor | null = null;
    if (options.attentionMask && !options.cache) {
      attnMask = paddedCausalMask(options.attentionMask, T);
      // Left padding: count positions from each row's first real token.
      positionIds ??= options.attentionMask.to("int64").cumsum(1).sub(1).clampMin(0);
    }
    const pos = positionIds ?? torch.arange(T, undefined, { device: inputIds.device });
    let cos = F.embedding(pos, this.#cos); // (T, D) or (B, T, D)
    let sin = F.embedding(pos, this.#sin);
    if (cos.ndim === 3) {
      cos = cos.unsqueeze(1); // (B, 1, T, D)
      sin = sin.unsqueeze(1);
    }
    let x = this.model.embedTokens.forward(inputIds); // (B, T, C)
    const layers = [...this.model.layers];
    if (this.activationCheckpointing && torch.isGradEnabled() && !options.cache && layers.length > 0) {
      return this.#checkpointedLayers(x, layers, { cos, sin, attnMask });
    }
    // Each block also returns the next norm of its output (the first block's input norm here, the final norm last).
    let normed = (layers[0]?.inputLayernorm ?? this.model.norm).forward(x);
    const inputs = { cos, sin, cache: options.cache, attnMask };
    for (let i = 0; i < layers.length; i++) {
      // One scope per block, and the block's input freed once it ran: a forward then holds one
      // block's intermediates at a time instead of every block's until the caller's tidy ends
      // (with autograd on, the graph still keeps what backward needs).
      const next = torch.tidy(() => layers[i]!.forwardNormed(x, normed, inputs, layers[i + 1]?.inputLayernorm ?? this.model.norm));
      x.dispose();
      normed.dispose();
      x = next.out;
      normed = next.nextNormed!;
    }
    x.dispose();
    return normed;
  }

  /**
   * Activation checkpointing by hand (the addon has no custom autograd functions): with grad on,
   * the blocks run WITHOUT autograd keeping only each block's input; the final norm starts the
   * graph from a detached leaf. `finishBackward()`, called right after `loss.backward()` (the
   * trainer does), recomputes each block with autograd from last to first and back-propagates the
   * leaf's gradient through it, so at most one block's activations exist at a time.
   */
  #checkpointedLayers(x0: Tensor, layers: DecoderLayer[], inputs: AttentionInputs): Tensor {
    this.#dropPending();
    const saved: Tensor[] = [x0];
    torch.noGrad(() => {
      for (const layer of layers) {
        const prev = saved[saved.length - 1]!;
        saved.push(torch.tidy(() => layer.forward(prev, inputs)));
      }
    });
    const last = saved.pop()!;
    const leaf = last.detach().requiresGrad_(true);
    last.dispose();
    // Kept past the caller's scope until finishBackward (or the next forward) releases them.
    const held = [...saved, leaf, inputs.cos, inputs.sin, ...(inputs.attnMask ? [inputs.attnMask] : [])];
    torch.keep(held);
    this.#pending = { saved, leaf, inputs, held };
    return this.model.norm.forward(leaf);
  }

  /**
   * Completes the backward pass of an activation-checkpointed forward (see
   * `activationCheckpointing`); a no-op otherwise. Call it after `loss.backward()`.
   */
  finishBackward(): void {
    const p = this.#pending;
    if (!p) return;
    this.#pending = null;
    try {
      let grad = p.leaf.grad;
      const layers = [...this.model.layers];
      for (let i = layers.length - 1; i >= 0 && grad; i--) {
        const g = grad;
        grad = torch.tidy(() =>
          torch.enableGrad(() => {
            // Block 0's input carries the embedding's graph: backward reaches the embedding weights.
            const input = i === 0 ? p.saved[0]! : p.saved[i]!.detach().requiresGrad_(true);
            layers[i]!.forward(input, p.inputs).backward(g);
            return i === 0 ? null : input.grad;
          }),
        );
        g.dispose();
      }
      grad?.dispose();
    } finally {
      for (const t of p.held) t.dispose();
    }
  }

  #dropPending(): void {
    if (this.#pending) for (const t of this.#pending.held) t.dispose();
    this.#pending = null;
  }

  /** Logits (B, T, V), or (B, 1, V) with `lastTokenOnly`. */
  forward(inputIds: Tensor, options: ForwardOptions = {}): Tensor {
    let h = this.hiddenStates(inputIds, options);
    if (options.lastTokenOnly) h = h.narrow(1, h.shape[1]! - 1, 1);
    return this.logits(h);
  }

  /** The LM head: hidden states (..., C) → logits (..., V). */
  logits(hidden: Tensor): Tensor {
    return this.lmHead ? this.lmHead.forward(hidden) : F.linear(hidden, this.model.embedTokens.weight);
  }

  /**
   * `log p(targets[b, t] | inputIds[b, ..t])` (B, T) — the scoring path (reference and old-policy
   * logprobs): logits are computed a chunk of positions at a time and reduced to one value per
   * position (log-softmax in float32), so the (B, T, V) logits never exist whole.
   */
  tokenLogprobs(inputIds: Tensor, targets: Tensor, options: TokenLogprobsOptions = {}): Tensor {
    return torch.tidy(() => this.logprobsFromHidden(this.hiddenStates(inputIds, { attentionMask: options.attentionMask }), targets, options));
  }

  /** Logprobs of `tokens[:, 1:]` given their prefixes (B, L-1): scores a prompt + completion. */
  sequenceLogprobs(tokens: Tensor, options: TokenLogprobsOptions = {}): Tensor {
    return torch.tidy(() => {
      const L = tokens.shape[1]!;
      const hidden = this.hiddenStates(tokens, { attentionMask: options.attentionMask }).narrow(1, 0, L - 1);
      return this.logprobsFromHidden(hidden, tokens.narrow(1, 1, L - 1), options);
    });
  }

  /**
   * `log_softmax(logits(hidden) / temperature)` at `targets` (B, T), the LM head run a chunk of
   * positions at a time. Differentiable: with autograd on, only the chunks' logits are saved
   * (once), never a second whole copy.
   */
  logprobsFromHidden(hidden: Tensor, targets: Tensor, options: Omit<TokenLogprobsOptions, "attentionMask"> = {}): Tensor {
    const [B, T, C] = hidden.shape as [number, number, number];
    const n = B * T;
    const rows = Math.max(1, Math.floor((options.chunkElements ?? LOGPROB_CHUNK_ELEMENTS) / this.config.vocabSize));
    const temperature = options.temperature ?? 1;
    return torch.tidy(() => {
      if (targets.device !== hidden.device) targets = targets.to({ device: hidden.device });
      if (n <= rows) return F.tokenLogprobs(this.logits(hidden), targets, { temperature }); // (B, T)
      const flat = hidden.reshape(n, C);
      const flatTargets = targets.reshape(n);
      const parts: Tensor[] = [];
      for (let start = 0; start < n; start += rows) {
        const len = Math.min(rows, n - start);
        parts.push(torch.tidy(() => F.tokenLogprobs(this.logits(flat.narrow(0, start, len)), flatTargets.narrow(0, start, len), { temperature })));
      }
      return torch.cat(parts, 0).view(B, T); // (B, T)
    });
  }
}

function moveOwned(t: Tensor, place: { dtype: DType; device: string }): Tensor {
  if (place.dtype === "float32" && place.device === "cpu") return t;
  const c = t.to(place);
  t.dispose();
  return c;
}

/** (B, 1, T, T): causal AND key is real; a padded query also sees itself so no row is empty (NaN). */
function paddedCausalMask(attentionMask: Tensor, T: number): Tensor {
  const keyReal = attentionMask.to("bool").unsqueeze(1).unsqueeze(1); // (B, 1, 1, T)
  const causal = torch.ones([T, T], { dtype: "bool", device: attentionMask.device }).tril();
  const diag = torch.eye(T, { dtype: "bool", device: attentionMask.device });
  return keyReal.logicalAnd(causal).logicalOr(diag);
}
