#!/usr/bin/env python3
"""Fixtures for the GGUF tests, written with llama.cpp's own Python package (`gguf`: GGUFWriter,
gguf.quants.quantize/dequantize) and transformers. Writes tests/fixtures/gguf/:

- dequant.gguf: for each of F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q4_K, Q5_K, Q6_K a tensor `q.<TYPE>`
  (2 x 512) and `ref.<TYPE>` (F32): the reference dequantisation by gguf.quants.dequantize. Types
  gguf-py can quantise are quantised from random floats; the K-quants (which gguf-py only
  dequantises) are random block bytes with sane f16 scales, so every bit pattern is exercised.
- <family>.gguf for llama (q/k rows permuted as convert_hf_to_gguf.py does), qwen2 (q/k/v biases)
  and qwen3 (q/k norms): a tiny random transformers model, each weight stored in a different ggml
  type, with a tiny byte-level BPE vocabulary and chat template in the metadata;
  <family>-hf/: the same model as a Hugging Face directory whose weights are the dequantised GGUF
  weights (so both must give the same logits); golden.json: input ids, transformers' logits of
  the -hf model, transformers' logits of the .gguf loaded with `gguf_file=` (checks this script's
  layout against transformers' reader), and transformers' tokenizer ids for a few strings.

Run: python3 -m pip install gguf transformers torch safetensors && python3 scripts/golden/gguf-fixtures.py
(generated with gguf 0.19.0, transformers 5.25.0, torch 2.15.0).
"""
import json
import os
import shutil

import numpy as np
import torch
import gguf
from gguf import GGMLQuantizationType as T
from gguf.quants import dequantize, quantize
from transformers import (AutoModelForCausalLM, AutoTokenizer, LlamaConfig, LlamaForCausalLM, Qwen2Config,
                          Qwen2ForCausalLM, Qwen3Config, Qwen3ForCausalLM)

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "fixtures", "gguf")
rng = np.random.default_rng(1234)

K_BLOCK = {T.Q4_K: 144, T.Q5_K: 176, T.Q6_K: 210}
# Byte offsets of the f16 scale fields in each K-quant block (d, dmin / d only for Q6_K).
K_SCALES = {T.Q4_K: [0, 2], T.Q5_K: [0, 2], T.Q6_K: [208]}


