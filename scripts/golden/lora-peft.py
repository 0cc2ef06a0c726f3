#!/usr/bin/env python3
"""Golden values for the LoRA tests: a PEFT adapter on the tiny Llama fixture, and its logits.

Default mode: loads tests/fixtures/models/llama (scripts/golden/models.py), wraps it with PEFT
LoRA (r=4, alpha=8, rsLoRA off, targets q_proj/v_proj/o_proj/down_proj), sets every lora_A and
lora_B to seeded random values (PEFT initialises B to zero, which would hide a wrong product
order or scaling), saves the adapter with save_pretrained to tests/fixtures/lora/peft-adapter/,
and writes tests/fixtures/lora/golden.json with input ids, the adapted model's fp32 logits and
the merged model's logits (merge_and_unload).

Check mode (`--check <adapter-dir> <logits.json>`): loads an adapter that torchforge saved with
PEFT's own `PeftModel.from_pretrained` on the same base and compares its logits with the ones
torchforge computed ({"input_ids", "logits"}), printing the max |diff| (exit 1 above 1e-4).

Run: python3 scripts/golden/lora-peft.py (generated with peft 0.21.2 / transformers 5.25 / torch 2.15).
"""
import json
import os
import sys

import torch
from peft import LoraConfig, PeftModel, get_peft_model
from transformers import LlamaForCausalLM

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
BASE = os.path.join(ROOT, "tests", "fixtures", "models", "llama")
OUT = os.path.join(ROOT, "tests", "fixtures", "lora")
INPUT_IDS = [[0, 5, 17, 33, 2, 99, 64, 12, 7, 120], [0, 3, 3, 90, 41, 8, 77, 101, 1, 56]]


def base_model():
    return LlamaForCausalLM.from_pretrained(BASE, dtype=torch.float32).eval()


def logits_of(model, ids):
    with torch.no_grad():
        return model(input_ids=torch.tensor(ids)).logits


def make_golden():
    torch.manual_seed(1234)
    config = LoraConfig(r=4, lora_alpha=8, lora_dropout=0.0, target_modules=["q_proj", "v_proj", "o_proj", "down_proj"],
                        task_type="CAUSAL_LM", bias="none")
    model = get_peft_model(base_model(), config).eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_" in name:
                p.copy_(torch.randn_like(p) * 0.3)
    out_dir = os.path.join(OUT, "peft-adapter")
    model.save_pretrained(out_dir)
    # Repository-relative base path (save_pretrained writes the absolute one) and no model card.
    cfg_file = os.path.join(out_dir, "adapter_config.json")
    cfg = json.load(open(cfg_file))
    cfg["base_model_name_or_path"] = "tests/fixtures/models/llama"
    with open(cfg_file, "w") as f:
        json.dump(cfg, f, indent=2, sort_keys=True)
    if os.path.exists(os.path.join(out_dir, "README.md")):
        os.remove(os.path.join(out_dir, "README.md"))
    logits = logits_of(model, INPUT_IDS)
    merged = logits_of(model.merge_and_unload(), INPUT_IDS)
    golden = {"input_ids": INPUT_IDS, "logits": logits.tolist(), "merged_logits": merged.tolist()}
    with open(os.path.join(OUT, "golden.json"), "w") as f:
        json.dump(golden, f)
    print(f"wrote {out_dir} and golden.json; max |adapted - merged| = {(logits - merged).abs().max().item():.2e}")


def check(adapter_dir, logits_file):
    ours = json.load(open(logits_file))
    model = PeftModel.from_pretrained(base_model(), adapter_dir).eval()
    theirs = logits_of(model, ours["input_ids"])
    diff = (theirs - torch.tensor(ours["logits"])).abs().max().item()
    print(f"PEFT loaded {adapter_dir}: max |logits diff| vs torchforge = {diff:.3e}")
    sys.exit(0 if diff < 1e-4 else 1)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--check":
        check(sys.argv[2], sys.argv[3])
    else:
        make_golden()
