#!/usr/bin/env python3
"""Golden values for the SmolLM2-135M-Instruct GGUF test (tests/models/gguf-smollm2.test.ts), from
transformers loading the same Q4_1 file with `gguf_file=` (it dequantises to float32 as we do).

Writes tests/fixtures/gguf/smollm2-golden.json:
- tokenizer ids of a few strings from transformers' GGUF tokenizer (`transformers_ids`), and with
  llama.cpp's pre-tokenizer rule for `tokenizer.ggml.pre = "smollm"` (each digit split off before
  GPT-2's split; SmolLM2's own tokenizer.json does the same with a Digits pre-tokenizer):
  `llamacpp_ids`. transformers' GGUF reader has no entry for "smollm" and falls back to GPT-2's
  split, so the two differ only on runs of digits;
- for 3 chat prompts: the prompt ids (transformers' chat template + tokenizer), the greedy
  continuation (24 new tokens), and the top-10 logits of the first generated position.

Run: bash scripts/fetch-smollm2.sh && python3 -m pip install gguf transformers torch accelerate \
     && python3 scripts/golden/gguf-smollm2.py   (generated with transformers 5.25.0, torch 2.15.0)
"""
import json
import os

import torch
import transformers
from tokenizers import pre_tokenizers
from transformers import AutoModelForCausalLM, AutoTokenizer

NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
DIR = os.path.join(os.environ.get("TORCHFORGE_CACHE", os.path.expanduser("~/.cache/torchforge")), "smollm2")
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "fixtures", "gguf", "smollm2-golden.json")

TEXTS = [
    "Hello, world! How are you today?",
    "The year 2024 had 366 days; 3.14159 is pi.",
    "<|im_start|>user\nWhat's the capital of France?<|im_end|>\n",
    "  leading spaces\n\nnew lines\tand tabs",
    "naïve café, Straße, 東京, emoji 🙂",
    "def add(a, b):\n    return a + b\n",
]
PROMPTS = [
    "What is the capital of France?",
    "Write one sentence about the ocean.",
    "List three colors.",
]


def main():
    tok = AutoTokenizer.from_pretrained(DIR, gguf_file=NAME)
    transformers_ids = {t: tok(t)["input_ids"] for t in TEXTS}
    prompt_ids = [tok.apply_chat_template([{"role": "user", "content": p}], tokenize=True, add_generation_prompt=True, return_dict=False)
                  for p in PROMPTS]
    prompt_text = [tok.apply_chat_template([{"role": "user", "content": p}], tokenize=False, add_generation_prompt=True) for p in PROMPTS]

    model = AutoModelForCausalLM.from_pretrained(DIR, gguf_file=NAME, dtype=torch.float32).eval()
    generations = []
    with torch.no_grad():
        for ids in prompt_ids:
            x = torch.tensor([ids])
            logits = model(x).logits[0, -1]
            top = torch.topk(logits, 10)
            # No stopping (24 tokens for every prompt), and an explicit attention mask: the prompt
            # contains <|im_end|>, which is also the pad id, and would otherwise be masked out.
            out = model.generate(x, attention_mask=torch.ones_like(x), max_new_tokens=24, do_sample=False, eos_token_id=None,
                                 pad_token_id=tok.eos_token_id)
            generations.append({"prompt_ids": ids, "greedy": out[0, len(ids):].tolist(),
                                "top10_ids": top.indices.tolist(), "top10_logits": [round(v, 5) for v in top.values.tolist()]})

    # llama.cpp's rule for "smollm": digits split off first, then GPT-2's regex.
    tok.backend_tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Digits(individual_digits=True), pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True)])
    llamacpp_ids = {t: tok(t)["input_ids"] for t in TEXTS}

    golden = {"generated_with": {"transformers": transformers.__version__, "torch": torch.__version__}, "file": NAME,
              "texts": TEXTS, "transformers_ids": transformers_ids, "llamacpp_ids": llamacpp_ids,
              "prompts": PROMPTS, "prompt_text": prompt_text, "generations": generations}
    with open(OUT, "w") as f:
        json.dump(golden, f, indent=1, ensure_ascii=False)
        f.write("\n")
    for p, g in zip(PROMPTS, generations):
        print(p, "->", repr(tok.decode(g["greedy"])))


if __name__ == "__main__":
    main()
