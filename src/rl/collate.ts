/**
 * Collation: episodes (plain data) → the training batch tensors the seed documents,
 * `{ inputs: [{ tokens }], targets: [{ response, refLogprobs, advantages, paddingMask, generatorLogprobs }] }`,
 * one `inputs`/`targets` entry per micro-batch (or data-parallel rank).
 *
 * Layout of one row, with P = `promptLength` and R = `responseLength`:
 *
 *     tokens:   [pad pad p0 p1 p2 | r0 r1 r2 pad pad]      (B, P+R)  prompt left-padded, response right-padded
 *     response:                   [r0 r1 r2 pad pad]      (B, R)
 *
 * The model's logits at position P−1+t predict response token t, so response logprobs are
 * `logits[:, P−1 : P+R−1]` gathered at `response` (see `responseLogprobs`).
 *
 * The padding mask is built from each response's length (and its optional `lossMask`), not
 * from `response != padId` as in the seed: when pad == EOS that comparison would also drop the
 * EOS token the model must learn to emit.
 */
import { torch, F, type Tensor } from "../torch/index.ts";
import { CollateError, RLOptionError, ShapeMismatchError } from "./errors.ts";
import type { Episode } from "./types.ts";

export interface TrainingInputs {
  /** Prompt + response token ids, (B, P+R) int64. */
  tokens: Tensor;
  /**
   * 1 for real tokens, 0 for the left padding of prompts and the right padding of responses,
   * (B, P+R) int64. The model must get it: without it, left padding shifts positions and is
   * attended to, and the trained logprobs no longer match the generator's.
   */
  attentionMask: Tensor;
}

export interface TrainingTargets {
  /** Response token ids, right-padded with `padId`, (B, R) int64. */
  response: Tensor;
  /** Reference logprobs of the response tokens, (B, R) float32, 0 at padding; absent if no episode has them. */
  refLogprobs?: Tensor;
  /** One advantage per sequence, (B, 1) float32. */
  advantages: Tensor;
  /** 1 where a response token is trained on, 0 at padding / masked tokens, (B, R) float32. */
  paddingMask: Tensor;
  /** The generator's logprobs of the response tokens, (B, R) float32, 0 at padding; absent if no episode has them. */
  generatorLogprobs?: Tensor;
  /** P: the response starts at this column of `tokens`. */
  promptLength: number;
}

export interface TrainingBatch {
  inputs: TrainingInputs[];
  targets: TrainingTargets[];
}

export interface CollateOptions {
  /** Token id used for padding. */
  padId: number;
  /** P, the padded prompt length. @default the longest prompt over all micro-batches */
  promptLength?: number;
  /** R, the padded response length. @default the longest response over all micro-batches */
  responseLength?: number;
}

/**
 * Collates micro-batches of episodes into tensors. Every micro-batch gets the same P and R, so
 * shapes are stable across micro-batches (and compile/cache friendly).
 * Dispose the result with `torch.dispose(batch)` when the step is done.
 */
