/**
 * GGUF tensor names ↔ Hugging Face state-dict keys, and the one weight transform between them
 * (the role torchtitan's state_dict_adapter plays for its checkpoints).
 *
 * llama.cpp's converter (convert_hf_to_gguf.py, `LlamaModel.permute`) reorders the rows of each
 * head of q_proj / k_proj for the `llama` architecture: HF's RoPE rotates the two halves of a head
 * (rotate_half), llama.cpp's "normal" RoPE rotates adjacent pairs, so the converter interleaves
 * the halves. Loading undoes it (`unpermuteRope`); Qwen2/Qwen3 use llama.cpp's NeoX RoPE (halves,
 * like HF) and are stored unpermuted.
 */
import type { Tensor } from "../torch/index.ts";
import type { ModelFamily } from "./config.ts";

const LAYER_KEYS: Record<string, string> = {
  attn_norm: "input_layernorm",
  ffn_norm: "post_attention_layernorm",
  attn_q: "self_attn.q_proj",
  attn_k: "self_attn.k_proj",
  attn_v: "self_attn.v_proj",
  attn_output: "self_attn.o_proj",
  attn_q_norm: "self_attn.q_norm",
  attn_k_norm: "self_attn.k_norm",
  ffn_gate: "mlp.gate_proj",
  ffn_up: "mlp.up_proj",
  ffn_down: "mlp.down_proj",
};
const TOP_KEYS: Record<string, string> = {
  "token_embd.weight": "model.embed_tokens.weight",
  "output_norm.weight": "model.norm.weight",
  "output.weight": "lm_head.weight",
};
/**
 * GGUF tensors that carry no HF weight: `rope_freqs` holds Llama 3.1's RoPE frequency factors,
 * which the model recomputes from its config (checked against the file by the loader).
 */
export const GGUF_DERIVED_TENSORS = new Set(["rope_freqs.weight"]);

/** The HF key for a GGUF tensor name, or undefined when the name is not part of the decoder. */
export function hfKeyFor(ggufName: string): string | undefined {
  if (ggufName in TOP_KEYS) return TOP_KEYS[ggufName];
  const m = /^blk\.(\d+)\.(\w+)\.(weight|bias)$/.exec(ggufName);
  if (!m || !(m[2] in LAYER_KEYS)) return undefined;
  return `model.layers.${m[1]}.${LAYER_KEYS[m[2]]}.${m[3]}`;
}

/** The GGUF name for an HF key (the inverse of `hfKeyFor`), or undefined. */
export function ggufNameFor(hfKey: string): string | undefined {
  for (const [g, h] of Object.entries(TOP_KEYS)) if (h === hfKey) return g;
  const m = /^model\.layers\.(\d+)\.(.+)\.(weight|bias)$/.exec(hfKey);
  if (!m) return undefined;
  const short = Object.entries(LAYER_KEYS).find(([, h]) => h === m[2])?.[0];
  return short === undefined ? undefined : `blk.${m[1]}.${short}.${m[3]}`;
}

/** Whether llama.cpp stores this tensor with rows permuted for its RoPE layout. */
export function isRopePermuted(family: ModelFamily, ggufName: string): boolean {
  return (family === "llama" || family === "mistral") && /^blk\.\d+\.attn_[qk]\.(weight|bias)$/.test(ggufName);
}

/**
 * Undoes llama.cpp's q/k row permutation: rows are stored per head as [d0, d(h/2), d1, d(h/2+1), ...]
 * (pairs interleaved); HF wants [d0, d1, ..., d(h/2-1), d(h/2), ...] (halves). `heads` is the
 * number of heads in this projection (num_heads for q, num_kv_heads for k). Works for weights
 * [heads*headDim, in] and biases [heads*headDim].
 */
export function unpermuteRope(t: Tensor, heads: number): Tensor {
  const rows = t.shape[0];
  const rest = t.shape.slice(1);
  const half = rows / heads / 2;
  if (!Number.isInteger(half)) throw new RangeError(`unpermuteRope: ${rows} rows do not split into ${heads} heads of even size`);
  // Stored as [heads, half, 2, ...]: swapping the last two gives [heads, 2, half, ...] = halves.
  return t.reshape([heads, half, 2, ...rest]).transpose(1, 2).reshape([rows, ...rest]);
}

/** The permutation llama.cpp applies when writing (the inverse of `unpermuteRope`), for exporters and tests. */
export function permuteRope(t: Tensor, heads: number): Tensor {
  const rows = t.shape[0];
  const rest = t.shape.slice(1);
  const half = rows / heads / 2;
  if (!Number.isInteger(half)) throw new RangeError(`permuteRope: ${rows} rows do not split into ${heads} heads of even size`);
  return t.reshape([heads, 2, half, ...rest]).transpose(1, 2).reshape([rows, ...rest]);
}
