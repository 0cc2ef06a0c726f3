#!/usr/bin/env python3
"""PyTorch-eager twin of bench/gpu-bench.ts, on the same device: the same Llama-shaped model
(random weights), greedy decode of 32-token prompt x n=B rows for 64 new tokens with a
preallocated KV cache (tokens read back to the host every step, as an engine must), and a
forward + backward + clip + AdamW train step over a (8, 256) batch. Prints one JSON line.

Run: python3 bench/gpu_bench_torch.py [--device cuda:0] [--model small|100m|tiny] [--batch 16]
"""
import argparse
import json
import math
import time

import torch
import torch.nn.functional as F

SHAPES = {
    "tiny": dict(vocab=512, hidden=64, inter=128, layers=2, heads=4, kv_heads=2, head_dim=16),  # a smoke test
    "small": dict(vocab=8192, hidden=512, inter=1408, layers=8, heads=8, kv_heads=4, head_dim=64),
    "100m": dict(vocab=32000, hidden=768, inter=2048, layers=12, heads=12, kv_heads=4, head_dim=64),
}
p = argparse.ArgumentParser()
p.add_argument("--device", default="cuda:0")
p.add_argument("--model", default="small", choices=SHAPES)
p.add_argument("--batch", type=int, default=16)
a = p.parse_args()
s = SHAPES[a.model]
dev = torch.device(a.device)
torch.manual_seed(0)
V, C, I, L, H, HKV, D = s["vocab"], s["hidden"], s["inter"], s["layers"], s["heads"], s["kv_heads"], s["head_dim"]


def param(*shape):
    return torch.nn.Parameter(torch.randn(*shape, device=dev) * 0.02)


W = {"embed": param(V, C), "norm": torch.nn.Parameter(torch.ones(C, device=dev)), "head": param(V, C)}
for i in range(L):
    W.update({f"{i}.q": param(H * D, C), f"{i}.k": param(HKV * D, C), f"{i}.v": param(HKV * D, C), f"{i}.o": param(C, H * D),
              f"{i}.gate": param(I, C), f"{i}.up": param(I, C), f"{i}.down": param(C, I),
              f"{i}.n1": torch.nn.Parameter(torch.ones(C, device=dev)), f"{i}.n2": torch.nn.Parameter(torch.ones(C, device=dev))})
inv = 1.0 / (10000.0 ** (torch.arange(0, D, 2, device=dev, dtype=torch.float32) / D))
ang = torch.outer(torch.arange(1024, device=dev, dtype=torch.float32), inv)
COS, SIN = torch.cat([ang.cos(), ang.cos()], -1), torch.cat([ang.sin(), ang.sin()], -1)


def rms(x, w, eps=1e-6):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def rope(x, pos):
    c, s_ = COS[pos].unsqueeze(1), SIN[pos].unsqueeze(1)  # (B, 1, T, D)
    x1, x2 = x[..., : D // 2], x[..., D // 2:]
    return x * c + torch.cat([-x2, x1], -1) * s_


def forward(ids, pos, cache=None, start=0):
    B, T = ids.shape
    x = F.embedding(ids, W["embed"])
    for i in range(L):
        h = rms(x, W[f"{i}.n1"])
        q = F.linear(h, W[f"{i}.q"]).view(B, T, H, D).transpose(1, 2)
        k = F.linear(h, W[f"{i}.k"]).view(B, T, HKV, D).transpose(1, 2)
        v = F.linear(h, W[f"{i}.v"]).view(B, T, HKV, D).transpose(1, 2)
        q, k = rope(q, pos), rope(k, pos)
        if cache is not None:
            cache[i][0][:, :, start:start + T] = k
            cache[i][1][:, :, start:start + T] = v
            k, v = cache[i][0][:, :, : start + T], cache[i][1][:, :, : start + T]
        k = k.repeat_interleave(H // HKV, 1)
        v = v.repeat_interleave(H // HKV, 1)
        if T > 1:
            attn = F.scaled_dot_product_attention(q, k, v, is_causal=cache is None or start == 0)
        else:
            attn = F.scaled_dot_product_attention(q, k, v)
        x = x + F.linear(attn.transpose(1, 2).reshape(B, T, H * D), W[f"{i}.o"])
        h = rms(x, W[f"{i}.n2"])
        x = x + F.linear(F.silu(F.linear(h, W[f"{i}.gate"])) * F.linear(h, W[f"{i}.up"]), W[f"{i}.down"])
    return F.linear(rms(x, W["norm"]), W["head"])


PROMPT = torch.tensor([[(j * 17 + 3) % V for j in range(32)]], device=dev)


@torch.no_grad()
def generate(B, new):
    cache = [(torch.zeros(B, HKV, 128, D, device=dev), torch.zeros(B, HKV, 128, D, device=dev)) for _ in range(L)]
    ids = PROMPT.expand(B, -1)
    logits = forward(ids, torch.arange(32, device=dev).expand(B, -1), cache, 0)[:, -1]
    tok = logits.argmax(-1)
    out = [tok.tolist()]
    for t in range(new - 1):
        pos = torch.full((B, 1), 32 + t, device=dev)
        tok = forward(tok.view(B, 1), pos, cache, 32 + t)[:, -1].argmax(-1)
        out.append(tok.tolist())  # the host needs every token (stop rules), as an engine does
    return out


def timed(fn):
    t0 = time.perf_counter()
    fn()
    if dev.type == "cuda":
        torch.cuda.synchronize()
    return (time.perf_counter() - t0) * 1000


generate(a.batch, 4)
first, whole = [], []
for _ in range(3):
    first.append(timed(lambda: generate(a.batch, 1)))
    whole.append(timed(lambda: generate(a.batch, 65)))
med = lambda xs: sorted(xs)[len(xs) // 2]
decode_ms = med(whole) - med(first)

TB, TT = 8, 256
opt = torch.optim.AdamW(list(W.values()), lr=1e-4)
tokens = torch.randint(0, V, (TB, TT + 1), device=dev, generator=torch.Generator(device=dev).manual_seed(1))
ids, targets = tokens[:, :TT], tokens[:, 1:]
pos = torch.arange(TT, device=dev).expand(TB, -1)


def step():
    opt.zero_grad(set_to_none=True)
    loss = F.cross_entropy(forward(ids, pos).reshape(-1, V), targets.reshape(-1))
    loss.item()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(list(W.values()), 1.0).item()
    opt.step()


steps = [timed(step) for _ in range(7)][2:]
step_ms = med(steps)
print(json.dumps({"impl": f"pytorch {torch.__version__} eager", "device": a.device, "model": a.model, "batch": a.batch,
                  "decodeTokPerS": round(a.batch * 64 * 1000 / decode_ms), "trainStepMs": round(step_ms, 1),
                  "trainTokPerS": round(TB * TT * 1000 / step_ms)}))
