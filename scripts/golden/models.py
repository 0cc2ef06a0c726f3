#!/usr/bin/env python3
"""Golden values for the model tests: tiny random Hugging Face models and their logits.

Builds LlamaForCausalLM (llama3 rope scaling, untied), Qwen2ForCausalLM (qkv bias, tied),
Qwen3ForCausalLM (q/k RMSNorm, tied) and MistralForCausalLM (untied) with fixed seeds, perturbs
every parameter (HF initialises biases to 0 and norms to 1, which would hide bugs), saves each
with save_pretrained to tests/fixtures/models/<arch>/ and writes golden.json with input ids and
the expected fp32 logits.

Run: python3 -m pip install transformers safetensors torch && python3 scripts/golden/models.py
(needs transformers >= 4.51 for Qwen3; generated with transformers 5.24 / torch 2.15).
"""
import json
import os
import sys

import torch
import transformers
from transformers import (LlamaConfig, LlamaForCausalLM, MistralConfig, MistralForCausalLM,
                          Qwen2Config, Qwen2ForCausalLM, Qwen3Config, Qwen3ForCausalLM)

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "fixtures", "models")
COMMON = dict(vocab_size=128, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
              num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128,
              rms_norm_eps=1e-5, bos_token_id=0, eos_token_id=1)


def rope(theta, scaling=None):
    # transformers 5 reads rope_parameters; 4.x reads rope_theta/rope_scaling.
    major = int(transformers.__version__.split(".")[0])
    if major >= 5:
        p = {"rope_type": "default", "rope_theta": theta}
        if scaling:
            p.update(scaling)
        return {"rope_parameters": p}
    return {"rope_theta": theta, "rope_scaling": scaling}


MODELS = {
    "llama": (LlamaForCausalLM, LlamaConfig(**COMMON, tie_word_embeddings=False, **rope(500000.0, {
        "rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
        "original_max_position_embeddings": 16}))),
    "qwen2": (Qwen2ForCausalLM, Qwen2Config(**COMMON, tie_word_embeddings=True, use_sliding_window=False, **rope(1000000.0))),
    "qwen3": (Qwen3ForCausalLM, Qwen3Config(**COMMON, head_dim=16, tie_word_embeddings=True, use_sliding_window=False, **rope(1000000.0))),
    "mistral": (MistralForCausalLM, MistralConfig(**COMMON, tie_word_embeddings=False, sliding_window=None, **rope(10000.0))),
}


def main():
    for i, (name, (cls, config)) in enumerate(MODELS.items()):
        torch.manual_seed(1234 + i)
        model = cls(config).eval()
        with torch.no_grad():
            for pname, p in model.named_parameters():
                if pname.endswith("norm.weight"):
                    p.copy_(1.0 + 0.1 * torch.randn_like(p))
                else:
                    p.copy_(0.08 * torch.randn_like(p))
        d = os.path.join(OUT, name)
        os.makedirs(d, exist_ok=True)
        model.save_pretrained(d, safe_serialization=True)
        for extra in ("generation_config.json",):
            if os.path.exists(os.path.join(d, extra)):
                os.remove(os.path.join(d, extra))
        g = torch.Generator().manual_seed(99 + i)
        input_ids = torch.randint(0, config.vocab_size, (2, 24), generator=g)
        with torch.no_grad():
            logits = model(input_ids=input_ids).logits.float()
            logprobs = torch.log_softmax(logits[:, :-1] / 0.7, -1).gather(-1, input_ids[:, 1:, None])[..., 0]
        golden = {
            "transformers": transformers.__version__, "torch": torch.__version__,
            "input_ids": input_ids.tolist(),
            "logits": [[[round(v, 6) for v in row] for row in b] for b in logits.tolist()],
            "logprobs_t07": [[round(v, 6) for v in b] for b in logprobs.tolist()],
        }
        with open(os.path.join(d, "golden.json"), "w") as f:
            json.dump(golden, f, separators=(",", ":"))
        print(name, "params", sum(p.numel() for p in model.parameters()), file=sys.stderr)


if __name__ == "__main__":
    main()
