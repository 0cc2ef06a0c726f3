#!/usr/bin/env python3
"""The GRPO-like generation workload in PyTorch's Python API, as a baseline for bench/generation.ts.

Same model shape (Llama-style decoder, random weights), same workload (bench/generation.ts passes
it: 16 prompts x n=8, up to 128 new tokens), temperature 1, the same stop ids. Eager PyTorch with a
preallocated KV cache: each prompt is prefilled once, its cache is repeated for its n samples,
then all rows decode together until every row has stopped (no continuous batching: finished rows
keep computing).

Run: /usr/bin/python3 bench/generation_torch.py --vocab 8192 --hidden 512 ... (bench/generation.ts --python passes the shape)
"""
import argparse
import math
import time

import torch
import torch.nn.functional as F

p = argparse.ArgumentParser()
for name, default in [("vocab", 8192), ("hidden", 512), ("inter", 1408), ("layers", 8), ("heads", 8), ("kv-heads", 4),
                      ("head-dim", 64), ("qk-norm", 0), ("threads", 2), ("prompt-len", 32), ("max-new", 64), ("prompts", 8), ("n", 8)]:
    p.add_argument(f"--{name}", type=int, default=default)
p.add_argument("--stop-ids", type=str, default="5")
a = p.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(0)
H, HKV, D, C = a.heads, a.kv_heads, a.head_dim, a.hidden


def rms(x, w, eps=1e-6):
    xf = x.float()
    return (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + eps)).to(x.dtype) * w


def lin(o, i):
    return torch.randn(o, i) * 0.02


layers = [dict(ln1=torch.ones(C), q=lin(H * D, C), k=lin(HKV * D, C), v=lin(HKV * D, C), o=lin(C, H * D), ln2=torch.ones(C),
               g=lin(a.inter, C), u=lin(a.inter, C), d=lin(C, a.inter), qn=torch.ones(D), kn=torch.ones(D)) for _ in range(a.layers)]
emb, norm, head = torch.randn(a.vocab, C) * 0.02, torch.ones(C), lin(a.vocab, C)
inv = 1.0 / (10000 ** (torch.arange(0, D, 2).float() / D))
MAXLEN = a.prompt_len + a.max_new + 1
ang = torch.outer(torch.arange(MAXLEN).float(), inv)
COS, SIN = torch.cat([ang.cos(), ang.cos()], -1), torch.cat([ang.sin(), ang.sin()], -1)


def rot(x, cos, sin):
    x1, x2 = x[..., : D // 2], x[..., D // 2:]
    return x * cos + torch.cat([-x2, x1], -1) * sin


def forward(ids, pos, cache_k, cache_v):
    """ids (B, T) at positions pos..pos+T-1; writes k/v into the caches (B, HKV, MAXLEN, D)."""
    B, T = ids.shape
    x = F.embedding(ids, emb)
    cos, sin = COS[pos:pos + T], SIN[pos:pos + T]
    mask = torch.ones(T, pos + T, dtype=torch.bool).tril(pos)
    for li, L in enumerate(layers):
        h = rms(x, L["ln1"])
        q = F.linear(h, L["q"]).view(B, T, H, D)
        k = F.linear(h, L["k"]).view(B, T, HKV, D)
        v = F.linear(h, L["v"]).view(B, T, HKV, D).transpose(1, 2)
        if a.qk_norm:
            q, k = rms(q, L["qn"]), rms(k, L["kn"])
        q, k = rot(q.transpose(1, 2), cos, sin), rot(k.transpose(1, 2), cos, sin)
        cache_k[li][:, :, pos:pos + T] = k
        cache_v[li][:, :, pos:pos + T] = v
        kk = cache_k[li][:, :, :pos + T].repeat_interleave(H // HKV, 1)
        vv = cache_v[li][:, :, :pos + T].repeat_interleave(H // HKV, 1)
        att = (q @ kk.transpose(-2, -1)) / math.sqrt(D)
        att = att.masked_fill(~mask, float("-inf")).softmax(-1)
        x = x + F.linear((att @ vv).transpose(1, 2).reshape(B, T, H * D), L["o"])
        h = rms(x, L["ln2"])
        x = x + F.linear(F.silu(F.linear(h, L["g"])) * F.linear(h, L["u"]), L["d"])
    return F.linear(rms(x[:, -1], norm), head)


stop = torch.tensor([int(s) for s in a.stop_ids.split(",")])
prompts = [[(i * 131 + j * 17 + 3) % a.vocab for j in range(a.prompt_len)] for i in range(a.prompts)]


def run():
    B = a.prompts * a.n
    ck = [torch.zeros(B, HKV, MAXLEN, D) for _ in layers]
    cv = [torch.zeros(B, HKV, MAXLEN, D) for _ in layers]
    first = []
    for i, pr in enumerate(prompts):  # prefill each prompt once, then copy its cache to its n rows
        k1 = [torch.zeros(1, HKV, MAXLEN, D) for _ in layers]
        v1 = [torch.zeros(1, HKV, MAXLEN, D) for _ in layers]
        logits = forward(torch.tensor([pr]), 0, k1, v1)
        for li in range(len(layers)):
            ck[li][i * a.n:(i + 1) * a.n] = k1[li]
            cv[li][i * a.n:(i + 1) * a.n] = v1[li]
        first.append(logits.expand(a.n, -1))
    logits = torch.cat(first)
    done = torch.zeros(B, dtype=torch.bool)
    generated = 0
    for step in range(a.max_new):
        tok = torch.multinomial(logits.softmax(-1), 1)  # (B, 1)
        generated += int((~done).sum())
        done |= torch.isin(tok[:, 0], stop)
        if bool(done.all()) or step == a.max_new - 1:
            break
        logits = forward(tok, a.prompt_len + step, ck, cv)
    return generated


with torch.no_grad():
    run()  # warm-up
    t0 = time.perf_counter()
    tokens = run()
    ms = (time.perf_counter() - t0) * 1000
# Matmul FLOPs per token: 2 x the weights that multiply (layers' projections and the LM head; the
# embedding is a lookup, norms are elementwise), as bench/generation.ts counts them.
params = sum(t.numel() for L in layers for t in L.values() if t.dim() == 2) + head.numel()
print(f"python torch {torch.__version__} eager, static KV cache, threads {a.threads}: grpo {a.prompts}x{a.n}, {a.max_new} new: "
      f"{tokens} tokens in {ms:.0f} ms = {tokens / ms * 1000:.0f} tok/s ({tokens * 2 * params / ms / 1e6:.2f} GFLOP/s)")