def quantized(values: np.ndarray, qtype) -> np.ndarray:
    """Raw GGUF bytes (or F32/F16 array) for `values` (rows x cols) in `qtype`."""
    if qtype in K_BLOCK:
        rows, cols = values.shape
        blocks = rng.integers(0, 256, size=(rows, cols // 256, K_BLOCK[qtype]), dtype=np.uint8)
        for off in K_SCALES[qtype]:
            scale = rng.uniform(0.001, 0.05, size=(rows, cols // 256)).astype(np.float16)
            blocks[:, :, off:off + 2] = scale.view(np.uint8).reshape(rows, cols // 256, 2)
        return blocks.reshape(rows, -1)
    return quantize(values.astype(np.float32), qtype)


def add(writer, name, raw, qtype):
    if qtype in (T.F32, T.F16):
        writer.add_tensor(name, raw)
    else:
        writer.add_tensor(name, raw, raw_dtype=qtype)


def dequant_fixture():
    w = gguf.GGUFWriter(os.path.join(OUT, "dequant.gguf"), "llama")
    for qtype in [T.F32, T.F16, T.BF16, T.Q8_0, T.Q4_0, T.Q4_1, T.Q4_K, T.Q5_K, T.Q6_K]:
        values = rng.normal(0, 1, size=(2, 512)).astype(np.float32)
        raw = quantized(values, qtype)
        ref = dequantize(raw, qtype).astype(np.float32)
        assert ref.shape == (2, 512), (qtype, ref.shape)
        add(w, f"q.{qtype.name}", raw, qtype)
        w.add_tensor(f"ref.{qtype.name}", ref)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


# A tiny byte-level BPE vocabulary: the 256 byte symbols, a few merges, special tokens.
def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return [chr(c) for _, c in sorted(zip(bs, cs))]


MERGES = [("Ġ", "t"), ("h", "e"), ("Ġt", "he"), ("i", "n"), ("Ġ", "a"), ("e", "r"), ("o", "n"), ("Ġ", "w"), ("o", "r"), ("Ġw", "or"), ("l", "l")]
SPECIALS = [("<|endoftext|>", 3), ("<|im_start|>", 3), ("<|im_end|>", 3), ("<think>", 4)]
TOKENS = bytes_to_unicode() + ["".join(m) for m in MERGES] + [s for s, _ in SPECIALS]
TYPES = [1] * (256 + len(MERGES)) + [t for _, t in SPECIALS]
EOS = TOKENS.index("<|im_end|>")
BOS = TOKENS.index("<|endoftext|>")
CHAT = ("{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
        "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
TEXTS = ["the weather in the world", "Hello, world! 123 4567", "<|im_start|>user\nhi there<|im_end|>\n", "  spaces\n\nand\ttabs <think> ok", "naïve café ünïcode 你好"]

COMMON = dict(vocab_size=len(TOKENS), hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
              num_key_value_heads=2, max_position_embeddings=64, rms_norm_eps=1e-5, bos_token_id=BOS, eos_token_id=EOS)
FAMILIES = {
    "llama": (LlamaForCausalLM, LlamaConfig(**COMMON, head_dim=16, tie_word_embeddings=False, rope_theta=10000.0), "llama-bpe", True),
    "qwen2": (Qwen2ForCausalLM, Qwen2Config(**COMMON, tie_word_embeddings=True, rope_theta=1000000.0), "qwen2", False),
    "qwen3": (Qwen3ForCausalLM, Qwen3Config(**COMMON, head_dim=32, tie_word_embeddings=True, rope_theta=1000000.0), "qwen2", False),
}
GGUF_NAMES = {"input_layernorm": "attn_norm", "post_attention_layernorm": "ffn_norm", "self_attn.q_proj": "attn_q",
              "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v", "self_attn.o_proj": "attn_output",
              "self_attn.q_norm": "attn_q_norm", "self_attn.k_norm": "attn_k_norm", "mlp.gate_proj": "ffn_gate",
              "mlp.up_proj": "ffn_up", "mlp.down_proj": "ffn_down"}
# Matrix types cycle through these so each family stores weights in several formats.
MATRIX_TYPES = [T.Q8_0, T.Q4_0, T.Q4_1, T.F16, T.BF16, T.F32]


def gguf_name(key):
    if key == "model.embed_tokens.weight":
        return "token_embd.weight"
    if key == "model.norm.weight":
        return "output_norm.weight"
    if key == "lm_head.weight":
        return "output.weight"
    parts = key.split(".")
    layer, rest, kind = parts[2], ".".join(parts[3:-1]), parts[-1]
    return f"blk.{layer}.{GGUF_NAMES[rest]}.{kind}"


def permute(w, n_head, n_head_kv=None):
    # convert_hf_to_gguf.py LlamaModel.permute: HF rotate-half rows -> llama.cpp interleaved pairs.
    if n_head_kv is not None and n_head != n_head_kv:
        n_head = n_head_kv
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def unpermute(w, n_head, n_head_kv=None):
    if n_head_kv is not None and n_head != n_head_kv:
        n_head = n_head_kv
    return w.reshape(n_head, w.shape[0] // n_head // 2, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def model_fixture(family, golden):
    cls, cfg, pre, add_bos = FAMILIES[family]
    torch.manual_seed(7)
    model = cls(cfg).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    arch = family
    w = gguf.GGUFWriter(os.path.join(OUT, f"{family}.gguf"), arch)
    w.add_context_length(cfg.max_position_embeddings)
    w.add_embedding_length(cfg.hidden_size)
    w.add_block_count(cfg.num_hidden_layers)
    w.add_feed_forward_length(cfg.intermediate_size)
    w.add_head_count(cfg.num_attention_heads)
    w.add_head_count_kv(cfg.num_key_value_heads)
    w.add_rope_freq_base(cfg.rope_theta if hasattr(cfg, "rope_theta") else cfg.rope_parameters["rope_theta"])
    w.add_layer_norm_rms_eps(cfg.rms_norm_eps)
    head_dim = getattr(cfg, "head_dim", None) or cfg.hidden_size // cfg.num_attention_heads
    w.add_key_length(head_dim)
    w.add_value_length(head_dim)
    w.add_rope_dimension_count(head_dim)
    w.add_vocab_size(cfg.vocab_size)
    w.add_file_type(gguf.LlamaFileType.MOSTLY_Q8_0)
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre(pre)
    w.add_token_list(TOKENS)
    w.add_token_types(TYPES)
    w.add_token_merges([" ".join(m) for m in MERGES])
    w.add_bos_token_id(BOS)
    w.add_eos_token_id(EOS)
    w.add_pad_token_id(BOS)
    w.add_add_bos_token(add_bos)
    w.add_chat_template(CHAT)

    state = model.state_dict()
    deq_state = {}
    types = {}
    i = 0
    for key, t in state.items():
        if key == "lm_head.weight" and cfg.tie_word_embeddings:
            continue
        arr = t.detach().float().numpy()
        name = gguf_name(key)
        if family == "llama" and name.endswith("attn_q.weight"):
            arr = permute(arr, cfg.num_attention_heads, cfg.num_attention_heads)
        if family == "llama" and name.endswith("attn_k.weight"):
            arr = permute(arr, cfg.num_attention_heads, cfg.num_key_value_heads)
        if arr.ndim == 1:
            qtype = T.F32
        else:
            qtype = MATRIX_TYPES[i % len(MATRIX_TYPES)]
            i += 1
        raw = quantized(arr, qtype)
        add(w, name, raw, qtype)
        types[name] = qtype.name
        deq = dequantize(raw, qtype).astype(np.float32).reshape(arr.shape)
        if family == "llama" and name.endswith("attn_q.weight"):
            deq = unpermute(deq, cfg.num_attention_heads, cfg.num_attention_heads)
        if family == "llama" and name.endswith("attn_k.weight"):
            deq = unpermute(deq, cfg.num_attention_heads, cfg.num_key_value_heads)
        deq_state[key] = torch.from_numpy(np.ascontiguousarray(deq))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()

    # The HF twin: the same model with the dequantised weights.
    with torch.no_grad():
        for key, p in model.state_dict().items():
            if key in deq_state:
                p.copy_(deq_state[key])
    hf_dir = os.path.join(OUT, f"{family}-hf")
    shutil.rmtree(hf_dir, ignore_errors=True)
    model.save_pretrained(hf_dir, safe_serialization=True)
    for extra in ("generation_config.json",):
        if os.path.exists(os.path.join(hf_dir, extra)):
            os.remove(os.path.join(hf_dir, extra))

    ids = [[BOS, 5, 77, 200, 260, 3, 99, 14, 265, 31, 42, 7]]
    with torch.no_grad():
        logits = model(torch.tensor(ids)).logits[0].float()
        if family == "qwen3":
            # transformers' GGUF config reader ignores qwen3.attention.key_length (head_dim 32 here,
            # not hidden/heads), so it cannot load this file; llama and qwen2 check the layout.
            print("qwen3: transformers(gguf_file) cross-check skipped (its reader ignores attention.key_length)")
        else:
            from_gguf = AutoModelForCausalLM.from_pretrained(OUT, gguf_file=f"{family}.gguf", dtype=torch.float32).eval()
            gguf_logits = from_gguf(torch.tensor(ids)).logits[0].float()
            diff = (logits - gguf_logits).abs().max().item()
            print(f"{family}: transformers(-hf) vs transformers(gguf_file) max |diff| {diff:.2e}; types {sorted(set(types.values()))}")
            assert diff < 1e-4, "this script's GGUF layout disagrees with transformers' GGUF reader"

    tok = AutoTokenizer.from_pretrained(OUT, gguf_file=f"{family}.gguf")
    golden[family] = {
        "input_ids": ids,
        "logits": [[round(float(x), 6) for x in row] for row in logits.tolist()],
        "tensor_types": types,
        "tokenizer": {text: tok(text)["input_ids"] for text in TEXTS},
        "decoded": {text: tok.decode(tok(text)["input_ids"]) for text in TEXTS},
        "chat": tok.apply_chat_template([{"role": "user", "content": "hi"}], tokenize=False, add_generation_prompt=True),
    }


def main():
    os.makedirs(OUT, exist_ok=True)
    dequant_fixture()
    golden = {"generated_with": {"gguf": gguf.__version__ if hasattr(gguf, "__version__") else "0.19.0",
                                 "transformers": __import__("transformers").__version__, "torch": torch.__version__},
              "texts": TEXTS}
    for family in FAMILIES:
        model_fixture(family, golden)
    with open(os.path.join(OUT, "golden.json"), "w") as f:
        json.dump(golden, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
