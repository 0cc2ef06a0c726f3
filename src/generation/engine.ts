/**
 * The generation engine: batched sampling from a causal LM with a preallocated KV cache and
 * continuous batching.
 *
 * - A request's prompt is prefilled once (batch 1, causal attention); its k/v are copied into
 *   the n slots of its group and the n samples draw their first tokens from the same logits.
 * - Every decode step runs all live slots as one batch (B, 1). A finished sample frees its slot
 *   at once, and the next waiting group joins as soon as n slots are free, so a long completion
 *   does not hold a batch hostage. With nobody waiting, live sequences move down into freed
 *   slots so the batch shrinks.
 * - Each sample has its own seeded random stream, so outputs do not depend on batch composition.
 * - Cache layout (aligned columns with per-row positions) is described in kv-cache.ts.
 *
 * Not done here: tokenization rules (the tokenizer's job), serving/HTTP, speculative decoding,
 * paged attention (prefix k/v are copied per sample, not shared by reference).
 */
import { F, nn, torch, safetensors, type DType, type Tensor } from "../torch/index.ts";
import { CausalLM, loadHfStateDict, type ForwardOptions, type ModelConfig, type Tokenizer, type ChatMessage } from "../models/index.ts";
import { KvCache } from "./kv-cache.ts";
import { deriveSeed, SequenceRng } from "./rng.ts";
import { sampleTokens, type ResolvedSampling } from "./sampler.ts";
import {
  type Completion,
  type GenerationRequest,
  type Prompt,
  type SamplingParams,
  type TopLogprobs,
  InvalidParameterError,
  InvalidPromptError,
  PromptTooLongError,
} from "./types.ts";

/** What the engine needs from a model (a `CausalLM`, or a mock with known logits in tests). */
export interface GenerationModel {
  readonly config: Pick<ModelConfig, "vocabSize" | "numLayers" | "numKvHeads" | "headDim" | "maxPositionEmbeddings">;
  readonly dtype: DType;
  /** Where the parameters live; the cache and per-step inputs go there too. @default "cpu" */
  readonly device?: string;
  /** Longest sequence the model's position tables cover. */
  readonly maxPositions?: number;
  forward(inputIds: Tensor, options?: ForwardOptions): Tensor;
  loadStateDict?(state: Map<string, Tensor>): unknown;
}

export interface GenerationEngineOptions {
  model: GenerationModel;
  /** Needed for string and chat prompts, `text`, and stop strings. */
  tokenizer?: Tokenizer;
  /** Slots in the KV cache = most sequences decoded at once. @default 32 */
  maxBatchSize?: number;
  /** Longest prompt + completion. @default min(model.maxPositions, 2048) */
  maxSeqLen?: number;
  /** Cache columns per slot (≥ maxSeqLen + 1); spare columns make cache compaction rarer. @default 2 × maxSeqLen */
  cacheColumns?: number;
  /** Prefill a group's prompt once for its n samples (false: once per sample; for tests). @default true */
  sharePrefix?: boolean;
  /** Add BOS etc. when encoding string prompts. @default true */
  addSpecialTokens?: boolean;
  /** Passed to the chat template for message prompts (e.g. `{ enableThinking: false }`). */
  chatTemplateOptions?: { enableThinking?: boolean; extraContext?: Record<string, unknown> };
  /**
   * Pack the model's float32 CPU linear weights for MKL's packed GEMM at the start of every
   * `generate` call (reusing the buffers), which made batched decoding ~1.27× faster in fp32
   * (BENCHMARKS.md). Only the engine's own forwards use the packs (other code's forwards, e.g. a
   * trainer's, always see the live weights), and they are dropped when the call ends; weights
   * changed *during* a call are used by the engine from its next call. Needs libtorch with MKL (PyPI x86
   * builds; `F.packedLinearAvailable()`), else it does nothing. Costs one more copy of the
   * linear weights in RAM (MKL reserves up to ~3× in address space but touches ~1×). @default false
   */
  packWeights?: boolean;
}

interface Group {
  requestIndex: number;
  promptIds: number[];
  n: number;
  seed: number;
  metadata: Record<string, unknown>;
  onToken: GenerationRequest["onToken"];
}

interface Sequence {
  group: Group;
  sampleIndex: number;
  seed: number;
  rng: SequenceRng;
  tokens: number[];
  logprobs: number[];
  top: TopLogprobs[] | undefined;
}

