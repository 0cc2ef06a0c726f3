"""Python peer of bench/memory-peak.ts: the same model shape, batch and cases with Hugging Face
transformers (LlamaForCausalLM, random weights, sdpa attention). Run by memory-peak.ts --python,
or alone: python3 bench/memory_peak_torch.py --case score --shape '{...}' --batch 16 --seq 256"""
import argparse, json, re, time, warnings
warnings.filterwarnings("ignore")
import torch
from transformers import LlamaConfig, LlamaForCausalLM

p = argparse.ArgumentParser()
p.add_argument("--case", required=True)
p.add_argument("--shape", required=True)
p.add_argument("--model", default="smollm2")
p.add_argument("--batch", type=int, default=16)
p.add_argument("--seq", type=int, default=256)
p.add_argument("--dtype", default="float32")
p.add_argument("--threads", type=int, default=2)
a = p.parse_args()
torch.set_num_threads(a.threads)

def status():
    s = open("/proc/self/status").read()
    kb = lambda k: int(re.search(rf"{k}:\s+(\d+) kB", s).group(1)) * 1024
    return kb("VmHWM"), kb("VmRSS")

shape = json.loads(a.shape)
config = LlamaConfig(**shape, max_position_embeddings=max(2048, a.seq), rms_norm_eps=1e-5, attn_implementation="sdpa")
torch.manual_seed(0)
dtype = {"float32": torch.float32, "bfloat16": torch.bfloat16}[a.dtype]
model = LlamaForCausalLM(config).to(dtype)
torch.manual_seed(1)
ids = torch.randint(0, config.vocab_size, (a.batch, a.seq))
_, base = status()
open("/proc/self/clear_refs", "w").write("5")
t0 = time.perf_counter()

def token_logprobs(logits, targets):
    # TRL's scoring: float32 log-softmax over the vocabulary, gathered at the next tokens.
    return torch.log_softmax(logits.float(), -1).gather(-1, targets.unsqueeze(-1)).squeeze(-1)

if a.case == "score":
    with torch.no_grad():
        logits = model(ids).logits[:, :-1]
        token_logprobs(logits, ids[:, 1:]).sum().item()
elif a.case == "forward":
    with torch.no_grad():
        model(ids).logits.sum().item()
elif a.case in ("train", "train-ckpt"):
    if a.case == "train-ckpt":
        model.gradient_checkpointing_enable()
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-5, weight_decay=0.01)
    logits = model(ids).logits[:, :-1]
    loss = -token_logprobs(logits, ids[:, 1:]).mean()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    opt.zero_grad(set_to_none=True)
else:
    raise SystemExit(f"unknown case {a.case}")
seconds = time.perf_counter() - t0
hwm, _ = status()
print(json.dumps({"side": "py", "case": a.case, "model": a.model, "dtype": a.dtype, "batch": a.batch, "seq": a.seq, "baseMiB": base / 2**20,
                  "peakMiB": hwm / 2**20, "deltaMiB": (hwm - base) / 2**20, "seconds": seconds,
                  "params": sum(p.numel() for p in model.parameters())}), flush=True)
