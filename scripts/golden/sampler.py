#!/usr/bin/env python3
"""Known answers for src/generation/sampler.ts and src/generation/rng.ts, computed independently
of the TypeScript code. Writes tests/fixtures/sampler/known-answers.json:

- rng: sfc32 (Chris Doty-Humphrey's PractRand small fast counter, 32-bit) seeded as rng.ts
  documents it (state words from the murmur3 finaliser of seed ^ pi-digit constants, counter 1,
  12 outputs discarded), its next 8 outputs as uint32; deriveSeed's value for part lists that
  include parts >= 2**32 and negative parts (the high-word half of the mix).
- sampling: for several (temperature, topK, topP, minP) settings, logits rows and, per row,
  uniforms placed in the middle of every kept token's inverse-CDF interval: the token PyTorch's
  float64 computation of the filtered distribution gives (top-k, then top-p "keep while the mass
  before a token < topP", then min-p "p >= minP * max p", tokens in descending probability with
  ties to the lower id when top-k/top-p are on, vocabulary order otherwise), the logprob
  log_softmax(logits / T)[token] (T = 1 when greedy), and the 3 most likely tokens and logprobs.
  Every uniform is >= 1e-3 (relative) away from an interval boundary and every top-p/min-p cut is
  >= 1e-3 away from its threshold, so float32 rounding cannot move an answer. One case stores
  bfloat16-rounded logits (the sampler's float32 conversion).

Run: python3 scripts/golden/sampler.py   (generated with torch 2.x; deterministic)
"""
import json
import math
import os

import torch

M32 = 0xFFFFFFFF


def mix32(h):
    h &= M32
    h = ((h ^ (h >> 16)) * 0x85EBCA6B) & M32
    h = ((h ^ (h >> 13)) * 0xC2B2AE35) & M32
    return (h ^ (h >> 16)) & M32


def derive_seed(parts):
    h = 0x9E3779B9
    for p in parts:
        h = mix32(h ^ (p & M32))
        h = mix32(h + (p >> 32))  # floor division by 2**32, also for negative parts
    return h


class Sfc32:
    def __init__(self, seed):
        self.a = mix32(seed ^ 0x243F6A88)
        self.b = mix32(seed ^ 0x85A308D3)
        self.c = mix32(seed ^ 0x13198A2E)
        self.d = 1
        for _ in range(12):
            self.next32()

    def next32(self):
        t = (self.a + self.b + self.d) & M32
        self.d = (self.d + 1) & M32
        self.a = self.b ^ (self.b >> 9)
        self.b = (self.c + (self.c << 3)) & M32
        self.c = ((self.c << 21) | (self.c >> 11)) & M32
        self.c = (self.c + t) & M32
        return t


def kept_order(p, top_k, top_p, min_p):
    """(token ids in draw order, their weights) of the truncated distribution p (float64)."""
    V = p.numel()
    pmax = p.max().item()
    sorted_mode = (0 < top_k < V) or top_p < 1
    if sorted_mode:
        order = sorted(range(V), key=lambda i: (-p[i].item(), i))
        if top_k > 0:
            order = order[:top_k]
        total = p.sum().item()
        kept, before = [], 0.0
        for i in order:
            if top_p < 1:
                assert abs(before - top_p * total) > 1e-3, "top-p cut too close to call"
                if before >= top_p * total:
                    break
            kept.append(i)
            before += p[i].item()
    else:
        kept = list(range(V))
    if min_p > 0:
        for i in kept:
            assert abs(p[i].item() - min_p * pmax) > 1e-3 * pmax, "min-p cut too close to call"
    weights = [p[i].item() if p[i].item() >= min_p * pmax else 0.0 for i in kept]
    return kept, weights


def case(name, logits, temperature, top_k=0, top_p=1.0, min_p=0.0):
    x = torch.tensor(logits, dtype=torch.float32).to(torch.float64)
    T = 1.0 if temperature == 0 else temperature
    logp = torch.log_softmax(x / T, dim=-1)
    rows = []
    for r in range(x.shape[0]):
        if temperature == 0:
            draws = [(0.5, int(torch.argmax(x[r]).item()))]
        else:
            kept, w = kept_order(torch.softmax(x[r] / T, dim=-1), top_k, top_p, min_p)
            total = sum(w)
            draws, acc = [], 0.0
            for i, wi in zip(kept, w):
                if wi > 0:
                    assert wi / total > 2e-3, "interval too narrow"
                    draws.append(((acc + wi / 2) / total, i))
                acc += wi
        top = torch.topk(logp[r], 3)
        rows.append({
            "draws": [{"u": u, "token": t, "logprob": logp[r, t].item()} for u, t in draws],
            "top": {"tokenIds": top.indices.tolist(), "logprobs": top.values.tolist()},
        })
    return {"name": name, "logits": x.tolist(), "params": {"temperature": temperature, "topK": top_k, "topP": top_p, "minP": min_p}, "rows": rows}


def main():
    g = torch.Generator().manual_seed(16)
    base = (torch.randn(3, 7, generator=g) * 1.5).to(torch.float32)
    # bfloat16-rounded logits differ from their float32 originals by up to 2**-8 relative.
    bf16 = (torch.randn(2, 6, generator=g) * 2 + 0.123).to(torch.bfloat16).to(torch.float32)
    cases = [
        case("temperature 1", base.tolist(), 1.0),
        case("temperature 0.7, top-k 3", base.tolist(), 0.7, top_k=3),
        case("temperature 1.3, top-p 0.8", base.tolist(), 1.3, top_p=0.8),
        case("min-p 0.15", base.tolist(), 1.0, min_p=0.15),
        case("temperature 0.5, top-k 5, top-p 0.9, min-p 0.05", base.tolist(), 0.5, top_k=5, top_p=0.9, min_p=0.05),
        case("top-k >= vocabulary, min-p 0.3", base.tolist(), 1.0, top_k=9, min_p=0.3),
        case("greedy", base.tolist(), 0.0),
        case("bfloat16 logits, temperature 0.9, top-p 0.95", bf16.tolist(), 0.9, top_p=0.95),
    ]
    cases[-1]["bfloat16"] = True
    seeds = [0, 1, 7, 123456789, 4294967295]
    rng = [{"seed": s, "next32": [r.next32() for r in [Sfc32(s)] for _ in range(8)]} for s in seeds]
    parts = [[], [0], [1, 2], [7, 49], [1733400000000, 3], [2**40 + 5, 2**33 + 1], [-1, 5], [-(2**35) - 7]]
    derive = [{"parts": p, "seed": derive_seed(p)} for p in parts]
    out = {"rng": rng, "deriveSeed": derive, "sampling": cases}
    path = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "fixtures", "sampler", "known-answers.json")
    with open(path + ".tmp", "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    os.replace(path + ".tmp", path)
    print(f"wrote {os.path.normpath(path)}: {len(cases)} sampling cases")


if __name__ == "__main__":
    main()