interface Resolved extends ResolvedSampling {
  n: number;
  maxTokens: number;
  stopIds: Set<number>;
  stop: string[];
  skipSpecialTokens: boolean;
}

export class GenerationEngine {
  readonly model: GenerationModel;
  readonly tokenizer: Tokenizer | undefined;
  readonly maxBatchSize: number;
  readonly maxSeqLen: number;
  readonly cacheColumns: number;
  /** Stamped on completions; set by `updateWeights`. */
  generatorVersion = 0;
  readonly #options: GenerationEngineOptions;
  #cache: KvCache | null = null;
  #queue: Promise<unknown> = Promise.resolve();
  #packs = new Map<nn.Linear | nn.LinearGroup, F.PackedLinearWeight>();

  constructor(options: GenerationEngineOptions) {
    this.#options = options;
    this.model = options.model;
    this.tokenizer = options.tokenizer;
    this.maxBatchSize = posInt(options.maxBatchSize ?? 32, "maxBatchSize");
    const modelMax = options.model.maxPositions ?? options.model.config.maxPositionEmbeddings;
    this.maxSeqLen = posInt(options.maxSeqLen ?? Math.min(modelMax, 2048), "maxSeqLen");
    if (this.maxSeqLen > modelMax) throw new InvalidParameterError("maxSeqLen", this.maxSeqLen, `at most the model's ${modelMax} positions`);
    this.cacheColumns = posInt(options.cacheColumns ?? 2 * this.maxSeqLen, "cacheColumns");
    if (this.cacheColumns <= this.maxSeqLen) throw new InvalidParameterError("cacheColumns", this.cacheColumns, `greater than maxSeqLen (${this.maxSeqLen})`);
  }