export function collate(batches: readonly (readonly Episode[])[], options: CollateOptions): TrainingBatch {
  if (!Number.isInteger(options.padId)) throw new RLOptionError("padId", "an integer token id", options.padId);
  batches.forEach((batch, b) => {
    if (batch.length === 0) throw new CollateError(`batches[${b}]`, "is empty");
  });
  if (batches.length === 0) throw new CollateError("batches", "is empty");
  const all = batches.flat();
  const P = options.promptLength ?? Math.max(0, ...all.map((e) => e.completion.promptIds.length));
  const R = options.responseLength ?? Math.max(0, ...all.map((e) => e.completion.tokenIds.length));
  if (!Number.isInteger(P) || P < 1) throw new RLOptionError("promptLength", "an integer >= 1 (the first response token is predicted from the last prompt token)", P);
  if (!Number.isInteger(R) || R < 1) throw new RLOptionError("responseLength", "an integer >= 1", R);

  const inputs: TrainingInputs[] = [];
  const targets: TrainingTargets[] = [];
  for (const [b, batch] of batches.entries()) {
    const B = batch.length;
    const tokens = new BigInt64Array(B * (P + R));
    const attention = new BigInt64Array(B * (P + R));
    const response = new BigInt64Array(B * R);
    const mask = new Float32Array(B * R);
    const ref = new Float32Array(B * R);
    const gen = new Float32Array(B * R);
    const adv = new Float32Array(B);
    const hasRef = batch.some((e) => e.refLogprobs !== undefined);
    const hasGen = batch.some((e) => e.completion.logprobs !== undefined);
    tokens.fill(BigInt(options.padId));
    response.fill(BigInt(options.padId));
    batch.forEach((e, i) => {
      const where = `batches[${b}][${i}] (episode ${e.id})`;
      const p = e.completion.promptIds;
      const r = e.completion.tokenIds;
      if (p.length > P) throw new CollateError(`${where}.completion.promptIds`, `has ${p.length} tokens, more than promptLength=${P}`);
      if (r.length > R) throw new CollateError(`${where}.completion.tokenIds`, `has ${r.length} tokens, more than responseLength=${R}`);
      if (p.length === 0) throw new CollateError(`${where}.completion.promptIds`, "is empty; a response needs at least one prompt token to be predicted from");
      const row = i * (P + R);
      p.forEach((t, k) => {
        tokens[row + P - p.length + k] = BigInt(t); // left pad
        attention[row + P - p.length + k] = 1n;
      });
      r.forEach((t, k) => {
        tokens[row + P + k] = BigInt(t); // right pad
        attention[row + P + k] = 1n;
        response[i * R + k] = BigInt(t);
      });
      const lm = e.lossMask;
      if (lm !== undefined && lm.length !== r.length) throw new CollateError(`${where}.lossMask`, `has length ${lm.length}, expected ${r.length} (one per response token)`);
      for (let k = 0; k < r.length; k++) mask[i * R + k] = lm === undefined ? 1 : lm[k]!;
      const copyPerToken = (values: number[] | undefined, out: Float32Array, field: string, required: boolean) => {
        if (values === undefined) {
          if (required) throw new CollateError(`${where}.${field}`, "is missing while other episodes in the micro-batch have it");
          return;
        }
        if (values.length !== r.length) throw new CollateError(`${where}.${field}`, `has length ${values.length}, expected ${r.length} (one per response token)`);
        values.forEach((v, k) => (out[i * R + k] = v));
      };
      copyPerToken(e.refLogprobs, ref, "refLogprobs", hasRef);
      copyPerToken(e.completion.logprobs, gen, "completion.logprobs", hasGen);
      if (!Number.isFinite(e.advantage)) throw new CollateError(`${where}.advantage`, `must be a finite number; got ${e.advantage}`);
      adv[i] = e.advantage;
    });
    inputs.push({ tokens: torch.tensor(tokens, { shape: [B, P + R] }), attentionMask: torch.tensor(attention, { shape: [B, P + R] }) });
    targets.push({
      response: torch.tensor(response, { shape: [B, R] }),
      ...(hasRef ? { refLogprobs: torch.tensor(ref, { shape: [B, R] }) } : {}),
      advantages: torch.tensor(adv, { shape: [B, 1] }),
      paddingMask: torch.tensor(mask, { shape: [B, R] }),
      ...(hasGen ? { generatorLogprobs: torch.tensor(gen, { shape: [B, R] }) } : {}),
      promptLength: P,
    });
  }
  return { inputs, targets };
}

/**
 * Response-token slice of full-sequence logits: `logits[:, P−1 : P+R−1]` → (B, R, V), where
 * position P−1+t predicts response token t. A view; no copy.
 */
export function responseLogits(logits: Tensor, options: { promptLength: number; responseLength: number }): Tensor {
  const { promptLength: P, responseLength: R } = options;
  const s = logits.shape;
  if (s.length !== 3 || s[1]! < P + R - 1 || P < 1) {
    throw new ShapeMismatchError("logits", s, `(B, >= P+R-1, V) with P=${P}, R=${R}`);
  }
  return logits.slice(1, P - 1, P + R - 1);
}

/**
 * Per-token logprobs of `response` (B, R) under full-sequence `logits` (B, P+R, V), next-token
 * aligned; differentiable. `temperature` divides the logits first, as the generator did.
 */
export function responseLogprobs(logits: Tensor, response: Tensor, options: { promptLength: number; temperature?: number }): Tensor {
  const R = response.shape[1]!;
  return torch.tidy(() => F.tokenLogprobs(responseLogits(logits, { promptLength: options.promptLength, responseLength: R }), response, { temperature: options.temperature ?? 1 }));
}