  /** The KV cache, allocated on first use and kept (also across `updateWeights`). */
  get cache(): KvCache {
    if (!this.#cache) {
      const c = this.model.config;
      this.#cache = new KvCache({
        numLayers: c.numLayers,
        numSlots: this.maxBatchSize,
        numKvHeads: c.numKvHeads,
        headDim: c.headDim,
        columns: this.cacheColumns,
        dtype: this.model.dtype,
        device: this.model.device ?? "cpu",
      });
    }
    return this.#cache;
  }

  /**
   * Generates `n` completions per request; results are ordered by request, then sample.
   * Calls are serialised (one batch loop at a time); the loop yields to the event loop between
   * decode steps.
   */
  generate(requests: ReadonlyArray<Prompt | GenerationRequest>, samplingParams: SamplingParams = {}): Promise<Completion[]> {
    return this.#exclusive(() => this.#run(requests, samplingParams));
  }

  /**
   * Copies new weights into the model's existing tensors (the cache is untouched) and stamps
   * `generatorVersion`. `source` is a state dict (HF names; tensors are copied, not kept) or a
   * path to a Hugging Face checkpoint (directory, `.safetensors` or index). Waits for running
   * `generate` calls to finish first.
   */
  updateWeights(source: Map<string, Tensor> | Record<string, Tensor> | string, version: number): Promise<void> {
    if (!Number.isInteger(version) || version < 0) return Promise.reject(new InvalidParameterError("version", version, "a non-negative integer"));
    return this.#exclusive(async () => {
      const fromFile = typeof source === "string";
      const state = fromFile ? safetensors.loadCheckpoint(source, { dtype: this.model.dtype, device: this.model.device }) : source instanceof Map ? source : new Map(Object.entries(source));
      try {
        if (this.model instanceof CausalLM) loadHfStateDict(this.model, state, { source: fromFile ? source : undefined });
        else if (this.model.loadStateDict) torch.noGrad(() => this.model.loadStateDict!(state));
        else throw new InvalidParameterError("model", "loadStateDict", "a model with loadStateDict for updateWeights");
      } finally {
        if (fromFile) for (const t of state.values()) t.dispose();
      }
      this.generatorVersion = version;
    });
  }

  /** Whether `generate` packs linear weights (`packWeights` was asked for and MKL's packed GEMM is available). */
  get weightsPacked(): boolean {
    return (this.#options.packWeights ?? false) && F.packedLinearAvailable();
  }

  /** Frees the KV cache and packed weights (the model belongs to the caller). */
  dispose(): void {
    this.#cache?.dispose();
    this.#cache = null;
    for (const p of this.#packs.values()) p.dispose();
    this.#packs.clear();
  }
  [Symbol.dispose](): void {
    this.dispose();
  }

  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  // ---- request preparation ---------------------------------------------------------------------

  #resolve(p: SamplingParams): Resolved {
    const temperature = p.greedy ? 0 : (p.temperature ?? 1);
    if (!(temperature >= 0) || !Number.isFinite(temperature)) throw new InvalidParameterError("temperature", p.temperature, "a finite number >= 0");
    const topP = p.topP ?? 1;
    if (!(topP > 0 && topP <= 1)) throw new InvalidParameterError("topP", p.topP, "in (0, 1]");
    const topK = p.topK ?? 0;
    if (!Number.isInteger(topK) || topK < 0) throw new InvalidParameterError("topK", p.topK, "an integer >= 0 (0 = off)");
    const minP = p.minP ?? 0;
    if (!(minP >= 0 && minP < 1)) throw new InvalidParameterError("minP", p.minP, "in [0, 1)");
    const n = p.n ?? 1;
    if (!Number.isInteger(n) || n < 1 || n > this.maxBatchSize) throw new InvalidParameterError("n", p.n, `an integer in [1, maxBatchSize = ${this.maxBatchSize}]`);
    const maxTokens = p.maxTokens ?? 256;
    if (!Number.isInteger(maxTokens) || maxTokens < 1) throw new InvalidParameterError("maxTokens", p.maxTokens, "a positive integer");
    const logprobs = p.logprobs ?? 0;
    if (!Number.isInteger(logprobs) || logprobs < 0) throw new InvalidParameterError("logprobs", p.logprobs, "an integer >= 0");
    const stop = [...(p.stop ?? [])];
    if (stop.some((s) => typeof s !== "string" || s === "")) throw new InvalidParameterError("stop", p.stop, "non-empty strings");
    if (stop.length && !this.tokenizer) throw new InvalidParameterError("stop", p.stop, "empty when the engine has no tokenizer");
    const stopIds = new Set<number>(p.stopTokenIds ?? []);
    if (!p.ignoreEos) for (const id of this.tokenizer?.stopTokenIds ?? []) stopIds.add(id);
    return { temperature, topP, topK, minP, n, maxTokens, logprobs, stopIds, stop, skipSpecialTokens: p.skipSpecialTokens ?? true };
  }

  #promptIds(prompt: Prompt, index: number): number[] {
    let ids: number[];
    if (typeof prompt === "string") {
      if (!this.tokenizer) throw new InvalidPromptError(index, "a string prompt needs an engine with a tokenizer");
      ids = this.tokenizer.encode(prompt, { addSpecialTokens: this.#options.addSpecialTokens ?? true });
    } else if (Array.isArray(prompt) && prompt.every((x) => typeof x === "number")) {
      ids = [...(prompt as number[])];
    } else if (Array.isArray(prompt) && prompt.every((m) => typeof m === "object" && m !== null && "role" in m)) {
      if (!this.tokenizer) throw new InvalidPromptError(index, "chat messages need an engine with a tokenizer");
      ids = this.tokenizer.applyChatTemplate(prompt as ChatMessage[], { ...this.#options.chatTemplateOptions, addGenerationPrompt: true, tokenize: true });
    } else {
      throw new InvalidPromptError(index, "prompt must be a string, an array of token ids, or an array of chat messages");
    }
    if (ids.length === 0) throw new InvalidPromptError(index, "prompt is empty (no tokens)");
    const V = this.model.config.vocabSize;
    const bad = ids.find((t) => !Number.isInteger(t) || t < 0 || t >= V);
    if (bad !== undefined) throw new InvalidPromptError(index, `token id ${bad} is outside the vocabulary [0, ${V})`);
    if (ids.length >= this.maxSeqLen) throw new PromptTooLongError(index, ids.length, this.maxSeqLen);
    return ids;
  }

  // ---- the batch loop ----------------------------------------------------------------------------

  async #run(requests: ReadonlyArray<Prompt | GenerationRequest>, samplingParams: SamplingParams): Promise<Completion[]> {
    if (!Array.isArray(requests)) throw new InvalidParameterError("requests", typeof requests, "an array of prompts or requests");
    const params = this.#resolve(samplingParams);
    const baseSeed = samplingParams.seed ?? Math.floor(Math.random() * 2 ** 32);
    const groups: Group[] = requests.map((r, i) => {
      const req: GenerationRequest = typeof r === "object" && r !== null && !Array.isArray(r) && "prompt" in r ? (r as GenerationRequest) : { prompt: r as Prompt };
      return { requestIndex: i, promptIds: this.#promptIds(req.prompt, i), n: params.n, seed: req.seed ?? deriveSeed(baseSeed, i), metadata: req.metadata ?? {}, onToken: req.onToken };
    });
    const results: Completion[][] = groups.map((g) => new Array<Completion>(g.n));
    const packed = this.#packLinears();
    try {
      await this.#loop(groups, params, results);
    } finally {
      for (const m of packed) m.inferencePack = null;
    }
    return results.flat();
  }

  /**
   * Packs (or repacks) the model's float32 CPU linear weights and hands them to the layers:
   * first each `LinearGroup` (q/k/v, gate/up: one stacked GEMM), then every other `Linear`.
   * Returns what to unpack afterwards.
   */
  #packLinears(): { inferencePack: F.PackedLinearWeight | null }[] {
    if (!this.weightsPacked || !(this.model instanceof nn.Module)) return [];
    const installed: { inferencePack: F.PackedLinearWeight | null }[] = [];
    const install = (owner: nn.Linear | nn.LinearGroup, weight: () => Tensor): void => {
      torch.tidy(() => {
        const w = weight();
        const pack = this.#packs.get(owner);
        if (pack) pack.repack(w);
        else this.#packs.set(owner, F.PackedLinearWeight.pack(w).keep());
      });
      owner.inferencePack = this.#packs.get(owner)!;
      installed.push(owner);
    };
    const packable = (l: nn.Linear): boolean => l.weight.dtype === "float32" && l.weight.device === "cpu";
    const grouped = new Set<nn.Linear>();
    const modules = [...this.model.namedModules()].map(([, m]) => m);
    for (const m of modules) {
      if (!nn.hasLinearGroups(m)) continue;
      for (const g of m.linearGroups()) {
        if (!g.linears.every(packable)) continue;
        install(g, () => g.stackedWeight());
        for (const l of g.linears) grouped.add(l);
      }
    }
    for (const m of modules) if (m instanceof nn.Linear && packable(m) && !grouped.has(m)) install(m, () => m.weight);
    return installed;
  }

  async #loop(groups: Group[], params: Resolved, results: Completion[][]): Promise<void> {
    const cache = this.cache;
    const active = new Map<number, Sequence>();
    const pending = [...groups];
    const version = this.generatorVersion;
    const device = this.model.device ?? "cpu";

    const finish = (slot: number, seq: Sequence, reason: "stop" | "length", extra: { stopTokenId?: number; stopString?: string; text?: string }): void => {
      active.delete(slot);
      cache.release(slot);
      let text = extra.text;
      if (text === undefined) {
        const ids = extra.stopTokenId !== undefined ? seq.tokens.slice(0, -1) : seq.tokens;
        text = this.tokenizer && ids.length > 0 ? this.tokenizer.decode(ids, { skipSpecialTokens: params.skipSpecialTokens }) : "";
      }
      const c: Completion = {
        requestIndex: seq.group.requestIndex,
        sampleIndex: seq.sampleIndex,
        text,
        promptIds: seq.group.promptIds,
        tokenIds: seq.tokens,
        logprobs: seq.logprobs,
        stopReason: reason,
        generatorVersion: version,
        metadata: { ...seq.group.metadata, seed: seq.seed, promptTokens: seq.group.promptIds.length },
      };
      if (seq.top) c.topLogprobs = seq.top;
      if (extra.stopTokenId !== undefined) c.metadata.stopTokenId = extra.stopTokenId;
      if (extra.stopString !== undefined) c.metadata.stopString = extra.stopString;
      results[seq.group.requestIndex]![seq.sampleIndex] = c;
    };

    // Appends a sampled token and applies the stop rules (stop id, stop string, max tokens, context).
    const append = (slot: number, seq: Sequence, token: number, logprob: number, top: TopLogprobs | undefined): void => {
      seq.tokens.push(token);
      seq.logprobs.push(logprob);
      if (seq.top && top) seq.top.push(top);
      seq.group.onToken?.(seq.sampleIndex, token, logprob, top);
      if (params.stopIds.has(token)) return finish(slot, seq, "stop", { stopTokenId: token });
      if (params.stop.length) {
        const text = this.tokenizer!.decode(seq.tokens, { skipSpecialTokens: params.skipSpecialTokens });
        let cut = -1;
        let which = "";
        for (const s of params.stop) {
          const at = text.indexOf(s);
          if (at >= 0 && (cut < 0 || at < cut)) [cut, which] = [at, s];
        }
        if (cut >= 0) return finish(slot, seq, "stop", { stopString: which, text: text.slice(0, cut) });
      }
      if (seq.tokens.length >= params.maxTokens || seq.group.promptIds.length + seq.tokens.length >= this.maxSeqLen) finish(slot, seq, "length", {});
    };

    const admit = (group: Group): void => {
      const T = group.promptIds.length;
      const seqs: Sequence[] = Array.from({ length: group.n }, (_, j) => {
        const seed = deriveSeed(group.seed, j);
        return { group, sampleIndex: j, seed, rng: new SequenceRng(seed), tokens: [], logprobs: [], top: params.logprobs > 0 ? [] : undefined };
      });
      const share = this.#options.sharePrefix ?? true;
      const parts = share ? [seqs] : seqs.map((s) => [s]);
      for (const part of parts) {
        const slots = cache.allocate(part.length);
        part.forEach((seq, i) => active.set(slots[i]!, seq)); // before anything can throw, so `finally` frees them
        cache.reserveForPrompt(T);
        const sampled = torch.tidy(() =>
          torch.noGrad(() => {
            const ids = torch.tensor(Int32Array.from(group.promptIds), { shape: [1, T], dtype: "int64", device });
            const logits = F.withPackedLinears(() => this.model.forward(ids, { cache: cache.prefillHook(slots, T), lastTokenOnly: true })); // (1, 1, V)
            const V = logits.shape[2]!;
            return sampleTokens(logits.view(1, V).expand(part.length, V), params, part.map((s) => s.rng.next()));
          }),
        );
        part.forEach((seq, i) => append(slots[i]!, seq, sampled.tokens[i]!, sampled.logprobs[i]!, sampled.top?.[i]));
      }
    };

    const step = (): void => {
      cache.reserveDecodeColumn();
      const rows = cache.batchRows;
      const ids = new Int32Array(rows);
      const pos = new Int32Array(rows);
      const live: number[] = [];
      for (let s = 0; s < rows; s++) {
        const seq = active.get(s);
        if (!seq) continue;
        live.push(s);
        ids[s] = seq.tokens[seq.tokens.length - 1]!;
        pos[s] = cache.length(s);
      }
      const sampled = torch.tidy(() =>
        torch.noGrad(() => {
          const idsT = torch.tensor(ids, { shape: [rows, 1], dtype: "int64", device });
          const posT = torch.tensor(pos, { shape: [rows, 1], dtype: "int64", device });
          let logits = F.withPackedLinears(() => this.model.forward(idsT, { positionIds: posT, cache: cache.decodeHook(rows) })); // (rows, 1, V)
          logits = logits.view(rows, logits.shape[2]!);
          if (live.length !== rows) logits = logits.indexSelect(0, torch.tensor(Int32Array.from(live), { dtype: "int64", device })); // (live, V)
          return sampleTokens(logits, params, live.map((s) => active.get(s)!.rng.next()));
        }),
      );
      cache.advance();
      live.forEach((s, i) => append(s, active.get(s)!, sampled.tokens[i]!, sampled.logprobs[i]!, sampled.top?.[i]));
      compact();
    };

    // Moves the highest live sequences into free lower slots, so finished sequences stop costing
    // compute even when nothing is waiting to join (their slots would otherwise stay in the batch).
    const compact = (): void => {
      if (pending.length > 0 && cache.numFree >= pending[0]!.n) return; // a group joins next; it fills the gaps
      for (;;) {
        const hi = cache.batchRows - 1;
        let free = -1;
        for (let s = 0; s < hi; s++) {
          if (!cache.isLive(s)) {
            free = s;
            break;
          }
        }
        if (free < 0) return;
        cache.move(hi, free);
        active.set(free, active.get(hi)!);
        active.delete(hi);
      }
    };

    try {
      while (pending.length > 0 || active.size > 0) {
        while (pending.length > 0 && cache.numFree >= pending[0]!.n) admit(pending.shift()!);
        if (active.size > 0) step();
        // Let other tasks (actor messages, metrics) run between steps.
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    } finally {
      // A throwing token callback (or forward) must not leave slots allocated for the next call.
      for (const slot of active.keys()) cache.release(slot);
    }
  }
}

function posInt(v: number, name: string): number {
  if (!Number.isInteger(v) || v < 1) throw new InvalidParameterError(name, v, "a positive integer");
  return v;
}
